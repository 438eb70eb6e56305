package main_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// cliSetupInstance makes a published python3 driver "meter" bound to
// instance "line3" and returns the instance's gateway.
func cliSetupInstance(t *testing.T, c *cliEnv) *fakeGateway {
	t.Helper()
	c.ok("driver", "create", "meter", "--protocol", "modbus", "--runtime", "python3")
	dir := cliTree(t, map[string]string{"index.py": "print('meter')\n"})
	c.ok("driver", "push", dir, "--driver", "meter", "--version", "1.0.0", "--min-edge-version", "1.0.0", "--publish")
	out := c.ok("instance", "create", "line3", "-o", "json")
	var i struct {
		GatewaySecret string `json:"gateway_secret"`
	}
	if err := json.Unmarshal([]byte(out), &i); err != nil || !strings.HasPrefix(i.GatewaySecret, "dhg_") {
		t.Fatalf("instance create -o json: %v %s", err, out)
	}
	c.ok("instance", "bind", "line3", "meter")
	return &fakeGateway{t: t, url: c.srv.url, secret: i.GatewaySecret}
}

// TestCLIInstancesDevicesConfigs drives instances, bindings and their
// configs, and devices through the CLI, around one published driver meter.
func TestCLIInstancesDevicesConfigs(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	c.ok("driver", "create", "meter", "--protocol", "modbus", "--runtime", "python3")
	dir := cliTree(t, map[string]string{"index.py": "print('meter')\n"})
	c.ok("driver", "push", dir, "--driver", "meter", "--version", "1.0.0", "--min-edge-version", "1.0.0", "--publish")

	cliInstanceCommands(t, c)
	cliBindingConfigCommands(t, c)
	cliDeviceCommands(t, c)

	r := c.fails(1, "instance", "delete", "line3")
	mustContain(t, "delete of a busy instance", r.stderr, "conflict")
	c.ok("instance", "unbind", "line3", "meter")
	c.ok("instance", "delete", "line3")
}

// cliInstanceCommands creates instances line3 and line4, lists, gets,
// updates and rotates them, and deletes line4.
func cliInstanceCommands(t *testing.T, c *cliEnv) {
	r := c.run("instance", "create", "line3", "--description", "Line 3", "--tag", "site=north", "--tag", "floor=2")
	if r.code != 0 {
		t.Fatalf("instance create: %d %s", r.code, r.stderr)
	}
	mustContain(t, "instance create", r.stdout, "Line 3", "floor=2, site=north", "Gateway secret:", "dhg_")
	mustContain(t, "instance create stderr", r.stderr, "not shown again")
	c.ok("instance", "create", "line4")
	out := c.ok("instance", "list")
	if row := cliRow(out, "line3"); len(row) < 2 || row[1] != "offline" {
		t.Errorf("instance list row: %q\n%s", row, out)
	}
	c.sameJSON("/api/v1/instances", "instance", "list")
	c.ok("instance", "update", "line3", "--untag", "floor", "--tag", "line=3")
	i := c.sameJSON("/api/v1/instances/line3", "instance", "get", "line3").(map[string]any)
	if tags := cliJSON(i["tags"]); tags != `{"line":"3","site":"north"}` {
		t.Errorf("tags after update: %s", tags)
	}
	if _, ok := i["gateway_secret"]; ok {
		t.Error("instance get shows the gateway secret")
	}
	out = c.ok("instance", "rotate-secret", "line4", "-o", "json")
	if !strings.Contains(out, `"gateway_secret": "dhg_`) {
		t.Errorf("rotate-secret: %s", out)
	}
	c.ok("instance", "delete", "line4")
	c.fails(1, "instance", "get", "line4")
}

// cliBindingConfigCommands binds meter to line3 and sets, gets, uploads
// and unsets its instance driver config.
func cliBindingConfigCommands(t *testing.T, c *cliEnv) {
	out := c.ok("instance", "bind", "line3", "meter")
	mustContain(t, "bind", out, "meter", "1.0.0", "the version's default")
	out = c.ok("instance", "drivers", "line3")
	if row := cliRow(out, "meter"); len(row) < 8 || row[2] != "1.0.0" || row[3] != "-" || row[6] != "default" {
		t.Errorf("bindings row: %q\n%s", row, out)
	}
	c.sameJSON("/api/v1/instances/line3/drivers", "instance", "drivers", "line3")
	c.sameJSON("/api/v1/instances/line3/drivers/meter", "instance", "drivers", "line3", "meter")
	r := c.fails(1, "instance", "config", "get", "line3", "meter")
	mustContain(t, "config get without config", r.stderr, "not_found")
	out = c.ok("instance", "config", "set", "line3", "meter", "--kv", "port=502", "--kv", "unit=1")
	if row := cliRow(out, "port"); len(row) < 2 || row[1] != "502" {
		t.Errorf("config set table: %q\n%s", row, out)
	}
	c.sameJSON("/api/v1/instances/line3/drivers/meter/config", "instance", "config", "get", "line3", "meter")
	c.ok("instance", "config", "set", "line3", "meter", "--json", `{"port": 503}`)
	if cfg := cliJSON(c.api("/api/v1/instances/line3/drivers/meter/config")); cfg != `{"format":"json","json":{"port":503}}` {
		t.Errorf("json config: %s", cfg)
	}
	file := filepath.Join(t.TempDir(), "meter.ini")
	os.WriteFile(file, []byte("port=504\n"), 0o644)
	out = c.ok("instance", "config", "upload", "line3", "meter", file, "--name", "m.ini")
	mustContain(t, "config upload", out, "m.ini", "9 B")
	c.ok("instance", "config", "unset", "line3", "meter")
	c.fails(1, "instance", "config", "get", "line3", "meter")
	c.fails(2, "instance", "config", "set", "line3", "meter")
}

