package main_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/driverhub/driverhub/internal/httpapi/client"
	"github.com/driverhub/driverhub/internal/postgres/pgtest"
	"github.com/driverhub/driverhub/internal/s3blob/s3test"
	"github.com/driverhub/driverhub/internal/testenv"
)

// replica is a `driverhub server` child process on shared storage.
type replica struct {
	name string
	cmd  *exec.Cmd
	url  string
	logs *syncBuffer
	exit chan error
}

// sharedStorage returns a fresh PostgreSQL schema and S3 prefix for a set
// of replicas; the test is skipped (failed under CI=true) without them.
func sharedStorage(t testing.TB) (database, blobs string) {
	t.Helper()
	return pgtest.Fresh(t, pgtest.URL(t)), s3test.Fresh(t, s3test.URL(t))
}

// launchReplica starts `driverhub server` on the shared storage without
// waiting for it.
func launchReplica(t testing.TB, name, database, blobs string, args ...string) *replica {
	t.Helper()
	return launchReplicaEnv(t, name, database, blobs, nil, args...)
}

// launchReplicaEnv is launchReplica with extra environment variables.
func launchReplicaEnv(t testing.TB, name, database, blobs string, env []string, args ...string) *replica {
	t.Helper()
	addr := freeAddr(t)
	argv := append([]string{"server", "--addr", addr, "--data", t.TempDir(), "--database", database, "--blobs", blobs}, args...)
	cmd := exec.Command(binary, argv...)
	cmd.Env = append(os.Environ(), "DRIVERHUB_ADMIN_TOKEN="+adminToken, "DRIVERHUB_ADMIN_PASSWORD=replica-test-password")
	cmd.Env = append(cmd.Env, env...)
	logs := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	r := &replica{name: name, cmd: cmd, url: "http://" + addr, logs: logs, exit: make(chan error, 1)}
	go func() { r.exit <- cmd.Wait() }()
	t.Cleanup(func() { r.stop(t) })
	return r
}

// waitReady waits until /readyz answers 200.
func (r *replica) waitReady(t testing.TB) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-r.exit:
			r.exit <- err
			t.Fatalf("replica %s exited (%v) before it was ready:\n%s", r.name, err, r.logs)
		default:
		}
		resp, err := http.Get(r.url + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(25 * time.Millisecond)
	}
	t.Fatalf("replica %s not ready after 30 s:\n%s", r.name, r.logs)
}

// stop ends the process with SIGTERM (SIGKILL after 10 s).
func (r *replica) stop(t testing.TB) {
	select {
	case err := <-r.exit:
		r.exit <- err
		return
	default:
	}
	_ = r.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-r.exit:
		r.exit <- err
	case <-time.After(10 * time.Second):
		_ = r.cmd.Process.Kill()
		r.exit <- <-r.exit
	}
}

// startReplicas starts n replicas on the same storage at the same time
// and waits until all are ready.
func startReplicas(t testing.TB, n int, database, blobs string, args ...string) []*replica {
	t.Helper()
	rs := make([]*replica, n)
	for i := range rs {
		rs[i] = launchReplica(t, string(rune('A'+i)), database, blobs, args...)
	}
	for _, r := range rs {
		r.waitReady(t)
	}
	return rs
}

// errorLines returns the ERROR lines of a replica's log.
func (r *replica) errorLines() []string {
	var out []string
	for _, l := range strings.Split(r.logs.String(), "\n") {
		if strings.Contains(l, "level=ERROR") {
			out = append(out, l)
		}
	}
	return out
}

// noErrors fails the test if any replica logged an error.
func noErrors(t testing.TB, rs ...*replica) {
	t.Helper()
	for _, r := range rs {
		if lines := r.errorLines(); len(lines) > 0 {
			t.Errorf("replica %s logged errors:\n%s", r.name, strings.Join(lines, "\n"))
		}
	}
}

