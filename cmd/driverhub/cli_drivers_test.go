package main_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCLIDriversAndVersions drives drivers, then versions, then a
// version's package through the CLI; each step works on what the one
// before left.
func TestCLIDriversAndVersions(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	cliDriverCommands(t, c)
	cliVersionCommands(t, c)
	cliVersionPackageCommands(t, c)
}

// cliDriverCommands creates drivers meter and plc, lists, gets and
// updates them, and deletes plc.
func cliDriverCommands(t *testing.T, c *cliEnv) {
	out := c.ok("driver", "create", "meter", "--protocol", "modbus", "--runtime", "python3", "--description", "Reads meters")
	mustContain(t, "driver create", out, "meter", "modbus", "python3", "Reads meters")
	c.ok("driver", "create", "plc", "--protocol", "opcua", "--runtime", "c", "--cpu-arch", "aarch64")

	out = c.ok("driver", "list")
	if row := cliRow(out, "meter"); len(row) < 5 || row[1] != "modbus" || row[2] != "python3" || row[3] != "-" {
		t.Errorf("driver list row for meter: %q\n%s", row, out)
	}
	if row := cliRow(out, "plc"); len(row) < 4 || row[3] != "aarch64" {
		t.Errorf("driver list row for plc: %q\n%s", row, out)
	}
	if !strings.HasPrefix(out, "NAME") {
		t.Errorf("driver list has no header:\n%s", out)
	}
	c.sameJSON("/api/v1/drivers", "driver", "list")
	c.sameJSON("/api/v1/drivers?runtime=c", "driver", "list", "--runtime", "c")
	c.sameJSON("/api/v1/drivers/meter", "driver", "get", "meter")
	out = c.ok("driver", "get", "meter", "-o", "yaml")
	mustContain(t, "driver get -o yaml", out, "name: meter\n", "protocol: modbus\n", "builtin: false\n")

	out = c.ok("driver", "update", "meter", "--description", "Reads power meters", "-o", "json")
	if v := cliDecode(t, []byte(out)).(map[string]any); v["description"] != "Reads power meters" || v["protocol"] != "modbus" {
		t.Errorf("driver update: %v", v)
	}
	c.ok("driver", "delete", "plc")
	c.fails(1, "driver", "get", "plc")
}

// cliVersionCommands creates meter's versions 1.0.0, with a kv config and
// checks, and 2.0, from a file; it updates, lists and gets them, leaves
// 1.0.0 a draft and deletes 2.0.
func cliVersionCommands(t *testing.T, c *cliEnv) {
	out := c.ok("version", "create", "meter", "1.0.0", "--min-edge-version", "1.0.0", "--config-kv", "poll_ms=500",
		"--driver-config-required", "--memory-limit-mb", "256")
	mustContain(t, "version create", out, "1.0.0", "draft", "poll_ms=500", "memory limit: 256 MiB", "driver config required: true")
	c.ok("version", "update", "meter", "1.0.0", "--description", "first", "--privileged")
	v := c.sameJSON("/api/v1/drivers/meter/versions/1.0.0", "version", "get", "meter", "1.0.0").(map[string]any)
	if v["description"] != "first" || v["container"].(map[string]any)["privileged"] != true ||
		v["container"].(map[string]any)["memory_limit_mb"] != 256.0 {
		t.Errorf("version after update: %v", v)
	}
	// -f takes the version as the API shows it, in YAML.
	spec := filepath.Join(t.TempDir(), "v.yaml")
	os.WriteFile(spec, []byte("min_edge_version: 1.2.0\ndescription: from a file\ndriver_config:\n  format: json\n  json: {\"a\": 1}\n"), 0o644)
	c.ok("version", "create", "meter", "2.0", "-f", spec)
	v = c.api("/api/v1/drivers/meter/versions/2.0").(map[string]any)
	if v["min_edge_version"] != "1.2.0" || v["driver_config"].(map[string]any)["format"] != "json" {
		t.Errorf("version from a file: %v", v)
	}
	out = c.ok("version", "list", "meter")
	if row := cliRow(out, "2.0"); len(row) < 3 || row[1] != "draft" || row[2] != "1.2.0" {
		t.Errorf("version list row 2.0: %q\n%s", row, out)
	}
	c.sameJSON("/api/v1/drivers/meter/versions", "version", "list", "meter")
	c.sameJSON("/api/v1/drivers/meter/versions?status=draft", "version", "list", "meter", "--status", "draft")
	c.ok("version", "delete", "meter", "2.0")
	c.fails(1, "version", "get", "meter", "2.0")
}

