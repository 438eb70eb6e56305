//go:build linux

package main_test

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var lpFlagN = flag.Int("longpoll.n", 0, "gateways of BenchmarkLongPoll10k (default 10000, or env DRIVERHUB_LONGPOLL_N)")

// lpGatewayCount is how many gateways BenchmarkLongPoll10k runs.
func lpGatewayCount(b *testing.B) int {
	if *lpFlagN > 0 {
		return *lpFlagN
	}
	if v := os.Getenv("DRIVERHUB_LONGPOLL_N"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			b.Fatalf("DRIVERHUB_LONGPOLL_N=%q: want a positive count", v)
		}
		return n
	}
	return 10000
}

// BenchmarkLongPoll10k runs `driverhub server` with N gateways (10,000 by
// default; 19,000 is the most a 20,000-descriptor limit allows) long-polling
// it from a load generator process, and reports the server's memory per
// waiting gateway (target < 32 KiB) and the latency
// from the creation of a deployment to its arrival at the gateway, over a
// sample of 200 gateways deployed to one at a time (target p99 < 100 ms).
// The whole scenario runs once.
func BenchmarkLongPoll10k(b *testing.B) {
	if b.N > 1 {
		b.Skip("the scenario runs once; b.N > 1 is not meaningful")
	}
	n := lpGatewayCount(b)
	const samples = 200
	dir := b.TempDir()
	s := startServer(b, filepath.Join(dir, "data"))
	pid := s.cmd.Process.Pid
	api := &lpAPI{base: s.url, client: &http.Client{Timeout: time.Minute,
		Transport: &http.Transport{MaxIdleConnsPerHost: 16}}}
	defer api.client.CloseIdleConnections()

	gws, secretsFile := lpCreateGateways(b, api, n, dir)
	lpWaitQuiet(b, pid, 30*time.Second)
	idleRSS := lpProcRSS(b, pid)
	idleFDs := lpProcFDs(pid)

	// The load generator: this test binary again, in its own process.
	lg := lpStartLoadgen(b, s.url, secretsFile, filepath.Join(dir, "loadgen.stderr"))
	lpAwaitWaiting(b, lg, pid, n)
	waitingRSS := lpProcRSS(b, pid)
	waitingFDs := lpProcFDs(pid)
	perGateway := float64(waitingRSS-idleRSS) / float64(n)
	b.Logf("server RSS idle %.1f MiB (%d fds), with %d waiting gateways %.1f MiB (%d fds): %.1f KiB per waiting gateway",
		mib(idleRSS), idleFDs, n, mib(waitingRSS), waitingFDs, perGateway/1024)
	if waitingFDs >= 0 && waitingFDs < n {
		b.Errorf("the server holds %d file descriptors with %d gateways waiting: not every long-poll reached it", waitingFDs, n)
	}

	lat := lpSampleLatencies(b, api, lg, gws, n, samples)
	slices.Sort(lat)
	p50, p99, worst := percentile(lat, 0.50), percentile(lat, 0.99), lat[len(lat)-1]
	b.Logf("deployment to gateway over %d deployments: p50 %s, p99 %s, max %s",
		len(lat), p50.Round(10*time.Microsecond), p99.Round(10*time.Microsecond), worst.Round(10*time.Microsecond))

	lg.stop()
	s.kill()
	if strings.Contains(s.logs.String(), "too many open files") {
		b.Errorf("the server ran out of file descriptors:\n%s", lpTail(s.logs.String(), 2000))
	}
	if errs := lg.stderr(); errs != "" {
		b.Logf("load generator errors:\n%s", errs)
	}
	b.ReportMetric(perGateway/1024, "KiB/waiting-gw")
	b.ReportMetric(mib(idleRSS), "idle-RSS-MiB")
	b.ReportMetric(mib(waitingRSS), "waiting-RSS-MiB")
	b.ReportMetric(ms(p50), "p50-ms")
	b.ReportMetric(ms(p99), "p99-ms")
	b.ReportMetric(ms(worst), "max-ms")
}

// lpCreateGateways creates n instances, with bounded concurrency, and
// writes their secrets to a file in dir for the load generator; it
// returns the gateways and the file.
func lpCreateGateways(b *testing.B, api *lpAPI, n int, dir string) ([]lpGateway, string) {
	start := time.Now()
	gws, err := api.createInstances(n, 8, 10*time.Minute)
	if err != nil {
		b.Fatalf("create instances: %v", err)
	}
	var secrets bytes.Buffer
	for _, g := range gws {
		fmt.Fprintf(&secrets, "%s %s\n", g.name, g.secret)
	}
	secretsFile := filepath.Join(dir, "secrets")
	if err := os.WriteFile(secretsFile, secrets.Bytes(), 0o600); err != nil {
		b.Fatal(err)
	}
	b.Logf("created %d instances in %s", n, time.Since(start).Round(time.Millisecond))
	return gws, secretsFile
}

