//go:build linux

package main_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// The load generator of BenchmarkLongPoll10k runs in a separate process:
// the benchmark re-executes this test binary with lpLoadgenEnv set, and
// init runs the load generator and exits before TestMain builds anything.
const (
	lpLoadgenEnv        = "DRIVERHUB_LONGPOLL_LOADGEN" // "1" makes the binary a load generator
	lpLoadgenURLEnv     = "DRIVERHUB_LONGPOLL_URL"     // the server's base URL
	lpLoadgenSecretsEnv = "DRIVERHUB_LONGPOLL_SECRETS" // a file of "<instance name> <gateway secret>" lines
	lpLoadgenMaxRunEnv  = "DRIVERHUB_LONGPOLL_MAXRUN"  // how long it may run at most (default 20m)
)

// lpLoadgenWait is the long-poll the gateways ask for.
const lpLoadgenWait = 120 * time.Second

func init() {
	if os.Getenv(lpLoadgenEnv) != "1" {
		return
	}
	os.Exit(lpRunLoadgen())
}

// lpRunLoadgen opens one long-poll per gateway of the secrets file, says
// "ready <n>" on stdout once every gateway's long-poll has been sent, and
// then prints "<instance name> <unix nanos received>" for every new
// desired state (200) a gateway receives, and polls again. It stops when
// its stdin is closed or after its maximum run time. Errors go to stderr.
func lpRunLoadgen() int {
	lim, err := lpRaiseFDLimit()
	if err != nil {
		return lpLoadgenFail("%v", err)
	}
	base := os.Getenv(lpLoadgenURLEnv)
	gws, err := lpReadSecrets(os.Getenv(lpLoadgenSecretsEnv))
	if err != nil {
		return lpLoadgenFail("%v", err)
	}
	if uint64(len(gws))+64 > lim.Cur {
		return lpLoadgenFail("%d gateways need more than the %d file descriptors allowed", len(gws), lim.Cur)
	}
	maxRun := 20 * time.Minute
	if v := os.Getenv(lpLoadgenMaxRunEnv); v != "" {
		if maxRun, err = time.ParseDuration(v); err != nil {
			return lpLoadgenFail("%s: %v", lpLoadgenMaxRunEnv, err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), maxRun)
	defer cancel()
	go func() { // the parent closes stdin (or dies): stop
		_, _ = io.Copy(io.Discard, os.Stdin)
		cancel()
	}()

	run := &lpLoadgenRun{ctx: ctx, base: base, gws: gws, lines: make(chan string, 1024),
		sem: make(chan struct{}, lpLoadgenRampUp)}
	wrote := run.startWriter()

	// With rlReportEnv set, each gateway also reports on every desired
	// state it receives (rollout_loadgen_test.go), as an agent would.
	if run.rep, err = lgNewReporter(); err != nil {
		return lpLoadgenFail("%v", err)
	}
	run.gateways()
	close(run.lines)
	<-wrote
	if n := run.errCount.Load(); n > 0 {
		fmt.Fprintf(os.Stderr, "loadgen: %d errors in all\n", n)
	}
	return 0
}

// lpLoadgenFail says why the load generator cannot run; it returns the
// exit code.
func lpLoadgenFail(format string, args ...any) int {
	fmt.Fprintf(os.Stderr, "loadgen: "+format+"\n", args...)
	return 2
}

// lpRaiseFDLimit raises the soft limit of open files to the hard one:
// every gateway holds a connection.
func lpRaiseFDLimit() (syscall.Rlimit, error) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return lim, fmt.Errorf("getrlimit: %v", err)
	}
	lim.Cur = lim.Max
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return lim, fmt.Errorf("setrlimit: %v", err)
	}
	return lim, nil
}

// lpReadSecrets reads the gateways of the secrets file.
func lpReadSecrets(path string) ([]lpGateway, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var gws []lpGateway
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		name, secret, ok := strings.Cut(line, " ")
		if !ok {
			return nil, fmt.Errorf("bad secrets line %q", line)
		}
		gws = append(gws, lpGateway{name, secret})
	}
	return gws, nil
}

// lpLoadgenRampUp is how many gateways at most are between their start and
// the sending of their long-poll, so that connections are opened in waves
// the server's listen backlog holds.
const lpLoadgenRampUp = 256

// lpLoadgenRun is what the gateways of one load generator run share.
type lpLoadgenRun struct {
	ctx      context.Context
	base     string
	gws      []lpGateway
	rep      *lgReporter   // nil when the gateways only poll
	lines    chan string   // to stdout, through startWriter's one writer
	sem      chan struct{} // a place among the gateways starting at once
	waiting  atomic.Int64
	errCount atomic.Int64
}

