package main_test

import (
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

// hostile is text a terminal would act on: it retitles the window, clears
// the screen, starts an 8-bit CSI, reverses the rest of the line, deletes.
const hostile = "\x1b]0;pwned\x07\x1b[2J\u009b31m\u202eevil\x7f\tend"

// rawControls returns the control characters of hostile found raw in s.
func rawControls(s string) []string {
	var found []string
	for _, r := range []rune{0x1b, 0x07, 0x9b, 0x202e, 0x7f} {
		if strings.ContainsRune(s, r) {
			found = append(found, string(r))
		}
	}
	return found
}

// What the gateway sends (driver output, deployment logs, exit reasons)
// and what another tenant writes (a marketplace title) is printed escaped
// in tables, plain lines, YAML and JSON, and reads back unchanged from
// JSON and YAML.
func TestCLIEscapesServerText(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	gw := cliSetupInstance(t, c)
	lines := []map[string]any{{"time": time.Now().UTC(), "stream": "stdout", "text": hostile}}
	if code, b := gw.do("POST", "/api/v1/gateway/logs", map[string]any{"driver": "meter", "lines": lines}); code != 204 {
		t.Fatalf("post logs: %d %s", code, b)
	}

	// A deployment whose gateway logs and fails with hostile text, followed by --wait.
	answered := gw.answerNext(func(id string) {
		body := map[string]any{
			"edge_version": "1.0.0", "arch": "x86-64",
			"deployment": map[string]any{"id": id, "status": "failed", "reason": hostile,
				"resources": []map[string]any{{"type": "driver", "name": "meter", "stage": "start", "status": "failed",
					"log": []map[string]any{{"time": time.Now().UTC(), "level": "error", "stage": "start", "message": hostile}}}}},
			"drivers": []map[string]any{{"name": "meter", "version": "1.0.0", "state": "crashloop", "restarts": 5, "last_exit": hostile}},
		}
		if code, b := gw.do("POST", "/api/v1/gateway/report", body); code != 204 {
			t.Errorf("report: %d %s", code, b)
		}
	})
	waited := c.run("deploy", "line3", "--wait", "--timeout", "60s")
	answered()
	if waited.code != 1 || !strings.Contains(waited.stdout, `\x1b]0;pwned\x07`) {
		t.Errorf("deploy --wait of a failing deployment: exit %d\n%s\n%s", waited.code, waited.stdout, waited.stderr)
	}
	id := cliDecode(t, []byte(c.ok("deployment", "list", "line3", "-o", "json"))).(map[string]any)["items"].([]any)[0].(map[string]any)["id"].(string)

	outputs := map[string]cliResult{"deploy --wait": waited}
	for _, args := range [][]string{
		{"logs", "line3", "meter"},
		{"logs", "line3", "meter", "--timestamps"},
		{"logs", "line3", "meter", "-o", "yaml"},
		{"logs", "line3", "meter", "-o", "json"},
		{"deployment", "get", "line3", id},
		{"deployment", "get", "line3", id, "-o", "yaml"},
		{"deployment", "get", "line3", id, "-o", "json"},
		{"instance", "drivers", "line3"},
		{"instance", "drivers", "line3", "meter"},
		{"instance", "drivers", "line3", "meter", "-o", "yaml"},
		{"instance", "drivers", "line3", "meter", "-o", "json"},
	} {
		outputs[strings.Join(args, " ")] = c.ok2(args...)
	}

	// Another tenant's marketplace title: refused, or shown escaped.
	c.ok("listing", "set", "meter", "--title", "Meter")
	acme := cliTenant(t, c, "acme")
	if r := c.run("listing", "set", "meter", "--title", hostile); r.code == 0 {
		outputs["market list"] = acme.ok2("market", "list")
		outputs["market get"] = acme.ok2("market", "get", "default", "meter")
	} else {
		mustContain(t, "a hostile title", r.stderr, "title")
		outputs["listing set"] = r
	}

	for name, r := range outputs {
		if found := rawControls(r.stdout + r.stderr); len(found) > 0 {
			t.Errorf("driverhub %s prints %q raw:\n%q\n%q", name, found, r.stdout, r.stderr)
		}
	}
	for _, name := range []string{"logs line3 meter", "deployment get line3 " + id, "instance drivers line3 meter"} {
		mustContain(t, name, outputs[name].stdout, `\x1b]0;pwned\x07\x1b[2J\u009b31m\u202eevil\x7f`)
	}
	// JSON and YAML keep the text itself, escaped the way each format escapes.
	var fromYAML struct{ Lines []struct{ Text string } }
	if err := yaml.Unmarshal([]byte(outputs["logs line3 meter -o yaml"].stdout), &fromYAML); err != nil || len(fromYAML.Lines) != 1 || fromYAML.Lines[0].Text != hostile {
		t.Errorf("logs -o yaml reads back as %+v (%v)", fromYAML, err)
	}
	fromJSON := cliDecode(t, []byte(outputs["logs line3 meter -o json"].stdout)).(map[string]any)
	if text := fromJSON["lines"].([]any)[0].(map[string]any)["text"]; text != hostile {
		t.Errorf("logs -o json reads back as %q", text)
	}
	binding := cliDecode(t, []byte(outputs["instance drivers line3 meter -o json"].stdout)).(map[string]any)
	if exit := binding["runtime"].(map[string]any)["last_exit"]; exit != hostile {
		t.Errorf("instance drivers -o json: last_exit reads back as %q", exit)
	}
}

// ok2 runs a command that must succeed and returns its stdout and stderr.
func (c *cliEnv) ok2(args ...string) cliResult {
	c.t.Helper()
	r := c.run(args...)
	if r.code != 0 {
		c.t.Errorf("driverhub %s: exit %d\nstdout: %q\nstderr: %q", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return r
}

// cliTenant creates a tenant and returns a client environment acting as its admin.
func cliTenant(t *testing.T, c *cliEnv, name string) *cliEnv {
	t.Helper()
	out := c.ok("tenant", "create", name, "-o", "json")
	tok, _ := cliDecode(t, []byte(out)).(map[string]any)["token"].(string)
	if tok == "" {
		t.Fatalf("tenant create -o json gave no token: %s", out)
	}
	return c.with("DRIVERHUB_TOKEN=" + tok)
}