// lpAwaitWaiting waits until every gateway of the load generator has sent
// its long-poll and the server is idle again.
func lpAwaitWaiting(b *testing.B, lg *lpLoadgen, pid, n int) {
	start := time.Now()
	select {
	case <-lg.ready:
	case <-lg.exited:
		b.Fatalf("the load generator exited before all gateways waited:\n%s", lg.stderr())
	case <-time.After(10 * time.Minute):
		b.Fatalf("not all %d gateways were waiting after 10 minutes:\n%s", n, lg.stderr())
	}
	// Every long-poll is sent; the server waits on them all once it has
	// handled them, which leaves it idle.
	lpWaitQuiet(b, pid, time.Minute)
	b.Logf("%d gateways long-polling after %s", n, time.Since(start).Round(time.Millisecond))
}

// lpSampleLatencies deploys to a sample of the n gateways, one at a time,
// and returns the latencies: each from just before the POST to the
// gateway's receiving the answer.
func lpSampleLatencies(b *testing.B, api *lpAPI, lg *lpLoadgen, gws []lpGateway, n, samples int) []time.Duration {
	var lat []time.Duration
	for _, k := range rand.Perm(n)[:min(samples, n)] {
		name := gws[k].name
		created := time.Now()
		if err := api.deploy(name); err != nil {
			b.Fatalf("deploy %s: %v", name, err)
		}
		received, err := lg.awaitAnswer(name, 10*time.Second)
		if err != nil {
			b.Fatalf("%v\n%s", err, lg.stderr())
		}
		lat = append(lat, received.Sub(created))
	}
	return lat
}

func lpTail(s string, n int) string       { return s[max(0, len(s)-n):] }
func lpProcPath(pid int, f string) string { return fmt.Sprintf("/proc/%d/%s", pid, f) }

// lpProcRSS is the resident set size of a process, from VmRSS.
func lpProcRSS(b *testing.B, pid int) int64 { return lpProcStatus(b, pid, "VmRSS") }

// lpProcStatus is a size from a process's status file, in bytes: VmRSS
// (resident now) or VmHWM (the most it has been resident).
func lpProcStatus(b *testing.B, pid int, field string) int64 {
	b.Helper()
	data, err := os.ReadFile(lpProcPath(pid, "status"))
	if err != nil {
		b.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				b.Fatalf("%s %q: %v", field, v, err)
			}
			return kb << 10
		}
	}
	b.Fatalf("no %s in %s", field, lpProcPath(pid, "status"))
	return 0
}

// lpProcFDs counts a process's open file descriptors (-1 when unknown).
func lpProcFDs(pid int) int {
	fds, err := os.ReadDir(lpProcPath(pid, "fd"))
	if err != nil {
		return -1
	}
	return len(fds)
}

// lpProcCPU is the CPU time a process used, in clock ticks.
func lpProcCPU(b *testing.B, pid int) int64 {
	b.Helper()
	data, err := os.ReadFile(lpProcPath(pid, "stat"))
	if err != nil {
		b.Fatal(err)
	}
	// The fields after the command, which is in parentheses: state is the
	// first, utime the 12th, stime the 13th.
	f := strings.Fields(string(data[bytes.LastIndexByte(data, ')')+1:]))
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	return utime + stime
}

// lpWaitQuiet waits, up to limit, until the process uses (almost) no CPU
// for a second: it has handled everything it was sent.
func lpWaitQuiet(b *testing.B, pid int, limit time.Duration) {
	b.Helper()
	deadline := time.Now().Add(limit)
	quiet := 0
	for last := lpProcCPU(b, pid); quiet < 2; {
		if time.Now().After(deadline) {
			b.Logf("the server was still busy after %s", limit)
			return
		}
		time.Sleep(500 * time.Millisecond)
		now := lpProcCPU(b, pid)
		if now-last <= 2 { // ≤ 20 ms of CPU in 500 ms at 100 ticks/s
			quiet++
		} else {
			quiet = 0
		}
		last = now
	}
}

// lpAPI calls the server's REST API as its admin, from any goroutine.
type lpAPI struct {
	base   string
	client *http.Client
}

type lpGateway struct{ name, secret string }

