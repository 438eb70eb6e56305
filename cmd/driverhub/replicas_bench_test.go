//go:build linux

package main_test

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkScaleOut compares, in one run, `driverhub server` on SQLite
// (one process), on PostgreSQL with one replica, and on the same
// PostgreSQL with two replicas: the throughput of conditional polls
// answered 304 (the steady state of a fleet whose desired state does not
// change), and the latency from creating a deployment to its arrival at a
// gateway long-polling (with two replicas, the deployment is created on
// one and the gateway waits on the other). Each server process gets
// GOMAXPROCS=1, one CPU as a replica on its own machine would have, so
// that the comparison says what adding a replica adds rather than how
// many cores one process can use; the load generator, PostgreSQL and the
// servers share this machine's CPUs. The scenario runs once.
//
//	eval "$(scripts/test-services.sh start /tmp/dh-services)"
//	go test -run '^$' -bench ScaleOut -benchtime 1x ./cmd/driverhub/
func BenchmarkScaleOut(b *testing.B) {
	if b.N > 1 {
		b.Skip("the scenario runs once; b.N > 1 is not meaningful")
	}
	const (
		gateways = 400
		conns    = 16
		duration = 5 * time.Second
		samples  = 100
	)
	env := []string{"GOMAXPROCS=1"}
	type result struct {
		name          string
		polls         float64
		p50, p99, max time.Duration
		cpu           string
	}
	var results []result
	for _, sc := range []struct {
		name     string
		replicas int
		pg       bool
	}{
		{"sqlite", 1, false},
		{"postgres-1", 1, true},
		{"postgres-2", 2, true},
	} {
		var database, blobs string
		if sc.pg {
			database, blobs = sharedStorage(b)
		}
		rs := make([]*replica, sc.replicas)
		for i := range rs {
			rs[i] = launchReplicaEnv(b, fmt.Sprintf("%s-%c", sc.name, 'A'+i), database, blobs, env, "--log-level", "warn")
		}
		for _, r := range rs {
			r.waitReady(b)
		}
		secrets := benchInstances(b, rs[0], gateways)

		before := cpuNow(rs)
		polls := benchPolls(b, rs, secrets, conns, duration)
		cpu := cpuNow(rs).since(before)
		lat := benchWakeups(b, rs, secrets[:samples])
		slices.Sort(lat)
		res := result{name: sc.name, polls: polls, p50: percentile(lat, 0.50), p99: percentile(lat, 0.99), max: lat[len(lat)-1], cpu: cpu}
		results = append(results, res)
		b.Logf("%-11s %d replica(s): %7.0f polls/s (304); wake-up p50 %5.1f ms, p99 %5.1f ms, max %5.1f ms; CPU while polling: %s",
			res.name, sc.replicas, res.polls, ms(res.p50), ms(res.p99), ms(res.max), res.cpu)
		noErrors(b, rs...)
		for _, r := range rs {
			r.stop(b)
		}
	}
	for _, r := range results {
		b.ReportMetric(r.polls, r.name+"-polls/s")
		b.ReportMetric(ms(r.p99), r.name+"-wake-p99-ms")
	}
	b.Logf("two replicas vs one on PostgreSQL: %.2fx the poll throughput", results[2].polls/results[1].polls)
}

// benchInstances creates n instances through r and returns their secrets.
func benchInstances(b *testing.B, r *replica, n int) []string {
	b.Helper()
	secrets := make([]string, n)
	var wg sync.WaitGroup
	next := atomic.Int64{}
	for range 8 {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				var inst struct {
					Secret string `json:"gateway_secret"`
				}
				r.mustCall(b, 201, "POST", "/api/v1/instances", map[string]any{"name": fmt.Sprintf("gw%05d", i)}, &inst)
				secrets[i] = inst.Secret
			}
		})
	}
	wg.Wait()
	return secrets
}