// startWriter starts the one writer of lines to stdout, so that lines
// never interleave; the returned channel is closed once lines is closed
// and all is written.
func (r *lpLoadgenRun) startWriter() <-chan struct{} {
	wrote := make(chan struct{})
	go func() {
		defer close(wrote)
		w := bufio.NewWriter(os.Stdout)
		for l := range r.lines {
			w.WriteString(l + "\n")
			if len(r.lines) == 0 {
				w.Flush()
			}
		}
		w.Flush()
	}()
	return wrote
}

// logErr writes the first 20 errors to stderr and counts them all.
func (r *lpLoadgenRun) logErr(format string, args ...any) {
	if r.errCount.Add(1) <= 20 {
		fmt.Fprintf(os.Stderr, "loadgen: "+format+"\n", args...)
	}
}

// gateways runs every gateway, at most lpLoadgenRampUp of them starting at
// once, until the run ends.
func (r *lpLoadgenRun) gateways() {
	var wg sync.WaitGroup
	for _, g := range r.gws {
		select {
		case r.sem <- struct{}{}:
		case <-r.ctx.Done():
		}
		if r.ctx.Err() != nil {
			break
		}
		wg.Go(func() { r.gateway(g) })
	}
	wg.Wait()
}

// gateway fetches g's desired state, then long-polls for new ones until
// the run ends. Its place among the starting gateways is freed once its
// first long-poll is sent.
func (r *lpLoadgenRun) gateway(g lpGateway) {
	var once sync.Once
	sent := func() {
		once.Do(func() {
			<-r.sem
			if r.waiting.Add(1) == int64(len(r.gws)) {
				r.lines <- fmt.Sprintf("ready %d", len(r.gws))
			}
		})
	}
	defer once.Do(func() { <-r.sem }) // gave up before waiting
	conn, err := newLGConn(r.ctx, r.base)
	if err != nil {
		r.logErr("%v", err)
		return
	}
	defer conn.close()
	etag, ok := r.firstFetch(conn, g)
	if !ok {
		return
	}
	r.longPoll(conn, g, etag, sent)
}

// firstFetch fetches g's desired state, in up to 5 attempts a second
// apart, and returns its ETag; false when it gave up or the run ended.
func (r *lpLoadgenRun) firstFetch(conn *lgConn, g lpGateway) (string, bool) {
	for attempt := 0; ; attempt++ {
		status, tag, body, err := lpGetDesired(conn, g, "", 0, nil)
		if err == nil && status == http.StatusOK {
			r.rep.answer(r.ctx, conn, g.name, g.secret, body, time.Now().UnixNano(), r.lines, r.logErr)
			return tag, true
		}
		if r.ctx.Err() != nil {
			return "", false
		}
		r.logErr("%s: first fetch: status %d, %v", g.name, status, err)
		if attempt == 4 {
			return "", false
		}
		time.Sleep(time.Second)
	}
}

// longPoll long-polls for g's new desired states until the run ends, and
// prints (or, with a reporter, reports on) each one received.
func (r *lpLoadgenRun) longPoll(conn *lgConn, g lpGateway, etag string, sent func()) {
	for r.ctx.Err() == nil {
		status, tag, body, err := lpGetDesired(conn, g, etag, lpLoadgenWait, sent)
		now := time.Now().UnixNano()
		switch {
		case r.ctx.Err() != nil:
			return
		case err != nil:
			r.logErr("%s: long-poll: %v", g.name, err)
			time.Sleep(time.Second)
		case status == http.StatusOK && r.rep != nil:
			etag = tag
			r.rep.answer(r.ctx, conn, g.name, g.secret, body, now, r.lines, r.logErr)
		case status == http.StatusOK:
			etag = tag
			r.lines <- fmt.Sprintf("%s %d", g.name, now)
		case status == http.StatusNotModified:
		default:
			r.logErr("%s: long-poll: status %d", g.name, status)
			time.Sleep(time.Second)
		}
	}
}

// lpGetDesired sends one GET /api/v1/gateway/desired on the gateway's
// connection; sent, when not nil, is called once the request is written.
func lpGetDesired(conn *lgConn, g lpGateway, etag string, wait time.Duration, sent func()) (status int, newETag string, body []byte, err error) {
	path := "/api/v1/gateway/desired"
	if wait > 0 {
		path += "?wait=" + wait.String()
	}
	return conn.do("GET", path, g.secret, etag, nil, wait+30*time.Second, sent)
}
