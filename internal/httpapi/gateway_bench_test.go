//go:build unix

package httpapi_test

import (
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"runtime/pprof"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/driverhub/driverhub/internal/apitest"
)

// condPollProfile, when set, receives a CPU profile of the API polls of
// BenchmarkConditionalPoll only (not of its setup nor of the baseline);
// the last run of the benchmark function overwrites the earlier ones.
var condPollProfile = flag.String("conditionalpoll.cpuprofile", "", "write a CPU profile of BenchmarkConditionalPoll's API polls to this file")

// condPollGateway is one gateway of BenchmarkConditionalPoll: its secret and
// the ETag of its current deployment.
type condPollGateway struct {
	secret, etag string
}

// BenchmarkConditionalPoll measures the throughput of conditional polls
// (GET /api/v1/gateway/desired with the current ETag in If-None-Match,
// answered 304) of many gateways through real HTTP on loopback, against a
// bare net/http handler answering 304 to the same requests, measured in the
// same run with the same client (just before and just after the API, the
// two runs averaged). It reports api-req/s, bare-req/s and
// their ratio api/bare (target ≥ 0.5).
func BenchmarkConditionalPoll(b *testing.B) {
	const gateways = 50
	s := apitest.New(b)
	gws := make([]condPollGateway, gateways)
	for k := range gws {
		name := fmt.Sprintf("poll-%02d", k)
		var inst struct {
			GatewaySecret string `json:"gateway_secret"`
		}
		s.Must(b, http.StatusCreated, "POST", "/api/v1/instances", s.AdminToken, map[string]any{"name": name}).Decode(b, &inst)
		var dep struct {
			ID string `json:"id"`
		}
		s.Must(b, http.StatusCreated, "POST", "/api/v1/instances/"+name+"/deployments", s.AdminToken, map[string]any{"type": "deploy"}).Decode(b, &dep)
		// The first fetch moves the deployment to processing, as a real
		// gateway's would; the polls measured are the conditional ones after.
		r := s.Must(b, http.StatusOK, "GET", "/api/v1/gateway/desired", inst.GatewaySecret, nil)
		etag := r.Header.Get("ETag")
		if etag != `"`+dep.ID+`"` {
			b.Fatalf("%s: ETag %q, want the deployment %q", name, etag, dep.ID)
		}
		gws[k] = condPollGateway{secret: inst.GatewaySecret, etag: etag}
	}

	// The baseline: a bare handler that checks the same headers and
	// answers the same 304.
	etags := make(map[string]string, len(gws))
	for _, g := range gws {
		etags[g.secret] = g.etag
	}
	bare := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		secret, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		etag, ok := etags[secret]
		if r.Method != http.MethodGet || r.URL.Path != "/api/v1/gateway/desired" || !ok {
			http.Error(w, "no", http.StatusUnauthorized)
			return
		}
		w.Header().Set("ETag", etag)
		w.Header().Set("Cache-Control", "no-cache")
		if r.Header.Get("If-None-Match") == etag {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	defer bare.Close()

	const parallelism = 8 // goroutines per GOMAXPROCS
	tr := &http.Transport{MaxIdleConns: 1024, MaxIdleConnsPerHost: 1024, IdleConnTimeout: time.Minute}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second}

	// get sends one conditional poll of g to base.
	get := func(base string, g *condPollGateway) error {
		req, err := http.NewRequest("GET", base+"/api/v1/gateway/desired", nil)
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+g.secret)
		req.Header.Set("If-None-Match", g.etag)
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotModified {
			return fmt.Errorf("status %d, want 304", resp.StatusCode)
		}
		return nil
	}

	// poll runs b.N conditional polls against base in parallel and
	// returns how long they took.
	var failed atomic.Bool
	var report sync.Once
	// It also returns the CPU time this process (client and server) used.
	poll := func(base string) (wall, cpu time.Duration) {
		var next atomic.Int64
		cpu0 := condPollCPU(b)
		start := time.Now()
		b.RunParallel(func(pb *testing.PB) {
			k := int(next.Add(7)) // spread the goroutines over the gateways
			for pb.Next() {
				if failed.Load() {
					continue
				}
				if err := get(base, &gws[k%len(gws)]); err != nil {
					failed.Store(true)
					report.Do(func() { b.Errorf("%s: %v", base, err) })
				}
				k++
			}
		})
		return time.Since(start), condPollCPU(b) - cpu0
	}

	// Warm both connection pools, with as many concurrent requests as the
	// measurement makes, so that neither pays for dialing.
	b.SetParallelism(parallelism)
	workers := parallelism * runtime.GOMAXPROCS(0)
	for _, base := range []string{s.URL, bare.URL} {
		var wg sync.WaitGroup
		errs := make(chan error, workers)
		for w := range workers {
			wg.Go(func() {
				for k := range 20 {
					if err := get(base, &gws[(w+k)%len(gws)]); err != nil {
						errs <- err
						return
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			b.Fatalf("warm-up %s: %v", base, err)
		}
	}

	// The baseline runs just before and just after the API, so that a
	// change of load on the machine during the run weighs on both alike.
	b.StopTimer()
	before, beforeCPU := poll(bare.URL)
	if *condPollProfile != "" {
		f, err := os.Create(*condPollProfile)
		if err != nil {
			b.Fatal(err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			b.Fatal(err)
		}
	}
	b.StartTimer()
	api, apiCPU := poll(s.URL)
	b.StopTimer()
	if *condPollProfile != "" {
		pprof.StopCPUProfile()
	}
	after, afterCPU := poll(bare.URL)
	if failed.Load() {
		return
	}
	apiRate := float64(b.N) / api.Seconds()
	bareRate := float64(2*b.N) / (before + after).Seconds()
	b.ReportMetric(apiRate, "api-req/s")
	b.ReportMetric(bareRate, "bare-req/s")
	b.ReportMetric(apiRate/bareRate, "api/bare")
	// CPU per request (client and server together) is steadier than the
	// rates when other work shares the machine.
	b.ReportMetric(float64(apiCPU.Microseconds())/float64(b.N), "api-cpu-µs/req")
	b.ReportMetric(float64((beforeCPU+afterCPU).Microseconds())/float64(2*b.N), "bare-cpu-µs/req")
}

// condPollCPU is the CPU time (user and system) this process has used.
func condPollCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