// cliDeviceCommands creates devices m1 and m2, assigns m1 to meter on
// line3, lists and gets them, unassigns m1 and deletes m2.
func cliDeviceCommands(t *testing.T, c *cliEnv) {
	out := c.ok("device", "create", "meterp", "m1", "--description", "first meter")
	mustContain(t, "device create", out, "meterp", "m1", "first meter")
	c.ok("device", "create", "meterp", "m2")
	c.ok("device", "assign", "meterp", "m1", "--instance", "line3", "--driver", "meter", "--config", `{"addr": 1}`)
	out = c.ok("device", "list")
	if row := cliRow(out, "meterp"); len(row) < 5 || row[1] != "m1" || row[2] != "line3" || row[3] != "meter" || row[4] != `{"addr":1}` {
		t.Errorf("device list row: %q\n%s", row, out)
	}
	c.sameJSON("/api/v1/devices", "device", "list")
	c.sameJSON("/api/v1/devices?instance=line3", "device", "list", "--instance", "line3")
	c.sameJSON("/api/v1/devices/meterp/m1", "device", "get", "meterp", "m1")
	c.ok("device", "unassign", "meterp", "m1")
	if d := c.api("/api/v1/devices/meterp/m1").(map[string]any); d["instance"] != "" {
		t.Errorf("after unassign the device is on %v", d["instance"])
	}
	c.ok("device", "delete", "meterp", "m2")
	c.fails(1, "device", "get", "meterp", "m2")
	c.fails(2, "device", "assign", "meterp", "m1", "--driver", "meter") // no --instance
}