// cliVersionPackageCommands uploads meter 1.0.0's package (a zip file)
// and config file, publishes and downloads it; a published version
// refuses changes and deletion.
func cliVersionPackageCommands(t *testing.T, c *cliEnv) {
	pkg := pythonPackage(t, 1<<10, 7)
	zipPath := filepath.Join(t.TempDir(), "meter.zip")
	os.WriteFile(zipPath, pkg, 0o644)
	c.ok("version", "upload", "meter", "1.0.0", zipPath)
	cfgPath := filepath.Join(t.TempDir(), "settings.ini")
	os.WriteFile(cfgPath, []byte("[meter]\nport=502\n"), 0o644)
	out := c.ok("version", "upload-config", "meter", "1.0.0", cfgPath)
	mustContain(t, "version upload-config", out, "file: settings.ini")
	c.ok("version", "publish", "meter", "1.0.0")
	out = c.ok("version", "list", "meter", "--status", "published")
	if row := cliRow(out, "1.0.0"); len(row) < 2 || row[1] != "published" {
		t.Errorf("published version list: %q\n%s", row, out)
	}
	r := c.fails(1, "version", "update", "meter", "1.0.0", "--min-edge-version", "2.0.0")
	mustContain(t, "update of a published version", r.stderr, "published")
	to := filepath.Join(t.TempDir(), "meter.zip")
	c.ok("version", "download", "meter", "1.0.0", "--to", to)
	if got, _ := os.ReadFile(to); !bytes.Equal(got, pkg) {
		t.Errorf("downloaded %d bytes, uploaded %d", len(got), len(pkg))
	}
	r = c.fails(1, "version", "delete", "meter", "1.0.0")
	mustContain(t, "delete of a published version", r.stderr, "published")
}

func TestCLIPush(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	c.ok("driver", "create", "meter", "--protocol", "modbus", "--runtime", "python3")
	dir := cliTree(t, map[string]string{"index.py": "print('meter')\n", "lib/util.py": "X = 1\n"})

	out := c.ok("driver", "push", dir, "--driver", "meter", "--version", "1.0.0", "--min-edge-version", "1.0.0",
		"--description", "CI build", "--publish", "-o", "json")
	pushed := cliDecode(t, []byte(out)).(map[string]any)
	v := c.api("/api/v1/drivers/meter/versions/1.0.0").(map[string]any)
	if v["status"] != "published" || v["description"] != "CI build" || v["package"] == nil {
		t.Fatalf("after push --publish the version is %v", v)
	}
	if pushed["status"] != "published" {
		t.Errorf("push printed %v", pushed)
	}
	sha := v["package"].(map[string]any)["sha256"].(string)

	// Downloaded with the CLI: the very bytes the server serves.
	to := filepath.Join(t.TempDir(), "got.zip")
	r := c.run("version", "download", "meter", "1.0.0", "--to", to)
	if r.code != 0 {
		t.Fatalf("download: %d %s", r.code, r.stderr)
	}
	got, err := os.ReadFile(to)
	if err != nil {
		t.Fatal(err)
	}
	_, served := c.srv.do(t, "GET", "/api/v1/drivers/meter/versions/1.0.0/package", nil)
	if !bytes.Equal(got, served) || sum(got) != sha {
		t.Errorf("downloaded %d bytes (sha256 %s), the server serves %d bytes, the version says %s", len(got), sum(got), len(served), sha)
	}

	// A push to a draft replaces its package; the push that publishes it
	// again is refused with the server's message.
	c.ok("driver", "push", dir, "--driver", "meter", "--version", "1.1.0", "--min-edge-version", "1.0.0")
	os.WriteFile(filepath.Join(dir, "index.py"), []byte("print('meter v2')\n"), 0o644)
	c.ok("driver", "push", dir, "--driver", "meter", "--version", "1.1.0", "--min-edge-version", "1.1.0")
	v = c.api("/api/v1/drivers/meter/versions/1.1.0").(map[string]any)
	if v["status"] != "draft" || v["min_edge_version"] != "1.1.0" {
		t.Errorf("re-pushed draft: %v", v)
	}
	r = c.fails(1, "driver", "push", dir, "--driver", "meter", "--version", "1.0.0", "--min-edge-version", "1.0.0")
	mustContain(t, "push to a published version", r.stderr, "is published", "version_published")
	if v := c.api("/api/v1/drivers/meter/versions/1.0.0").(map[string]any); v["package"].(map[string]any)["sha256"] != sha {
		t.Errorf("the published package changed: %v", v)
	}

	// No index.py: refused before anything reaches the server.
	before := c.api("/api/v1/drivers/meter/versions")
	bad := cliTree(t, map[string]string{"main.py": "print('wrong entry')\n"})
	r = c.fails(1, "driver", "push", bad, "--driver", "meter", "--version", "9.9.9", "--min-edge-version", "1.0.0", "--publish")
	mustContain(t, "refused push", r.stderr, "index.py", "nothing was uploaded")
	if code, b := c.srv.do(t, "GET", "/api/v1/drivers/meter/versions/9.9.9", nil); code != 404 {
		t.Errorf("the refused push left version 9.9.9: %d %s", code, b)
	}
	after := c.api("/api/v1/drivers/meter/versions")
	if b1, b2 := cliJSON(before), cliJSON(after); b1 != b2 {
		t.Errorf("the refused push changed the versions:\nbefore %s\nafter  %s", b1, b2)
	}
	// Zipping the folder instead of its contents is named too.
	nested := cliTree(t, map[string]string{"meter/index.py": "print(1)\n"})
	r = c.fails(1, "driver", "push", nested, "--driver", "meter", "--version", "9.9.9", "--min-edge-version", "1.0.0")
	mustContain(t, "nested push", r.stderr, "meter/index.py")

	c.fails(2, "driver", "push", dir, "--driver", "meter") // missing --version: usage
}

func cliJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func TestCLIMarket(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	c.ok("driver", "create", "meter", "--protocol", "modbus", "--runtime", "python3")
	dir := cliTree(t, map[string]string{"index.py": "print('meter')\n"})
	c.ok("driver", "push", dir, "--driver", "meter", "--version", "1.0.0", "--min-edge-version", "1.0.0", "--publish")

	out := c.ok("listing", "set", "meter", "--title", "Power meter", "--summary", "Modbus meters")
	mustContain(t, "listing set", out, "Power meter", "Modbus meters")

	// A second tenant browses and acquires it.
	out = c.ok("tenant", "create", "acme", "-o", "json")
	tenant := cliDecode(t, []byte(out)).(map[string]any)
	if tenant["name"] != "acme" || tenant["token"] == "" {
		t.Fatalf("tenant create: %v", tenant)
	}
	acme := c.with("DRIVERHUB_TOKEN=" + tenant["token"].(string))
	out = acme.ok("market", "list")
	if row := cliRow(out, "default"); len(row) < 2 || row[1] != "meter" {
		t.Errorf("market list:\n%s", out)
	}
	acme.sameJSON("/api/v1/marketplace", "market", "list")
	out = acme.ok("market", "get", "default/meter")
	mustContain(t, "market get", out, "Power meter", "1.0.0")
	acme.sameJSON("/api/v1/marketplace/default/meter", "market", "get", "default", "meter")
	out = cliDecode(t, []byte(acme.ok("market", "acquire", "default", "meter", "-o", "json"))).(map[string]any)["driver"].(string)
	if out != "meter" {
		t.Errorf("acquire answered driver %q", out)
	}
	acme.sameJSON("/api/v1/acquisitions", "acquisitions", "list")
	out = acme.ok("acquisitions", "list")
	if row := cliRow(out, "default"); len(row) < 2 || row[1] != "meter" {
		t.Errorf("acquisitions list:\n%s", out)
	}
	to := filepath.Join(t.TempDir(), "m.zip")
	acme.ok("market", "download", "default", "meter", "1.0.0", "--to", to)
	if b, _ := os.ReadFile(to); len(b) == 0 {
		t.Error("market download wrote nothing")
	}

	c.ok("listing", "remove", "meter")
	out = acme.ok("market", "list", "-o", "json")
	if strings.Contains(out, `"meter"`) {
		t.Errorf("unlisted driver still in the market: %s", out)
	}
}