// benchPolls runs conditional polls (If-None-Match of the current ETag,
// no wait) for d over keep-alive connections spread over the replicas, and
// returns the 304s per second. Requests are pipelined (HTTP/1.1, a window
// of them in flight per connection) so that the load generator costs
// little CPU next to the servers it measures.
func benchPolls(b *testing.B, rs []*replica, secrets []string, conns int, d time.Duration) float64 {
	b.Helper()
	const window = 8
	var ok, bad atomic.Int64
	var firstErr atomic.Value
	run := func(span time.Duration) {
		stop := time.Now().Add(span)
		var wg sync.WaitGroup
		for c := range conns {
			wg.Go(func() {
				r := rs[c%len(rs)]
				conn, err := net.Dial("tcp", strings.TrimPrefix(r.url, "http://"))
				if err != nil {
					firstErr.CompareAndSwap(nil, err)
					return
				}
				defer conn.Close()
				br := bufio.NewReader(conn)
				host := strings.TrimPrefix(r.url, "http://")
				sent, next := 0, c
				send := func() error {
					k := next % len(secrets)
					next += conns
					sent++
					_, err := fmt.Fprintf(conn, "GET /api/v1/gateway/desired HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\nIf-None-Match: \"none\"\r\n\r\n", host, secrets[k])
					return err
				}
				for range window {
					if err := send(); err != nil {
						firstErr.CompareAndSwap(nil, err)
						return
					}
				}
				for received := 0; received < sent; received++ {
					resp, err := http.ReadResponse(br, nil)
					if err != nil {
						firstErr.CompareAndSwap(nil, err)
						return
					}
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode == http.StatusNotModified {
						ok.Add(1)
					} else {
						bad.Add(1)
					}
					if time.Now().Before(stop) {
						if err := send(); err != nil {
							firstErr.CompareAndSwap(nil, err)
							return
						}
					}
				}
			})
		}
		wg.Wait()
	}
	run(d / 5) // warm-up
	ok.Store(0)
	start := time.Now()
	run(d)
	elapsed := time.Since(start)
	if err, _ := firstErr.Load().(error); err != nil {
		b.Errorf("polls: %v", err)
	}
	if n := bad.Load(); n > 0 {
		b.Errorf("%d polls did not answer 304", n)
	}
	return float64(ok.Load()) / elapsed.Seconds()
}

// benchWakeups has each gateway long-poll the last replica and creates a
// deployment for it on the first, one at a time, and returns the delays
// from the request creating the deployment to the long-poll's answer.
func benchWakeups(b *testing.B, rs []*replica, secrets []string) []time.Duration {
	b.Helper()
	poller, deployer := rs[len(rs)-1], rs[0]
	var out []time.Duration
	for i, secret := range secrets {
		ch := longPoll(poller, secret, `"none"`, 30*time.Second)
		time.Sleep(30 * time.Millisecond) // let it reach the server and wait
		start := time.Now()
		deployer.mustCall(b, 201, "POST", fmt.Sprintf("/api/v1/instances/gw%05d/deployments", i), map[string]any{"type": "reset"}, nil)
		select {
		case ans := <-ch:
			if ans.err != nil || ans.status != http.StatusOK {
				b.Fatalf("long-poll of gateway %d: %+v", i, ans)
			}
			out = append(out, ans.at.Sub(start))
		case <-time.After(10 * time.Second):
			b.Fatalf("gateway %d not woken within 10 s", i)
		}
	}
	return out
}

// cpuSample is the CPU time (clock ticks) of the servers, of PostgreSQL's
// processes and of this process (the load generator) at an instant.
type cpuSample struct {
	at                     time.Time
	servers, pg, generator int64
}

func cpuNow(rs []*replica) cpuSample {
	c := cpuSample{at: time.Now(), generator: procTicks("self")}
	for _, r := range rs {
		c.servers += procTicks(strconv.Itoa(r.cmd.Process.Pid))
	}
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		if comm, err := os.ReadFile(d + "/comm"); err == nil && strings.TrimSpace(string(comm)) == "postgres" {
			c.pg += procTicks(filepath.Base(d))
		}
	}
	return c
}

// since describes the CPU used since an earlier sample, in CPUs busy.
func (c cpuSample) since(e cpuSample) string {
	const hz = 100 // USER_HZ
	secs := c.at.Sub(e.at).Seconds()
	f := func(t int64) float64 { return float64(t) / hz / secs }
	return fmt.Sprintf("servers %.2f, postgres %.2f, load generator %.2f CPUs", f(c.servers-e.servers), f(c.pg-e.pg), f(c.generator-e.generator))
}

// procTicks is the user+system CPU time of /proc/<pid>, 0 when unknown.
func procTicks(pid string) int64 {
	data, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(data[bytes.LastIndexByte(data, ')')+1:]))
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseInt(f[11], 10, 64)
	s, _ := strconv.ParseInt(f[12], 10, 64)
	return u + s
}