// call sends a request with the token and returns status and body.
func (r *replica) call(t testing.TB, token, method, path string, body any) (int, []byte) {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	case string:
		rd = strings.NewReader(b)
	default:
		j, _ := json.Marshal(b)
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, r.url+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s on %s: %v", method, path, r.name, err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, out
}

// mustCall is call that fails the test unless the status is want, and
// decodes the body into out (unless nil).
func (r *replica) mustCall(t testing.TB, want int, method, path string, body, out any) {
	t.Helper()
	code, b := r.call(t, adminToken, method, path, body)
	if code != want {
		t.Fatalf("%s %s on %s: %d, want %d: %s", method, path, r.name, code, want, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: %v: %s", method, path, err, b)
		}
	}
}

// gatewayFixture makes, through replica a, a published python3 driver and
// an instance bound to it; it returns the instance's gateway secret and
// the package.
func gatewayFixture(t testing.TB, a *replica, driver, instance string) (string, []byte) {
	t.Helper()
	pkg := pythonPackage(t, 64<<10, 7)
	a.mustCall(t, 201, "POST", "/api/v1/drivers", map[string]any{"name": driver, "protocol": "modbus", "runtime": "python3"}, nil)
	a.mustCall(t, 201, "POST", "/api/v1/drivers/"+driver+"/versions", map[string]any{"version": "1.0.0", "min_edge_version": "1.0.0"}, nil)
	a.mustCall(t, 200, "PUT", "/api/v1/drivers/"+driver+"/versions/1.0.0/package", pkg, nil)
	a.mustCall(t, 200, "POST", "/api/v1/drivers/"+driver+"/versions/1.0.0/publish", nil, nil)
	var inst struct {
		Secret string `json:"gateway_secret"`
	}
	a.mustCall(t, 201, "POST", "/api/v1/instances", map[string]any{"name": instance}, &inst)
	a.mustCall(t, 200, "PUT", "/api/v1/instances/"+instance+"/drivers/"+driver, map[string]any{}, nil)
	return inst.Secret, pkg
}

type desiredAnswer struct {
	status int
	etag   string
	id     string
	at     time.Time
	err    error
}

// longPoll asks r for the desired state with If-None-Match etag and
// ?wait=, and sends the answer on the returned channel.
func longPoll(r *replica, secret, etag string, wait time.Duration) <-chan desiredAnswer {
	ch := make(chan desiredAnswer, 1)
	go func() {
		req, _ := http.NewRequest("GET", r.url+"/api/v1/gateway/desired?wait="+wait.String(), nil)
		req.Header.Set("Authorization", "Bearer "+secret)
		if etag != "" {
			req.Header.Set("If-None-Match", etag)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			ch <- desiredAnswer{err: err}
			return
		}
		defer resp.Body.Close()
		var m struct {
			ID string `json:"deployment_id"`
		}
		b, _ := io.ReadAll(resp.Body)
		_ = json.Unmarshal(b, &m)
		ch <- desiredAnswer{status: resp.StatusCode, etag: resp.Header.Get("ETag"), id: m.ID, at: time.Now()}
	}()
	return ch
}

// getMetrics reads a replica's metrics, which need a system admin's token.
func getMetrics(base string) (*http.Response, error) {
	req, err := http.NewRequest("GET", base+"/metrics", nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+adminToken)
	return http.DefaultClient.Do(req)
}

