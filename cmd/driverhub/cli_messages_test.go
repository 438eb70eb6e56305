package main_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A server that is down gets one sentence naming it and what to check,
// not Go's "dial tcp …", and every error line starts with "Error:".
func TestCLIServerDown(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	down := "http://" + freeAddr(t) // nothing listens there
	want := "Error: cannot reach the driverhub server at " + down +
		": connection refused — is `driverhub server` running? (--server / DRIVERHUB_SERVER)\n"
	for _, args := range [][]string{
		{"driver", "list"},
		{"driver", "list", "--server", down + "/api/v1/"},
		{"login", "--server", down, "--token", adminToken},
		{"deploy", "line3", "--wait"},
	} {
		r := c.with("DRIVERHUB_SERVER="+down).fails(1, args...)
		if r.stderr != want {
			t.Errorf("driverhub %s against a server that is down:\n got %q\nwant %q", strings.Join(args, " "), r.stderr, want)
		}
	}
	// Errors that do not come from the server have the same prefix.
	r := c.without("DRIVERHUB_SERVER").fails(1, "agent", "--dir", t.TempDir())
	if !strings.HasPrefix(r.stderr, "Error: ") || strings.Contains(r.stderr, "driverhub:") {
		t.Errorf("agent without a server: %q", r.stderr)
	}
	r = c.with("DRIVERHUB_SERVER=localhost:8080").fails(1, "driver", "list")
	mustContain(t, "a server URL without a scheme", r.stderr, `Error: server URL "localhost:8080": want http(s)://HOST[:PORT]`)
}

// A login is found for every way of writing its server, each server keeps
// its own token, and the API's base URL works where the server's is wanted.
func TestCLILoginNormalisedServer(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	bare := c.without("DRIVERHUB_SERVER", "DRIVERHUB_TOKEN")
	port := c.srv.url[strings.LastIndex(c.srv.url, ":")+1:]

	// Logged in at 127.0.0.1 through the API's URL; used as localhost.
	bare.ok("login", "--server", "http://127.0.0.1:"+port+"/api/v1/", "--token", adminToken)
	path := filepath.Join(c.config, "driverhub", "config.json")
	if b, _ := os.ReadFile(path); strings.Contains(string(b), "/api/v1") {
		t.Errorf("the saved server keeps /api/v1: %s", b)
	}
	for _, server := range []string{
		"http://localhost:" + port,
		"HTTP://LocalHost:" + port + "/",
		"http://localhost:" + port + "/api/v1",
		"http://127.0.0.1:" + port + "//",
	} {
		bare.ok("driver", "list", "--server", server)
		bare.with("DRIVERHUB_SERVER="+server).ok("driver", "list")
	}
	// The API's base URL in --server with a token: /api/v1 once, not twice.
	c.ok("driver", "list", "--server", c.srv.url+"/api/v1")

	// A second server gets its own login; the first one's stays.
	other := newCLI(t)
	viewer := cliViewerToken(t, other)
	bare.ok("login", "--server", other.srv.url, "--token", viewer)
	bare.ok("driver", "create", "first", "--protocol", "modbus", "--runtime", "python3", "--server", "http://localhost:"+port)
	r := bare.fails(1, "driver", "create", "second", "--protocol", "modbus", "--runtime", "python3")
	mustContain(t, "the default server is the latest login, with its viewer token", r.stderr, "permission_denied")
	bare.ok("logout")
	bare.fails(1, "driver", "list", "--server", other.srv.url)
	bare.ok("driver", "get", "first", "--server", "http://127.0.0.1:"+port)
	bare.ok("logout", "--all")
	r = bare.fails(1, "driver", "list", "--server", c.srv.url)
	mustContain(t, "after logout --all", r.stderr, "no token for "+c.srv.url)
}

// cliViewerToken makes an API token with the viewer role on c's server.
func cliViewerToken(t *testing.T, c *cliEnv) string {
	t.Helper()
	out := c.ok("token", "create", "viewer", "--role", "viewer", "-o", "json")
	tok := cliDecode(t, []byte(out)).(map[string]any)["token"].(string)
	if tok == "" {
		t.Fatal("token create -o json gave no token")
	}
	return tok
}

