package main_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCLILogin(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	bare := c.without("DRIVERHUB_SERVER", "DRIVERHUB_TOKEN")

	r := bare.fails(1, "driver", "list")
	mustContain(t, "no settings", r.stderr, "no server", "driverhub login")

	// A wrong token is refused and nothing is saved.
	r = bare.fails(1, "login", "--server", c.srv.url, "--token", "dht_wrong")
	mustContain(t, "login with a wrong token", r.stderr, "unauthenticated")
	path := filepath.Join(c.config, "driverhub", "config.json")
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("a refused login wrote %s: %v", path, err)
	}

	// The token from stdin (not a terminal).
	r = bare.runIn(adminToken+"\n", "login", "--server", c.srv.url+"/")
	if r.code != 0 {
		t.Fatalf("login: %d %s", r.code, r.stderr)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("config file mode %v, want 0600", fi.Mode().Perm())
	}
	if di, _ := os.Stat(filepath.Dir(path)); di.Mode().Perm() != 0o700 {
		t.Errorf("config dir mode %v, want 0700", di.Mode().Perm())
	}
	var saved struct {
		Server string
		Logins map[string]struct{ Token string }
	}
	b, _ := os.ReadFile(path)
	if err := json.Unmarshal(b, &saved); err != nil || saved.Server != c.srv.url || len(saved.Logins) != 1 {
		t.Errorf("config file holds %s (%v)", b, err)
	}
	for _, l := range saved.Logins {
		if l.Token != adminToken {
			t.Errorf("config file holds token %q", l.Token)
		}
	}

	// Later commands need no flags and no environment.
	bare.ok("driver", "create", "meter", "--protocol", "modbus", "--runtime", "python3")
	if out := bare.ok("driver", "list"); cliRow(out, "meter") == nil {
		t.Errorf("driver list after login:\n%s", out)
	}

	// Without XDG_CONFIG_HOME, the user's config directory under HOME.
	home := bare.without("XDG_CONFIG_HOME")
	home.ok("login", "--server", c.srv.url, "--token", adminToken)
	if _, err := os.Stat(filepath.Join(c.home, ".config", "driverhub", "config.json")); err != nil {
		t.Errorf("login without XDG_CONFIG_HOME: %v", err)
	}
	home.ok("driver", "get", "meter")

	bare.ok("logout")
	bare.fails(1, "driver", "list")
}

func TestCLISettingsPrecedence(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	// Three tokens: the admin's (good), a viewer's (good, but may not write)
	// and a revoked one (bad).
	var viewer, revoked struct {
		ID    string `json:"id"`
		Token string `json:"token"`
	}
	json.Unmarshal([]byte(c.ok("token", "create", "viewer", "--role", "viewer", "-o", "json")), &viewer)
	json.Unmarshal([]byte(c.ok("token", "create", "gone", "--role", "viewer", "-o", "json")), &revoked)
	c.ok("token", "revoke", revoked.ID)
	if viewer.Token == "" || revoked.Token == "" {
		t.Fatal("token create -o json gave no token")
	}
	bare := c.without("DRIVERHUB_SERVER", "DRIVERHUB_TOKEN")

	// The file holds the revoked token.
	path := filepath.Join(c.config, "driverhub", "config.json")
	os.MkdirAll(filepath.Dir(path), 0o700)
	os.WriteFile(path, []byte(`{"server":"`+c.srv.url+`","token":"`+revoked.Token+`"}`), 0o600)
	r := bare.fails(1, "driver", "list")
	mustContain(t, "file's revoked token", r.stderr, "unauthenticated")

	// The environment beats the file.
	env := bare.with("DRIVERHUB_TOKEN=" + viewer.Token)
	env.ok("driver", "list")
	r = env.fails(1, "driver", "create", "x", "--protocol", "modbus", "--runtime", "python3")
	mustContain(t, "viewer from the environment", r.stderr, "permission_denied")

	// The flag beats the environment (and the file).
	env.ok("driver", "create", "x", "--protocol", "modbus", "--runtime", "python3", "--token", adminToken)
	r = env.with("DRIVERHUB_TOKEN="+adminToken).fails(1, "driver", "list", "--token", revoked.Token)
	mustContain(t, "revoked token from the flag", r.stderr, "unauthenticated")

	// Server: flag beats environment beats file.
	wrong := bare.with("DRIVERHUB_SERVER=http://127.0.0.1:1", "DRIVERHUB_TOKEN="+adminToken)
	wrong.fails(1, "driver", "list")
	wrong.ok("driver", "list", "--server", c.srv.url)
	os.WriteFile(path, []byte(`{"server":"http://127.0.0.1:1","token":"`+adminToken+`"}`), 0o600)
	bare.with("DRIVERHUB_SERVER="+c.srv.url, "DRIVERHUB_TOKEN="+adminToken).ok("driver", "list")

	// The file's token never goes to another server.
	r = bare.fails(1, "driver", "list", "--server", c.srv.url)
	mustContain(t, "file token with another server", r.stderr, "no token")
}