// waitLongPolling waits until n gateways long-poll r (its metrics say so).
func waitLongPolling(t testing.TB, r *replica, n int) {
	t.Helper()
	re := regexp.MustCompile(`(?m)^driverhub_gateway_long_polls (\d+)`)
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := getMetrics(r.url)
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if m := re.FindSubmatch(b); m != nil {
				if got, _ := strconv.Atoi(string(m[1])); got >= n {
					return
				}
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("replica %s: fewer than %d long-polls after 10 s", r.name, n)
}

// TestReplicas runs two replicas on one PostgreSQL database and one S3
// prefix, started together on the empty database, and checks what they
// must share.
func TestReplicas(t *testing.T) {
	database, blobs := sharedStorage(t)
	// The S3 endpoint by name, and the servers by address: a client that
	// follows a presigned redirect then drops its Authorization header, as
	// it does for any other host.
	blobs = strings.Replace(blobs, "127.0.0.1", "localhost", 1)
	rs := startReplicas(t, 2, database, blobs, "--blobs-presign")
	a, b := rs[0], rs[1]
	secret, pkg := gatewayFixture(t, a, "meter", "gw1")

	t.Run("BootstrapOnce", func(t *testing.T) {
		var tenants struct {
			Items []struct {
				Username string `json:"username"`
			} `json:"items"`
		}
		b.mustCall(t, 200, "GET", "/api/v1/users", nil, &tenants)
		if len(tenants.Items) != 1 || tenants.Items[0].Username != "admin" {
			t.Errorf("users after two replicas bootstrapped: %+v, want one admin", tenants.Items)
		}
	})

	t.Run("WakeAcrossReplicas", func(t *testing.T) {
		etag := `"none"`
		var worst time.Duration
		for round := range 5 {
			ch := longPoll(b, secret, etag, 30*time.Second)
			waitLongPolling(t, b, 1)
			start := time.Now()
			var d struct {
				ID string `json:"id"`
			}
			a.mustCall(t, 201, "POST", "/api/v1/instances/gw1/deployments", map[string]any{"type": "deploy"}, &d)
			select {
			case ans := <-ch:
				if ans.err != nil || ans.status != 200 || ans.id != d.ID {
					t.Fatalf("round %d: long-poll on B answered %+v, want 200 with deployment %s", round, ans, d.ID)
				}
				lat := ans.at.Sub(start)
				worst = max(worst, lat)
				if lat > time.Second {
					t.Errorf("round %d: the gateway on B woke %s after the deployment on A, want < 1 s", round, lat)
				}
				etag = ans.etag
			case <-time.After(5 * time.Second):
				t.Fatalf("round %d: long-poll on B not woken 5 s after the deployment on A", round)
			}
		}
		t.Logf("slowest cross-replica wake-up (deployment created on A → answer on B): %s", worst)
	})

	t.Run("NeverBackwardsAcrossReplicas", func(t *testing.T) {
		// B has just seen the gateway at deployment 1 (and may remember it
		// for a moment); the gateway then gets deployment 2 from A and asks
		// B whether anything changed: it has not, and B must not answer
		// with deployment 1.
		for round := range 5 {
			var d1, d2 struct {
				ID string `json:"id"`
			}
			a.mustCall(t, 201, "POST", "/api/v1/instances/gw1/deployments", map[string]any{"type": "deploy"}, &d1)
			if ans := <-longPoll(b, secret, "", 0); ans.status != 200 || ans.id != d1.ID {
				t.Fatalf("round %d: B answered %+v, want deployment 1 %s", round, ans, d1.ID)
			}
			a.mustCall(t, 201, "POST", "/api/v1/instances/gw1/deployments", map[string]any{"type": "deploy"}, &d2)
			ans := <-longPoll(a, secret, `"`+d1.ID+`"`, 0)
			if ans.status != 200 || ans.id != d2.ID {
				t.Fatalf("round %d: A answered %+v, want deployment 2 %s", round, ans, d2.ID)
			}
			if ans := <-longPoll(b, secret, ans.etag, 0); ans.status != http.StatusNotModified {
				t.Fatalf("round %d: B answered %+v to a gateway at deployment 2, want 304", round, ans)
			}
		}
	})

	t.Run("SharedBlobsPresigned", func(t *testing.T) {
		// The package was uploaded through A; B redirects the gateway to the
		// object store, and the agent's own download code follows.
		path := "/api/v1/gateway/blobs/" + sum(pkg)
		c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		req, _ := http.NewRequest("GET", b.url+path, nil)
		req.Header.Set("Authorization", "Bearer "+secret)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		loc := resp.Header.Get("Location")
		if resp.StatusCode != http.StatusTemporaryRedirect || !strings.Contains(loc, "X-Amz-Signature=") {
			t.Fatalf("gateway blob on B: %d, Location %q; want 307 to a presigned URL", resp.StatusCode, loc)
		}
		agent, err := client.New(b.url, secret, nil)
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if _, err := agent.Download(context.Background(), path, 0, &buf); err != nil || !bytes.Equal(buf.Bytes(), pkg) {
			t.Fatalf("agent download through the redirect: %v, %d bytes, want the %d-byte package", err, buf.Len(), len(pkg))
		}
		// Resuming asks for a range; the object store honours it.
		buf.Reset()
		if n, err := agent.Download(context.Background(), path, 1000, &buf); err != nil || !bytes.Equal(buf.Bytes(), pkg[1000:]) {
			t.Fatalf("resumed download: %v, %d bytes", err, n)
		}
		// Users' package downloads redirect too, with the file name.
		code, body := b.call(t, adminToken, "GET", "/api/v1/drivers/meter/versions/1.0.0/package", nil)
		if code != 200 || !bytes.Equal(body, pkg) {
			t.Errorf("package download through B: %d, %d bytes", code, len(body))
		}
	})

	t.Run("Metrics", func(t *testing.T) {
		resp, err := getMetrics(b.url)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		for _, want := range []string{
			"driverhub_notifier_listening 1", "driverhub_gateway_long_polls ",
			`go_sql_open_connections{db_name="driverhub"} `, `go_sql_wait_count_total{db_name="driverhub"} `,
			"driverhub_http_requests_total{", "driverhub_http_request_duration_seconds_bucket{",
		} {
			if !bytes.Contains(body, []byte(want)) {
				t.Errorf("/metrics lacks %q", want)
			}
		}
	})

	t.Run("UniqueAcrossReplicas", func(t *testing.T) {
		for round := range 10 {
			name := fmt.Sprintf("race%d", round)
			codes := make([]int, 2)
			bodies := make([][]byte, 2)
			var wg sync.WaitGroup
			start := make(chan struct{})
			for i, r := range rs {
				wg.Go(func() {
					<-start
					codes[i], bodies[i] = r.call(t, adminToken, "POST", "/api/v1/drivers",
						map[string]any{"name": name, "protocol": "modbus", "runtime": "python3"})
				})
			}
			close(start)
			wg.Wait()
			if !(codes[0] == 201 && codes[1] == 409 || codes[0] == 409 && codes[1] == 201) {
				t.Errorf("round %d: replicas answered %d (%s) and %d (%s); want one 201 and one 409",
					round, codes[0], bodies[0], codes[1], bodies[1])
			}
		}
	})
	noErrors(t, rs...)
}

// TestReplicasDeployTimeoutOnce runs two replicas with a short deploy
// timeout: each stale deployment fails once, with one reason and one
// finished_at, and neither replica logs an error.
func TestReplicasDeployTimeoutOnce(t *testing.T) {
	database, blobs := sharedStorage(t)
	rs := startReplicas(t, 2, database, blobs, "--deploy-timeout", "1s")
	a, b := rs[0], rs[1]
	secret, _ := gatewayFixture(t, a, "meter", "gw0")
	const n = 6
	secrets := []string{secret}
	for i := 1; i < n; i++ {
		var inst struct {
			Secret string `json:"gateway_secret"`
		}
		a.mustCall(t, 201, "POST", "/api/v1/instances", map[string]any{"name": fmt.Sprintf("gw%d", i)}, &inst)
		a.mustCall(t, 200, "PUT", fmt.Sprintf("/api/v1/instances/gw%d/drivers/meter", i), map[string]any{}, nil)
		secrets = append(secrets, inst.Secret)
	}
	type deployment struct {
		ID         string `json:"id"`
		Status     string `json:"status"`
		Reason     string `json:"reason"`
		FinishedAt string `json:"finished_at"`
	}
	ids := make([]string, n)
	for i := range n {
		var d deployment
		a.mustCall(t, 201, "POST", fmt.Sprintf("/api/v1/instances/gw%d/deployments", i), map[string]any{"type": "deploy"}, &d)
		ids[i] = d.ID
		// The gateway's first fetch, on either replica, makes it processing.
		if ans := <-longPoll(rs[i%2], secrets[i], "", 0); ans.status != 200 || ans.id != d.ID {
			t.Fatalf("gateway %d fetched %+v", i, ans)
		}
	}
	first := make([]deployment, n)
	deadline := time.Now().Add(15 * time.Second)
	for i := range n {
		for {
			var d deployment
			rs[i%2].mustCall(t, 200, "GET", fmt.Sprintf("/api/v1/instances/gw%d/deployments/%s", i, ids[i]), nil, &d)
			if d.Status == "failed" {
				first[i] = d
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("deployment %d still %s after the deploy timeout", i, d.Status)
			}
			time.Sleep(100 * time.Millisecond)
		}
		if !strings.Contains(first[i].Reason, "deploy timeout") {
			t.Errorf("deployment %d failed with reason %q", i, first[i].Reason)
		}
	}
	// Several more sweeps of both replicas change nothing.
	time.Sleep(1500 * time.Millisecond)
	for i := range n {
		var d deployment
		rs[(i+1)%2].mustCall(t, 200, "GET", fmt.Sprintf("/api/v1/instances/gw%d/deployments/%s", i, ids[i]), nil, &d)
		if d != first[i] {
			t.Errorf("deployment %d changed after failing: %+v, then %+v", i, first[i], d)
		}
	}
	// Both replicas log how many deployments they failed: n in all.
	re := regexp.MustCompile(`msg="deployments timed out" count=(\d+)`)
	total := 0
	for _, r := range rs {
		for _, m := range re.FindAllStringSubmatch(r.logs.String(), -1) {
			c, _ := strconv.Atoi(m[1])
			total += c
		}
	}
	if total != n {
		t.Errorf("the replicas failed %d deployments in all, want %d:\nA:\n%s\nB:\n%s", total, n, a.logs, b.logs)
	}
	noErrors(t, rs...)
}

// TestReplicasStartTogether starts three replicas at once on empty
// databases, several times: all start, migrate and bootstrap once.
func TestReplicasStartTogether(t *testing.T) {
	for round := range 3 {
		database, blobs := sharedStorage(t)
		rs := startReplicas(t, 3, database, blobs)
		for _, r := range rs {
			code, body := r.call(t, adminToken, "GET", "/api/v1/users", nil)
			if code != 200 || strings.Count(string(body), `"username"`) != 1 {
				t.Errorf("round %d: users on %s: %d %s", round, r.name, code, body)
			}
		}
		firsts := 0
		for _, r := range rs {
			firsts += strings.Count(r.logs.String(), "first start")
		}
		if firsts != 1 {
			t.Errorf("round %d: %d replicas report the first start, want 1", round, firsts)
		}
		noErrors(t, rs...)
		for _, r := range rs {
			r.stop(t)
		}
	}
}

// TestServerStorageFlags checks the refusals of bad storage flags.
func TestServerStorageFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--database", "mysql://u:topsecret@h/db"}, "--database must be a postgres:// URL"},
		{[]string{"--blobs", "/var/blobs"}, "--blobs must be an s3:// URL"},
		{[]string{"--blobs-presign"}, "--blobs-presign needs an s3:// blob store"},
		{[]string{"--blobs", "s3://b?colour=blue"}, `unknown parameter "colour"`},
	} {
		cmd := exec.Command(binary, append([]string{"server", "--addr", "127.0.0.1:0", "--data", t.TempDir()}, tc.args...)...)
		out, err := cmd.CombinedOutput()
		if err == nil {
			t.Errorf("server %q started", tc.args)
			continue
		}
		if !strings.Contains(string(out), tc.want) {
			t.Errorf("server %q: output %q does not say %q", tc.args, out, tc.want)
		}
		if strings.Contains(string(out), "topsecret") {
			t.Errorf("server %q: output shows the password: %s", tc.args, out)
		}
	}
}

