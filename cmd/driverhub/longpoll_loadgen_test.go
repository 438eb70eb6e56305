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
	fail := func(format string, args ...any) int {
		fmt.Fprintf(os.Stderr, "loadgen: "+format+"\n", args...)
		return 2
	}
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return fail("getrlimit: %v", err)
	}
	lim.Cur = lim.Max
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return fail("setrlimit: %v", err)
	}
	base := os.Getenv(lpLoadgenURLEnv)
	data, err := os.ReadFile(os.Getenv(lpLoadgenSecretsEnv))
	if err != nil {
		return fail("%v", err)
	}
	type gw struct{ name, secret string }
	var gws []gw
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		name, secret, ok := strings.Cut(line, " ")
		if !ok {
			return fail("bad secrets line %q", line)
		}
		gws = append(gws, gw{name, secret})
	}
	if uint64(len(gws))+64 > lim.Cur {
		return fail("%d gateways need more than the %d file descriptors allowed", len(gws), lim.Cur)
	}
	maxRun := 20 * time.Minute
	if v := os.Getenv(lpLoadgenMaxRunEnv); v != "" {
		if maxRun, err = time.ParseDuration(v); err != nil {
			return fail("%s: %v", lpLoadgenMaxRunEnv, err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), maxRun)
	defer cancel()
	go func() { // the parent closes stdin (or dies): stop
		_, _ = io.Copy(io.Discard, os.Stdin)
		cancel()
	}()

	// One writer, so that lines never interleave.
	lines := make(chan string, 1024)
	wrote := make(chan struct{})
	go func() {
		defer close(wrote)
		w := bufio.NewWriter(os.Stdout)
		for l := range lines {
			w.WriteString(l + "\n")
			if len(lines) == 0 {
				w.Flush()
			}
		}
		w.Flush()
	}()
	var errCount atomic.Int64
	logErr := func(format string, args ...any) {
		if errCount.Add(1) <= 20 {
			fmt.Fprintf(os.Stderr, "loadgen: "+format+"\n", args...)
		}
	}

	// With rlReportEnv set, each gateway also reports on every desired
	// state it receives (rollout_loadgen_test.go), as an agent would.
	rep, err := lgNewReporter()
	if err != nil {
		return fail("%v", err)
	}

	// get sends one GET /api/v1/gateway/desired on the gateway's
	// connection; sent, when not nil, is called once the request is written.
	get := func(conn *lgConn, g gw, etag string, wait time.Duration, sent func()) (status int, newETag string, body []byte, err error) {
		path := "/api/v1/gateway/desired"
		if wait > 0 {
			path += "?wait=" + wait.String()
		}
		return conn.do("GET", path, g.secret, etag, nil, wait+30*time.Second, sent)
	}

	// At most rampUp gateways are between their start and the sending of
	// their long-poll, so that connections are opened in waves the
	// server's listen backlog holds.
	const rampUp = 256
	sem := make(chan struct{}, rampUp)
	var waiting atomic.Int64
	var wg sync.WaitGroup
	for _, g := range gws {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Go(func() {
			var once sync.Once
			sent := func() {
				once.Do(func() {
					<-sem
					if waiting.Add(1) == int64(len(gws)) {
						lines <- fmt.Sprintf("ready %d", len(gws))
					}
				})
			}
			defer once.Do(func() { <-sem }) // gave up before waiting
			conn, err := newLGConn(ctx, base)
			if err != nil {
				logErr("%v", err)
				return
			}
			defer conn.close()
			var etag string
			for attempt := 0; ; attempt++ {
				status, tag, body, err := get(conn, g, "", 0, nil)
				if err == nil && status == http.StatusOK {
					etag = tag
					rep.answer(ctx, conn, g.name, g.secret, body, time.Now().UnixNano(), lines, logErr)
					break
				}
				if ctx.Err() != nil {
					return
				}
				logErr("%s: first fetch: status %d, %v", g.name, status, err)
				if attempt == 4 {
					return
				}
				time.Sleep(time.Second)
			}
			for ctx.Err() == nil {
				status, tag, body, err := get(conn, g, etag, lpLoadgenWait, sent)
				now := time.Now().UnixNano()
				switch {
				case ctx.Err() != nil:
					return
				case err != nil:
					logErr("%s: long-poll: %v", g.name, err)
					time.Sleep(time.Second)
				case status == http.StatusOK && rep != nil:
					etag = tag
					rep.answer(ctx, conn, g.name, g.secret, body, now, lines, logErr)
				case status == http.StatusOK:
					etag = tag
					lines <- fmt.Sprintf("%s %d", g.name, now)
				case status == http.StatusNotModified:
				default:
					logErr("%s: long-poll: status %d", g.name, status)
					time.Sleep(time.Second)
				}
			}
		})
	}
	wg.Wait()
	close(lines)
	<-wrote
	if n := errCount.Load(); n > 0 {
		fmt.Fprintf(os.Stderr, "loadgen: %d errors in all\n", n)
	}
	return 0
}
