//go:build linux

package main_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The long-poll load generator (longpoll_loadgen_test.go) reports, with
// rlReportEnv set, on every desired state a gateway receives, as an agent
// does once it applied it: succeeded, or failed when the gateway is one of
// rlFailEnv's and the state holds the failing version. It prints
//
//	D <instance> <unix nanos received> <deployment id>
//	R <instance> <unix nanos the report was sent> <status> <deployment id>
//
// for each desired state and each report answered 204.
const (
	rlReportEnv = "DRIVERHUB_LONGPOLL_REPORT"       // "1": report on every desired state
	rlFailEnv   = "DRIVERHUB_LONGPOLL_FAIL"         // "<version> <file of instance names>"
	rlDelayEnv  = "DRIVERHUB_LONGPOLL_REPORT_DELAY" // how long a gateway takes to apply a state (default 0)
)

type lgReporter struct {
	failVersion string
	failing     map[string]bool
	delay       time.Duration
}

// lgNewReporter reads the environment: nil when the gateways only poll.
func lgNewReporter() (*lgReporter, error) {
	if os.Getenv(rlReportEnv) != "1" {
		return nil, nil
	}
	r := &lgReporter{failing: map[string]bool{}}
	if v := os.Getenv(rlDelayEnv); v != "" {
		var err error
		if r.delay, err = time.ParseDuration(v); err != nil {
			return nil, fmt.Errorf("%s: %v", rlDelayEnv, err)
		}
	}
	if v := os.Getenv(rlFailEnv); v != "" {
		version, file, ok := strings.Cut(v, " ")
		data, err := os.ReadFile(file)
		if !ok || err != nil {
			return nil, fmt.Errorf("%s=%q: want \"<version> <file>\": %v", rlFailEnv, v, err)
		}
		r.failVersion = version
		for _, name := range strings.Fields(string(data)) {
			r.failing[name] = true
		}
	}
	return r, nil
}

// answer prints the desired state received and reports on it; a report
// that cannot be delivered (the server is down) is tried again every half
// second, as an agent does.
func (r *lgReporter) answer(ctx context.Context, conn *lgConn, name, secret string, body []byte, received int64, lines chan<- string, logErr func(string, ...any)) {
	if r == nil {
		return
	}
	var m struct {
		ID      string `json:"deployment_id"`
		Drivers []struct {
			Version string `json:"version"`
		} `json:"drivers"`
	}
	if err := json.Unmarshal(body, &m); err != nil {
		logErr("%s: desired state: %v", name, err)
		return
	}
	lines <- fmt.Sprintf("D %s %d %s", name, received, m.ID)
	if m.ID == "" {
		return
	}
	status := "succeeded"
	for _, d := range m.Drivers {
		if r.failing[name] && d.Version == r.failVersion {
			status = "failed"
		}
	}
	report, _ := json.Marshal(map[string]any{"deployment": map[string]any{"id": m.ID, "status": status}})
	select {
	case <-time.After(r.delay):
	case <-ctx.Done():
	}
	for ctx.Err() == nil {
		sent := time.Now().UnixNano()
		code, _, _, err := conn.do("POST", "/api/v1/gateway/report", secret, "", report, time.Minute, nil)
		switch {
		case err == nil && code == http.StatusNoContent:
			lines <- fmt.Sprintf("R %s %d %s %s", name, sent, status, m.ID)
			return
		case err == nil && code < 500 && code != http.StatusTooManyRequests:
			logErr("%s: report: status %d", name, code)
			return
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// rlEvent is one line of a reporting load generator.
type rlEvent struct {
	kind       byte // 'D' received, 'R' reported
	name       string
	at         time.Time
	status, id string
}

// rlFleet is a reporting load generator and what it said.
type rlFleet struct {
	cmd     *exec.Cmd
	stdin   interface{ Close() error }
	errPath string
	ready   chan struct{}
	done    chan struct{}
	mu      sync.Mutex
	events  []rlEvent
}

// rlStartFleet starts the load generator over the gateways of secretsFile
// against url, reporting; fail is "" or "<version> <file>"; env adds to
// its environment (rlDelayEnv=…).
func rlStartFleet(t testing.TB, url, secretsFile, fail, errPath string, env ...string) *rlFleet {
	t.Helper()
	errFile, err := os.Create(errPath)
	if err != nil {
		t.Fatal(err)
	}
	defer errFile.Close()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), lpLoadgenEnv+"=1", lpLoadgenURLEnv+"="+url, lpLoadgenSecretsEnv+"="+secretsFile,
		lpLoadgenMaxRunEnv+"=30m", rlReportEnv+"=1", rlFailEnv+"="+fail)
	cmd.Env = append(cmd.Env, env...)
	cmd.Stderr = errFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	f := &rlFleet{cmd: cmd, stdin: stdin, errPath: errPath, ready: make(chan struct{}), done: make(chan struct{})}
	t.Cleanup(f.stop)
	go func() {
		defer close(f.done)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			fields := strings.Fields(sc.Text())
			if len(fields) == 2 && fields[0] == "ready" {
				close(f.ready)
				continue
			}
			if len(fields) < 4 {
				continue
			}
			ns, _ := strconv.ParseInt(fields[2], 10, 64)
			e := rlEvent{kind: fields[0][0], name: fields[1], at: time.Unix(0, ns), id: fields[len(fields)-1]}
			if e.kind == 'R' {
				e.status = fields[3]
			}
			f.mu.Lock()
			f.events = append(f.events, e)
			f.mu.Unlock()
		}
	}()
	return f
}

// awaitReady waits until every gateway long-polls.
func (f *rlFleet) awaitReady(t testing.TB, limit time.Duration) {
	t.Helper()
	select {
	case <-f.ready:
	case <-f.done:
		t.Fatalf("the load generator exited before its gateways waited:\n%s", f.stderr())
	case <-time.After(limit):
		t.Fatalf("the gateways were not all waiting after %s:\n%s", limit, f.stderr())
	}
}

// snapshot returns the lines so far.
func (f *rlFleet) snapshot() []rlEvent {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]rlEvent(nil), f.events...)
}

// awaitReported waits until the lines read say that n gateways reported,
// and returns them: the server may count a report before the generator's
// lines about it (its "D" line too) reach the test.
func (f *rlFleet) awaitReported(t testing.TB, n int, limit time.Duration) []rlEvent {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		events := f.snapshot()
		reported := map[string]bool{}
		for _, e := range events {
			if e.kind == 'R' {
				reported[e.name] = true
			}
		}
		if len(reported) >= n {
			return events
		}
		if time.Now().After(deadline) {
			t.Fatalf("the load generator printed the reports of %d gateways in %s, want %d:\n%s", len(reported), limit, n, f.stderr())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (f *rlFleet) stop() {
	f.stdin.Close()
	_ = f.cmd.Process.Signal(syscall.SIGKILL)
	_ = f.cmd.Wait()
}

func (f *rlFleet) stderr() string {
	data, _ := os.ReadFile(f.errPath)
	return lpTail(string(data), 4096)
}