// TestMigrateCommand runs `driverhub migrate` on an empty PostgreSQL
// schema, twice, then starts a server on it; and on SQLite.
func TestMigrateCommand(t *testing.T) {
	t.Run("postgres", func(t *testing.T) {
		database := pgtest.Fresh(t, pgtest.URL(t))
		for range 2 {
			out, err := exec.Command(binary, "migrate", "--database", database).CombinedOutput()
			if err != nil || !strings.Contains(string(out), "schema version") {
				t.Fatalf("driverhub migrate: %v: %s", err, out)
			}
		}
		blobs := s3test.Fresh(t, s3test.URL(t))
		r := startReplicas(t, 1, database, blobs)[0]
		r.mustCall(t, 200, "GET", "/api/v1/users", nil, nil)
		noErrors(t, r)
	})
	t.Run("sqlite", func(t *testing.T) {
		dir := t.TempDir()
		out := mustOutput(t, binary, "migrate", "--data", dir)
		if !strings.Contains(string(out), "sqlite:"+dir) {
			t.Errorf("migrate output %q does not name the database", out)
		}
		if _, err := os.Stat(dir + "/driverhub.db"); err != nil {
			t.Error(err)
		}
	})
	t.Run("refused", func(t *testing.T) {
		out, err := exec.Command(binary, "migrate", "--database", "postgres://u:topsecret@127.0.0.1:1/db?connect_timeout=2").CombinedOutput()
		if err == nil {
			t.Fatal("migrate against no database succeeded")
		}
		if strings.Contains(string(out), "topsecret") {
			t.Errorf("migrate shows the password: %s", out)
		}
	})
}