func (a *lpAPI) post(path, body string) (int, []byte, error) {
	req, err := http.NewRequest("POST", a.base+path, strings.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+adminToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := a.client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	return resp.StatusCode, data, err
}

// createInstances creates n instances lp-00000… with workers concurrent
// requests and returns their gateway secrets.
func (a *lpAPI) createInstances(n, workers int, limit time.Duration) ([]lpGateway, error) {
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	gws := make([]lpGateway, n)
	next := make(chan int)
	errc := make(chan error, workers)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for k := range next {
				name := fmt.Sprintf("lp-%05d", k)
				code, body, err := a.post("/api/v1/instances", `{"name":"`+name+`"}`)
				if err == nil && code != http.StatusCreated {
					err = fmt.Errorf("status %d: %s", code, body)
				}
				var secret string
				if err == nil {
					// The secret is the only field of the answer we need.
					_, rest, ok := bytes.Cut(body, []byte(`"gateway_secret":"`))
					secret, _, _ = strings.Cut(string(rest), `"`)
					if !ok || secret == "" {
						err = fmt.Errorf("no gateway_secret in %s", body)
					}
				}
				if err != nil {
					errc <- fmt.Errorf("%s: %w", name, err)
					cancel()
					return
				}
				gws[k] = lpGateway{name: name, secret: secret}
			}
		})
	}
feed:
	for k := range n {
		select {
		case next <- k:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	close(errc)
	if err := <-errc; err != nil { // the first error; nil when none
		return nil, err
	}
	return gws, ctx.Err()
}

func (a *lpAPI) deploy(instance string) error {
	code, body, err := a.post("/api/v1/instances/"+instance+"/deployments", `{"type":"deploy"}`)
	if err == nil && code != http.StatusCreated {
		err = fmt.Errorf("status %d: %s", code, body)
	}
	return err
}

// lpLoadgen is the load generator child process.
type lpLoadgen struct {
	cmd        *exec.Cmd
	stdin      io.Closer
	errPath    string
	ready      chan struct{} // closed at "ready"
	answers    chan lpAnswer
	exited     chan struct{} // closed when its stdout ends
	done       chan struct{} // closed by stop
	stopOnce   sync.Once
	readerDone chan struct{}
}

type lpAnswer struct {
	name     string
	received time.Time
}

func lpStartLoadgen(b *testing.B, url, secretsFile, errPath string) *lpLoadgen {
	b.Helper()
	errFile, err := os.Create(errPath)
	if err != nil {
		b.Fatal(err)
	}
	defer errFile.Close()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), lpLoadgenEnv+"=1", lpLoadgenURLEnv+"="+url, lpLoadgenSecretsEnv+"="+secretsFile,
		lpLoadgenMaxRunEnv+"=20m")
	cmd.Stderr = errFile
	// Dies with this process, whatever happens to it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	lg := &lpLoadgen{cmd: cmd, stdin: stdin, errPath: errPath, ready: make(chan struct{}), answers: make(chan lpAnswer, 1024),
		exited: make(chan struct{}), done: make(chan struct{}), readerDone: make(chan struct{})}
	b.Cleanup(lg.stop)
	go func() {
		defer close(lg.readerDone)
		defer close(lg.exited)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			line := sc.Text()
			if strings.HasPrefix(line, "ready ") {
				close(lg.ready)
				continue
			}
			name, nanos, _ := strings.Cut(line, " ")
			ns, err := strconv.ParseInt(nanos, 10, 64)
			if err != nil {
				continue
			}
			select {
			case lg.answers <- lpAnswer{name, time.Unix(0, ns)}:
			case <-lg.done:
				return
			}
		}
	}()
	return lg
}

// awaitAnswer waits, up to limit, for the gateway of instance to receive a
// new desired state, and returns when it did.
func (lg *lpLoadgen) awaitAnswer(instance string, limit time.Duration) (time.Time, error) {
	timeout := time.After(limit)
	for {
		select {
		case a := <-lg.answers:
			if a.name == instance {
				return a.received, nil
			}
		case <-lg.exited:
			return time.Time{}, fmt.Errorf("the load generator exited before %s received its deployment", instance)
		case <-timeout:
			return time.Time{}, fmt.Errorf("%s did not receive its deployment within %s", instance, limit)
		}
	}
}

// stop kills the load generator and waits for it; it may be called again.
func (lg *lpLoadgen) stop() {
	lg.stopOnce.Do(func() {
		close(lg.done)
		lg.stdin.Close()
		_ = lg.cmd.Process.Signal(syscall.SIGKILL)
		select {
		case <-lg.readerDone:
		case <-time.After(10 * time.Second):
		}
		_ = lg.cmd.Wait()
	})
}

// stderr is what the load generator wrote to stderr, at most its last 4 KiB.
func (lg *lpLoadgen) stderr() string {
	data, _ := os.ReadFile(lg.errPath)
	return lpTail(string(data), 4096)
}
