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
	"runtime/metrics"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/driverhub/driverhub/internal/apitest"
)

// condPollProfile, when set, receives a CPU profile of the measured
// rounds of BenchmarkConditionalPoll (bare rounds included: look at the
// API's frames), not of its setup.
var condPollProfile = flag.String("conditionalpoll.cpuprofile", "", "write a CPU profile of BenchmarkConditionalPoll's rounds to this file")

// The rounds of BenchmarkConditionalPoll: the medians of at least five
// make the figure steady on a machine other work shares.
var (
	condPollRounds   = flag.Int("conditionalpoll.rounds", 9, "interleaved rounds of BenchmarkConditionalPoll")
	condPollRequests = flag.Int("conditionalpoll.requests", 4000, "polls of each side in each round of BenchmarkConditionalPoll")
	condPollProcs    = flag.Int("conditionalpoll.procs", 1, "GOMAXPROCS during BenchmarkConditionalPoll (client and servers share them)")
)

// condPollGateway is one gateway of BenchmarkConditionalPoll: its secret and
// the ETag of its current deployment.
type condPollGateway struct {
	secret, etag string
}

// BenchmarkConditionalPoll measures the throughput of conditional polls
// (GET /api/v1/gateway/desired with the current ETag in If-None-Match,
// answered 304) of many gateways through real HTTP on loopback, against a
// bare net/http handler answering 304 to the same requests with the same
// client. After a warm-up of both, it runs interleaved rounds (bare then
// API, API then bare, …) of the same number of polls each, with GOMAXPROCS
// pinned, and reports the medians over the rounds: api-req/s, bare-req/s,
// their ratio api/bare (target ≥ 0.8), and CPU time per poll (client and
// server together) of each. api/bare-cpu is the ratio of the CPU times
// (bare over API): the throughput ratio of a machine given to the test
// alone, steady when other work takes a varying share of the machine,
// which moves the wall-clock rates of a round. The scenario runs once
// whatever b.N.
func BenchmarkConditionalPoll(b *testing.B) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(*condPollProcs))
	s := apitest.New(b)
	gws := condPollGateways(b, s, 50)
	bare := condPollBare(gws)
	defer bare.Close()

	workers := 8 * runtime.GOMAXPROCS(0)
	tr := &http.Transport{MaxIdleConns: 1024, MaxIdleConnsPerHost: 1024, IdleConnTimeout: time.Minute}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	allocs := []metrics.Sample{{Name: "/gc/heap/allocs:objects"}}
	var apiAllocs, bareAllocs []float64
	poll := func(base string, n int) (rate, cpuPerReq float64) {
		metrics.Read(allocs)
		before := allocs[0].Value.Uint64()
		wall, cpu, err := condPollRound(client, base, gws, workers, n)
		if err != nil {
			b.Fatalf("%s: %v", base, err)
		}
		metrics.Read(allocs)
		perReq := float64(allocs[0].Value.Uint64()-before) / float64(n)
		if base == s.URL {
			apiAllocs = append(apiAllocs, perReq)
		} else {
			bareAllocs = append(bareAllocs, perReq)
		}
		return float64(n) / wall.Seconds(), float64(cpu.Microseconds()) / float64(n)
	}
	// Warm-up: both pools full, both servers' code and buffers hot.
	for range 2 {
		poll(bare.URL, *condPollRequests/2)
		poll(s.URL, *condPollRequests/2)
	}
	if *condPollProfile != "" {
		f, err := os.Create(*condPollProfile)
		if err != nil {
			b.Fatal(err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			b.Fatal(err)
		}
		defer pprof.StopCPUProfile()
	}
	var apiRates, bareRates, ratios, cpuRatios, apiCPU, bareCPU []float64
	b.ResetTimer()
	for round := range max(*condPollRounds, 5) {
		var a, ac, r, rc float64
		if round%2 == 0 {
			r, rc = poll(bare.URL, *condPollRequests)
			a, ac = poll(s.URL, *condPollRequests)
		} else {
			a, ac = poll(s.URL, *condPollRequests)
			r, rc = poll(bare.URL, *condPollRequests)
		}
		apiRates, bareRates, ratios = append(apiRates, a), append(bareRates, r), append(ratios, a/r)
		apiCPU, bareCPU, cpuRatios = append(apiCPU, ac), append(bareCPU, rc), append(cpuRatios, rc/ac)
	}
	b.StopTimer()
	b.Logf("%d rounds of %d polls, GOMAXPROCS %d; api/bare by round: %.2f; by CPU time: %.2f",
		len(ratios), *condPollRequests, runtime.GOMAXPROCS(0), ratios, cpuRatios)
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(medianOf(apiRates), "api-req/s")
	b.ReportMetric(medianOf(bareRates), "bare-req/s")
	b.ReportMetric(medianOf(ratios), "api/bare")
	b.ReportMetric(medianOf(cpuRatios), "api/bare-cpu")
	b.ReportMetric(medianOf(apiCPU), "api-cpu-µs/req")
	b.ReportMetric(medianOf(bareCPU), "bare-cpu-µs/req")
	b.ReportMetric(medianOf(apiAllocs), "api-allocs/req")
	b.ReportMetric(medianOf(bareAllocs), "bare-allocs/req")
}

// condPollGateways makes n instances, each with a deployment its gateway
// has fetched once, as a real gateway would have (the fetch moves the
// deployment to processing); the polls measured are the conditional ones
// after.
func condPollGateways(b *testing.B, s *apitest.Server, n int) []condPollGateway {
	gws := make([]condPollGateway, n)
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
		r := s.Must(b, http.StatusOK, "GET", "/api/v1/gateway/desired", inst.GatewaySecret, nil)
		etag := r.Header.Get("ETag")
		if etag != `"`+dep.ID+`"` {
			b.Fatalf("%s: ETag %q, want the deployment %q", name, etag, dep.ID)
		}
		gws[k] = condPollGateway{secret: inst.GatewaySecret, etag: etag}
	}
	return gws
}

// condPollBare is the baseline: a bare handler that checks the same
// headers and answers the same 304.
func condPollBare(gws []condPollGateway) *httptest.Server {
	etags := make(map[string]string, len(gws))
	for _, g := range gws {
		etags[g.secret] = g.etag
	}
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
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
}

// condPollRound sends n conditional polls to base from workers goroutines,
// spread over the gateways, and returns how long they took and the CPU
// time this process (client and server) used meanwhile.
func condPollRound(client *http.Client, base string, gws []condPollGateway, workers, n int) (wall, cpu time.Duration, err error) {
	var next atomic.Int64
	var failed atomic.Pointer[error]
	cpu0, start := condPollCPU(), time.Now()
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for k := next.Add(1); k <= int64(n) && failed.Load() == nil; k = next.Add(1) {
				if err := condPollGet(client, base, &gws[int(k*7)%len(gws)]); err != nil {
					failed.CompareAndSwap(nil, &err)
				}
			}
		})
	}
	wg.Wait()
	if e := failed.Load(); e != nil {
		return 0, 0, *e
	}
	return time.Since(start), condPollCPU() - cpu0, nil
}

// condPollGet sends one conditional poll of g to base.
func condPollGet(client *http.Client, base string, g *condPollGateway) error {
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

func medianOf(v []float64) float64 {
	v = slices.Clone(v)
	slices.Sort(v)
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}

// condPollCPU is the CPU time (user and system) this process has used.
func condPollCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		panic(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