func TestCLIErrorsAndUsage(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	for _, args := range [][]string{
		{"driver", "get"},                     // too few arguments
		{"driver", "get", "a", "b"},           // too many
		{"driver", "list", "--bogus"},         // unknown flag
		{"driver", "frobnicate"},              // unknown subcommand
		{"frobnicate"},                        // unknown command
		{"driver", "list", "-o", "xml"},       // bad output format
		{"deploy", "x", "--timeout", "soon"},  // bad flag value
		{"driver", "create", "x"},             // required flags
		{"instance", "config", "get", "only"}, // nested group
	} {
		r := c.run(args...)
		if r.code != 2 {
			t.Errorf("driverhub %s: exit %d, want 2\n%s", strings.Join(args, " "), r.code, r.stderr)
		}
		if !strings.Contains(r.stderr, "Usage:") {
			t.Errorf("driverhub %s: no usage on stderr:\n%s", strings.Join(args, " "), r.stderr)
		}
		if r.stdout != "" {
			t.Errorf("driverhub %s: printed on stdout: %s", strings.Join(args, " "), r.stdout)
		}
	}

	// The server's errors: message and field on stderr, exit 1.
	r := c.fails(1, "driver", "create", "9bad", "--protocol", "modbus", "--runtime", "python3")
	mustContain(t, "invalid driver", r.stderr, "name: must start with a letter", "invalid_argument")
	if r.stdout != "" {
		t.Errorf("an error printed on stdout: %s", r.stdout)
	}
	r = c.fails(1, "driver", "get", "nope")
	mustContain(t, "missing driver", r.stderr, `driver "nope" not found`)

	// A 422 lists every problem.
	c.ok("driver", "create", "meter", "--protocol", "modbus", "--runtime", "python3")
	c.ok("version", "create", "meter", "1.0.0", "--min-edge-version", "1.0.0", "--driver-config-required")
	c.ok("instance", "create", "line3")
	c.ok("instance", "bind", "line3", "meter", "--version", "1.0.0")
	r = c.fails(1, "deploy", "line3")
	mustContain(t, "refused deployment", r.stderr, "failed_precondition", "driver_config_missing", "package_missing")

	// Help and version exit 0.
	if out := c.ok("--help"); !strings.Contains(out, "driver") {
		t.Errorf("--help:\n%s", out)
	}
	if out := c.ok("driver"); !strings.Contains(out, "push") {
		t.Errorf("driver alone shows no help:\n%s", out)
	}
	if out := c.ok("version"); strings.TrimSpace(out) == "" || strings.Contains(out, "Usage") {
		t.Errorf("version: %q", out)
	}
	// Completion of driver and instance names, from the server.
	if out := c.ok("__complete", "version", "get", ""); !strings.Contains(out, "meter") {
		t.Errorf("completion of driver names:\n%s", out)
	}
	if out := c.ok("__complete", "deploy", ""); !strings.Contains(out, "line3") {
		t.Errorf("completion of instance names:\n%s", out)
	}
	for _, shell := range []string{"bash", "zsh", "fish"} {
		if out := c.ok("completion", shell); !strings.Contains(out, "driverhub") {
			t.Errorf("completion %s: %.200s", shell, out)
		}
	}
}

func TestCLIAccounts(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	out := c.ok("token", "create", "ci", "--role", "developer")
	mustContain(t, "token create", out, "ci", "developer", "dht_")
	out = c.ok("token", "list")
	l := c.sameJSON("/api/v1/tokens", "token", "list").(map[string]any)
	var id string
	for _, k := range l["items"].([]any) {
		if k.(map[string]any)["name"] == "ci" {
			id = k.(map[string]any)["id"].(string)
		}
	}
	if id == "" || !strings.Contains(out, id) {
		t.Fatalf("token list lacks ci:\n%s", out)
	}
	c.sameJSON("/api/v1/tokens/"+id, "token", "get", id)
	c.ok("token", "revoke", id)
	c.fails(1, "token", "get", id)
	r := c.fails(1, "token", "create", "x", "--role", "emperor")
	mustContain(t, "bad role", r.stderr, "role")

	// Users: the password from --password, or stdin.
	out = c.ok("user", "create", "alice", "--role", "developer", "--password", "alice-password")
	mustContain(t, "user create", out, "alice", "developer")
	if r := c.runIn("bob-password\n", "user", "create", "bob", "--role", "viewer"); r.code != 0 {
		t.Fatalf("user create with the password on stdin: %d %s", r.code, r.stderr)
	}
	out = c.ok("user", "list")
	if row := cliRow(out, "bob"); len(row) < 2 || row[1] != "viewer" {
		t.Errorf("user list row: %q\n%s", row, out)
	}
	c.sameJSON("/api/v1/users", "user", "list")
	c.ok("user", "update", "bob", "--role", "developer")
	u := c.sameJSON("/api/v1/users/bob", "user", "get", "bob").(map[string]any)
	if u["role"] != "developer" {
		t.Errorf("bob after update: %v", u)
	}
	c.fails(2, "user", "update", "bob")
	c.ok("user", "delete", "bob")
	c.fails(1, "user", "get", "bob")
	r = c.fails(1, "user", "create", "carol", "--role", "viewer", "--password", "short")
	mustContain(t, "short password", r.stderr, "password")

	// Tenants: only the system admin.
	out = c.ok("tenant", "create", "acme")
	mustContain(t, "tenant create", out, "acme", "admin", "dht_")
	dev := c.with("DRIVERHUB_TOKEN=" + cliDeveloperToken(t, c))
	r = dev.fails(1, "tenant", "create", "other")
	mustContain(t, "tenant create by a developer", r.stderr, "permission_denied")
}

// cliDeveloperToken makes an API token of the admin with the developer
// role: it acts as a developer.
func cliDeveloperToken(t *testing.T, c *cliEnv) string {
	t.Helper()
	var k struct {
		Token string `json:"token"`
	}
	json.Unmarshal([]byte(c.ok("token", "create", "dev", "--role", "developer", "-o", "json")), &k)
	if k.Token == "" {
		t.Fatal("token create -o json gave no token")
	}
	return k.Token
}
