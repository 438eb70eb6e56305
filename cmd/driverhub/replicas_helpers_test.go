package main_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/driverhub/driverhub/internal/postgres/pgtest"
	"github.com/driverhub/driverhub/internal/s3blob/s3test"
)

// The harness of the tests and benchmarks on shared storage (replicas,
// rollouts, backup and restore): `driverhub server` child processes on one
// PostgreSQL database and one S3 prefix, and calls to them.

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

// metricValue returns the value of an unlabelled metric in a Prometheus
// text exposition, "" when it is not there.
func metricValue(body, name string) string {
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(name) + ` (\S+)$`).FindStringSubmatch(body)
	if m == nil {
		return ""
	}
	return m[1]
}

// waitLongPolling waits until n gateways long-poll r (its metrics say so).
func waitLongPolling(t testing.TB, r *replica, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := getMetrics(r.url)
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if v := metricValue(string(b), "driverhub_gateway_long_polls"); v != "" {
				if got, _ := strconv.Atoi(v); got >= n {
					return
				}
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("replica %s: fewer than %d long-polls after 10 s", r.name, n)
}