func TestCLIDeployWait(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	gw := cliSetupInstance(t, c)

	// No agent: the wait times out, saying so.
	start := time.Now()
	r := c.fails(1, "deploy", "line3", "--wait", "--timeout", "2s")
	mustContain(t, "deploy --wait without an agent", r.stderr, "timeout", "pending")
	gw.awaitDeployment() // the gateway comes up and sees that deployment first
	if d := time.Since(start); d > 20*time.Second {
		t.Errorf("--timeout 2s took %s", d)
	}

	// A gateway that reports each stage, then success.
	answered := gw.answerNext(func(id string) {
		for _, stage := range []string{"download", "verify", "start"} {
			gw.report(id, "processing", "", "driver", "meter", stage, "processing", "doing "+stage)
			time.Sleep(700 * time.Millisecond)
		}
		gw.report(id, "succeeded", "", "driver", "meter", "finish", "succeeded", "all good")
	})
	r = c.run("deploy", "line3", "--wait", "--timeout", "60s")
	answered()
	if r.code != 0 {
		t.Fatalf("deploy --wait with a gateway: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	mustContain(t, "deploy --wait output", r.stdout, "processing", "download", "verify", "start", "finish", "succeeded", "doing download", "all good")
	if strings.Index(r.stdout, "download") > strings.Index(r.stdout, "finish") {
		t.Errorf("stages out of order:\n%s", r.stdout)
	}

	// The history, newest first: the succeeded one, then the superseded one.
	out := c.ok("deployment", "list", "line3")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 || !strings.Contains(lines[1], "succeeded") || !strings.Contains(lines[2], "superseded") {
		t.Errorf("deployment list:\n%s", out)
	}
	l := c.sameJSON("/api/v1/instances/line3/deployments", "deployment", "list", "line3").(map[string]any)
	id := l["items"].([]any)[0].(map[string]any)["id"].(string)
	c.sameJSON("/api/v1/instances/line3/deployments/"+id, "deployment", "get", "line3", id)
	out = c.ok("deployment", "get", "line3", id)
	mustContain(t, "deployment get", out, "succeeded", "finish", "all good")

	// A failed report: non-zero, saying failed and why.
	answered = gw.answerNext(func(id string) {
		gw.report(id, "failed", "driver meter exited during the health period", "driver", "meter", "start", "failed", "exit status 1")
	})
	r = c.run("deploy", "line3", "--wait", "--timeout", "60s", "-o", "json")
	answered()
	if r.code == 0 {
		t.Fatalf("deploy --wait of a failing deployment exited 0\n%s\n%s", r.stdout, r.stderr)
	}
	mustContain(t, "failed deploy", r.stderr, "failed", "health period", "exit status 1")
	if d := cliDecode(t, []byte(r.stdout)).(map[string]any); d["status"] != "failed" {
		t.Errorf("deploy -o json printed %v", d)
	}

	// Close an unfinished deployment; --wait on a superseded one.
	out = c.ok("deploy", "line3", "-o", "json")
	id = cliDecode(t, []byte(out)).(map[string]any)["id"].(string)
	out = c.ok("deployment", "close", "line3", id)
	mustContain(t, "deployment close", out, "closed")
	c.ok("deploy", "line3", "--reset")
}

func TestCLILogs(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	gw := cliSetupInstance(t, c)
	post := func(texts ...string) {
		lines := make([]map[string]any, len(texts))
		for i, s := range texts {
			lines[i] = map[string]any{"time": time.Now().UTC(), "stream": "stdout", "text": s}
		}
		if code, b := gw.do("POST", "/api/v1/gateway/logs", map[string]any{"driver": "meter", "lines": lines}); code != 204 {
			t.Fatalf("post logs: %d %s", code, b)
		}
	}
	post("line one", "line two", "line three")
	if out := c.ok("logs", "line3", "meter"); out != "line one\nline two\nline three\n" {
		t.Errorf("logs: %q", out)
	}
	if out := c.ok("logs", "line3", "meter", "--tail", "1"); out != "line three\n" {
		t.Errorf("logs --tail 1: %q", out)
	}
	c.sameJSON("/api/v1/instances/line3/drivers/meter/logs?tail=100", "logs", "line3", "meter")
	c.fails(2, "logs", "line3", "meter", "--tail", "0")

	// -f prints new lines as they come, until interrupted.
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, "logs", "line3", "meter", "-f", "--tail", "2")
	cmd.Env = c.env
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	next := func() string {
		select {
		case l := <-lines:
			return l
		case <-time.After(20 * time.Second):
			t.Fatalf("logs -f printed nothing more; stderr: %s", stderr.String())
			return ""
		}
	}
	for _, want := range []string{"line two", "line three"} {
		if got := next(); got != want {
			t.Errorf("logs -f printed %q, want %q", got, want)
		}
	}
	for round := range 2 {
		a, b := fmt.Sprintf("new %d a", round), fmt.Sprintf("new %d b", round)
		post(a, b)
		for _, want := range []string{a, b} {
			if got := next(); got != want {
				t.Errorf("logs -f printed %q, want %q", got, want)
			}
		}
	}
	cmd.Process.Signal(syscall.SIGINT)
	if err := cmd.Wait(); err != nil {
		t.Errorf("logs -f after an interrupt: %v (want exit 0); stderr: %s", err, stderr.String())
	}
	for l := range lines {
		t.Errorf("logs -f printed an extra line %q", l)
	}
}

// --secret-file writes the gateway secret to a new 0600 file for the
// agent instead of printing it, and never overwrites a file.
func TestCLISecretFile(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	file := filepath.Join(t.TempDir(), "plant-1.secret")
	r := c.run("instance", "create", "plant-1", "--secret-file", file)
	if r.code != 0 || strings.Contains(r.stdout, "dhg_") {
		t.Fatalf("instance create --secret-file: exit %d, stdout %q", r.code, r.stdout)
	}
	mustContain(t, "instance create --secret-file", r.stderr, "Wrote the gateway secret of plant-1 to "+file)
	fi, err := os.Stat(file)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("secret file: %v %v", fi, err)
	}
	first, _ := os.ReadFile(file)
	if !strings.HasPrefix(string(first), "dhg_") {
		t.Errorf("secret file holds %q", first)
	}
	gw := &fakeGateway{t: t, url: c.srv.url, secret: strings.TrimSpace(string(first))}
	if code, b := gw.do("GET", "/api/v1/gateway/desired", nil); code != 200 {
		t.Errorf("the secret from the file is refused: %d %s", code, b)
	}

	// An existing file is refused before anything is created or rotated.
	r = c.fails(1, "instance", "create", "plant-2", "--secret-file", file)
	mustContain(t, "an existing secret file", r.stderr, "exists already")
	c.fails(1, "instance", "get", "plant-2")
	c.fails(1, "instance", "rotate-secret", "plant-1", "--secret-file", file)
	if code, _ := gw.do("GET", "/api/v1/gateway/desired", nil); code != 200 {
		t.Error("a refused rotate-secret rotated the secret")
	}
	rotated := filepath.Join(t.TempDir(), "rotated.secret")
	c.ok("instance", "rotate-secret", "plant-1", "--secret-file", rotated)
	if code, _ := gw.do("GET", "/api/v1/gateway/desired", nil); code != 401 {
		t.Errorf("the old secret still works after rotate-secret: %d", code)
	}
}