func mustOutput(t testing.TB, name string, args ...string) []byte {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %q: %v: %s", name, args, err, out)
	}
	return out
}

// TestBackupRestore follows docs/production.md: pg_dump the database
// (custom format), lose it, pg_restore it, and start a server on it; the
// blobs stay in the bucket.
func TestBackupRestore(t *testing.T) {
	base := pgtest.URL(t)
	database, blobs := sharedStorage(t)
	pgDump, pgRestore := pgTool(t, "pg_dump"), pgTool(t, "pg_restore")
	r := startReplicas(t, 1, database, blobs)[0]
	secret, pkg := gatewayFixture(t, r, "meter", "gw1")
	r.mustCall(t, 201, "POST", "/api/v1/instances/gw1/deployments", map[string]any{"type": "deploy"}, nil)
	r.stop(t)

	u, _ := url.Parse(database)
	schema := u.Query().Get("search_path")
	dump := filepath.Join(t.TempDir(), "driverhub.dump")
	mustOutput(t, pgDump, "--dbname", base, "--schema", schema, "--format", "custom", "--file", dump)
	db, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`DROP SCHEMA ` + schema + ` CASCADE`); err != nil {
		t.Fatal(err)
	}
	mustOutput(t, pgRestore, "--dbname", base, "--exit-on-error", dump)

	r = startReplicas(t, 1, database, blobs)[0]
	code, body := r.call(t, adminToken, "GET", "/api/v1/drivers/meter/versions/1.0.0/package", nil)
	if code != 200 || !bytes.Equal(body, pkg) {
		t.Errorf("package after the restore: %d, %d bytes", code, len(body))
	}
	if ans := <-longPoll(r, secret, "", 0); ans.status != 200 || ans.id == "" {
		t.Errorf("gateway after the restore: %+v, want its deployment", ans)
	}
	noErrors(t, r)
}

// pgTool finds a PostgreSQL client program.
func pgTool(t testing.TB, name string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	p := "/usr/lib/postgresql/15/bin/" + name
	if _, err := os.Stat(p); err != nil {
		testenv.Require(t, name+" (PostgreSQL's client) not found")
	}
	return p
}