func TestCLIVersionFlagAndSuggestions(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	version := strings.TrimSpace(c.ok("version"))
	if out := c.ok("--version"); out != "driverhub version "+version+"\n" {
		t.Errorf("--version printed %q; version printed %q", out, version)
	}

	// Plurals name the same groups; typos and synonyms get a suggestion.
	c.ok("driver", "create", "meter", "--protocol", "modbus", "--runtime", "python3")
	if row := cliRow(c.ok("drivers", "list"), "meter"); row == nil {
		t.Error("drivers list lacks meter")
	}
	c.ok("instances", "list")
	for typed, want := range map[string]string{"drivr": "driver", "gateway": "instance", "deploymnt": "deployment", "tokn": "token"} {
		r := c.fails(2, typed)
		mustContain(t, "driverhub "+typed, r.stderr, `unknown command "`+typed+`"`, "Did you mean this?\n\t"+want+"\n")
	}
	r := c.fails(2, "instance", "bnd")
	mustContain(t, "instance bnd", r.stderr, "Did you mean this?\n\tbind\n")
}

func TestCLIInputErrorsAndCounts(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	c.ok("driver", "create", "meter", "--protocol", "modbus", "--runtime", "python3")

	// Malformed JSON names its line and column, in a flag or a file.
	r := c.fails(2, "version", "create", "meter", "1.0.0", "--min-edge-version", "1.0.0", "--config-json", "{bad")
	mustContain(t, "--config-json '{bad'", r.stderr, "Error: --config-json: malformed JSON: line 1, column 2: invalid character 'b'")
	file := filepath.Join(t.TempDir(), "version.json")
	os.WriteFile(file, []byte("{\n  \"version\": \"1.0.0\",\n  \"min_edge_version\": 1.0.0\n}\n"), 0o644)
	r = c.fails(1, "version", "create", "meter", "-f", file)
	mustContain(t, "a malformed -f file", r.stderr, "version.json: malformed JSON: line 3, column 26")
	r = c.fails(2, "device", "assign", "p", "d", "--instance", "i", "--driver", "meter", "--config", `{"a":}`)
	mustContain(t, "device assign --config", r.stderr, "--config: malformed JSON: line 1, column 6")

	// VERSION may come from -f alone; given twice, it must agree.
	yml := filepath.Join(t.TempDir(), "version.yaml")
	os.WriteFile(yml, []byte("version: 2.0.0\nmin_edge_version: 1.0.0\ndescription: from a file\n"), 0o644)
	c.ok("version", "create", "meter", "-f", yml)
	if v := c.api("/api/v1/drivers/meter/versions/2.0.0").(map[string]any); v["description"] != "from a file" {
		t.Errorf("version from -f: %v", v)
	}
	r = c.fails(2, "version", "create", "meter", "3.0.0", "-f", yml)
	mustContain(t, "VERSION against -f", r.stderr, "VERSION 3.0.0 differs from the version 2.0.0 in -f")
	r = c.fails(2, "version", "create", "meter", "--min-edge-version", "1.0.0")
	mustContain(t, "no VERSION anywhere", r.stderr, "give VERSION as an argument or as \"version\" in -f")

	// Counts agree with their nouns.
	r = c.fails(2, "driver", "get", "a", "b")
	mustContain(t, "driver get a b", r.stderr, "takes 1 argument: NAME; got 2")
	r = c.fails(2, "driver", "create", "x")
	mustContain(t, "two missing flags", r.stderr, "required flags not set: --protocol, --runtime")
	r = c.fails(2, "driver", "create", "x", "--protocol", "modbus")
	mustContain(t, "one missing flag", r.stderr, "required flag not set: --runtime")
	c.ok("instance", "create", "line3")
	c.ok("instance", "bind", "line3", "meter", "--version", "2.0.0")
	r = c.fails(1, "deploy", "line3")
	mustContain(t, "one deployment problem", r.stderr, "cannot be deployed: 1 problem (failed_precondition)", "package_missing")
}
