package main_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// cliEnv runs the driverhub binary as a command-line client against a real
// server, with a home and config directory of its own.
type cliEnv struct {
	t      *testing.T
	srv    *server
	home   string
	config string // XDG_CONFIG_HOME
	env    []string
	token  string // the token sameJSON reads the API with
}

// newCLI starts a server and returns a client environment pointed at it
// with the admin token in DRIVERHUB_SERVER/DRIVERHUB_TOKEN.
func newCLI(t *testing.T) *cliEnv {
	t.Helper()
	c := &cliEnv{t: t, srv: startServer(t, t.TempDir()), home: t.TempDir(), token: adminToken}
	c.config = filepath.Join(c.home, "config")
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "DRIVERHUB_") || strings.HasPrefix(kv, "HOME=") || strings.HasPrefix(kv, "XDG_CONFIG_HOME=") {
			continue
		}
		c.env = append(c.env, kv)
	}
	c.env = append(c.env, "HOME="+c.home, "XDG_CONFIG_HOME="+c.config,
		"DRIVERHUB_SERVER="+c.srv.url, "DRIVERHUB_TOKEN="+adminToken)
	return c
}

// without returns a copy of c whose environment lacks the given variables.
func (c *cliEnv) without(names ...string) *cliEnv {
	cp := *c
	cp.env = nil
	for _, kv := range c.env {
		keep := true
		for _, n := range names {
			if strings.HasPrefix(kv, n+"=") {
				keep = false
			}
		}
		if keep {
			cp.env = append(cp.env, kv)
		}
	}
	return &cp
}

// with returns a copy of c with more environment variables.
func (c *cliEnv) with(kv ...string) *cliEnv {
	cp := *c
	cp.env = append(append([]string{}, c.env...), kv...)
	for _, v := range kv {
		if tok, ok := strings.CutPrefix(v, "DRIVERHUB_TOKEN="); ok {
			cp.token = tok
		}
	}
	return &cp
}

type cliResult struct {
	stdout, stderr string
	code           int
}

// runIn runs the binary with stdin and returns its output and exit status.
func (c *cliEnv) runIn(stdin string, args ...string) cliResult {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Env = c.env
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			c.t.Fatalf("driverhub %s: %v", strings.Join(args, " "), err)
		}
		code = ee.ExitCode()
	}
	return cliResult{out.String(), errb.String(), code}
}

func (c *cliEnv) run(args ...string) cliResult {
	c.t.Helper()
	return c.runIn("", args...)
}

// ok runs a command that must succeed and returns its stdout.
func (c *cliEnv) ok(args ...string) string {
	c.t.Helper()
	r := c.run(args...)
	if r.code != 0 {
		c.t.Fatalf("driverhub %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return r.stdout
}

// fails runs a command that must exit with code, and returns it.
func (c *cliEnv) fails(code int, args ...string) cliResult {
	c.t.Helper()
	r := c.run(args...)
	if r.code != code {
		c.t.Fatalf("driverhub %s: exit %d, want %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.code, code, r.stdout, r.stderr)
	}
	return r
}

// api answers the server's JSON for a GET with c's token, decoded.
func (c *cliEnv) api(path string) any {
	c.t.Helper()
	req, err := http.NewRequest("GET", c.srv.url+path, nil)
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	buf.ReadFrom(resp.Body)
	if resp.StatusCode != http.StatusOK {
		c.t.Fatalf("GET %s: %d %s", path, resp.StatusCode, buf.Bytes())
	}
	return cliDecode(c.t, buf.Bytes())
}

func cliDecode(t testing.TB, b []byte) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, b)
	}
	return v
}

// sameJSON checks that a command's -o json output is exactly what the API
// answers at path.
func (c *cliEnv) sameJSON(path string, args ...string) any {
	c.t.Helper()
	got := cliDecode(c.t, []byte(c.ok(append(args, "-o", "json")...)))
	if diff := cmp.Diff(c.api(path), got); diff != "" {
		c.t.Errorf("driverhub %s -o json differs from GET %s (-api +cli):\n%s", strings.Join(args, " "), path, diff)
	}
	return got
}

// mustContain checks that s holds every want.
func mustContain(t testing.TB, what, s string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(s, w) {
			t.Errorf("%s lacks %q:\n%s", what, w, s)
		}
	}
}

// cliRow returns the row of a table whose first cell is key, split into
// cells, or nil.
func cliRow(out, key string) []string {
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) > 0 && f[0] == key {
			return f
		}
	}
	return nil
}

// cliTree writes files (name → content) under a new directory.
func cliTree(t testing.TB, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// fakeGateway is the test acting as an instance's gateway over plain HTTP.
type fakeGateway struct {
	t      *testing.T
	url    string
	secret string
	last   string // the last deployment seen
}

func (g *fakeGateway) do(method, path string, body any) (int, []byte) {
	var rd *bytes.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	} else {
		rd = bytes.NewReader(nil)
	}
	req, err := http.NewRequest(method, g.url+path, rd)
	if err != nil {
		g.t.Error(err)
		return 0, nil
	}
	req.Header.Set("Authorization", "Bearer "+g.secret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		g.t.Errorf("%s %s: %v", method, path, err)
		return 0, nil
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	buf.ReadFrom(resp.Body)
	return resp.StatusCode, buf.Bytes()
}

// awaitDeployment long-polls the desired state until it names a
// deployment other than the last one seen, and returns its id ("" on
// failure).
func (g *fakeGateway) awaitDeployment() string {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		code, b := g.do("GET", "/api/v1/gateway/desired?wait=1s", nil)
		if code == http.StatusOK {
			var m struct {
				DeploymentID string `json:"deployment_id"`
			}
			if json.Unmarshal(b, &m) == nil && m.DeploymentID != "" && m.DeploymentID != g.last {
				g.last = m.DeploymentID
				return m.DeploymentID
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	g.t.Error("the gateway saw no new deployment")
	return ""
}

// answerNext answers the next deployment the gateway sees with answer,
// in the background; wait returns once it has.
func (g *fakeGateway) answerNext(answer func(id string)) (wait func()) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		if id := g.awaitDeployment(); id != "" {
			answer(id)
		}
	}()
	return func() { <-done }
}

// report posts a deployment report with one resource's stage and status.
func (g *fakeGateway) report(id, status, reason, resType, resName, stage, resStatus, msg string) {
	body := map[string]any{
		"edge_version": "1.0.0", "arch": "x86-64",
		"deployment": map[string]any{"id": id, "status": status, "reason": reason,
			"resources": []map[string]any{{"type": resType, "name": resName, "stage": stage, "status": resStatus,
				"log": []map[string]any{{"time": time.Now().UTC(), "level": "info", "stage": stage, "message": msg}}}}},
	}
	if code, b := g.do("POST", "/api/v1/gateway/report", body); code != http.StatusNoContent {
		g.t.Errorf("report: %d %s", code, b)
	}
}
