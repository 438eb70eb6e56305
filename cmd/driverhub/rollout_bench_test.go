//go:build linux

package main_test

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

var (
	rlFlagN     = flag.Int("rollout.n", 0, "gateways of BenchmarkRollout10k (default 10000, or env DRIVERHUB_ROLLOUT_N)")
	rlFlagWaves = flag.String("rollout.waves", "", "waves of BenchmarkRollout10k, cumulative percentages (default 1,10,50,100, or env DRIVERHUB_ROLLOUT_WAVES)")
)

func rlGatewayCount(b *testing.B) int {
	if *rlFlagN > 0 {
		return *rlFlagN
	}
	if v := os.Getenv("DRIVERHUB_ROLLOUT_N"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			b.Fatalf("DRIVERHUB_ROLLOUT_N=%q: want a positive count", v)
		}
		return n
	}
	return 10000
}

// rlWavePlan returns the benchmark's waves: 1, 10, 50 and 100% (a canary
// first, then a wave of half the fleet), or those of -rollout.waves.
func rlWavePlan(b *testing.B) []int {
	v := *rlFlagWaves
	if v == "" {
		v = os.Getenv("DRIVERHUB_ROLLOUT_WAVES")
	}
	if v == "" {
		return []int{1, 10, 50, 100}
	}
	var waves []int
	for _, f := range strings.Split(v, ",") {
		p, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil {
			b.Fatalf("rollout.waves %q: want cumulative percentages such as 25,50,75,100", v)
		}
		waves = append(waves, p)
	}
	return waves
}

// BenchmarkRollout10k runs `driverhub server` (SQLite) with N gateways
// (10,000 by default) long-polling it from a load generator process, each
// reporting success as soon as it receives a deployment, and rolls a
// driver version out to all of them in four waves (1, 10, 50, 100%;
// -rollout.waves sets others). It
// reports the time from creation to succeeded (the server's own event
// times), the server's CPU seconds per target (from /proc/<pid>/stat),
// the most memory it held (VmHWM, fleet creation included) and the load
// generator's CPU seconds (it shares the server's cores),
// the delay from the report that decides a wave (the last one of the
// wave, thresholds at 100%: its sending, so the report's own handling is
// counted) to the next wave's deployments reaching their gateways (target
// p99 < 1 s), and from that report to the server's step (the longest of
// the four, decided-max-ms). The scenario runs once.
//
//	go test -run '^$' -bench Rollout10k -benchtime 1x ./cmd/driverhub/
func BenchmarkRollout10k(b *testing.B) {
	if b.N > 1 {
		b.Skip("the scenario runs once; b.N > 1 is not meaningful")
	}
	n := rlGatewayCount(b)
	dir := b.TempDir()
	s := rlBenchServer(b, dir)
	pid := s.pid
	api := newRLAPI(s.url)
	api.publishMeter(b)
	start := time.Now()
	secrets := api.createFleet(b, n, s.workers, dir)
	b.Logf("created and bound %d instances in %s", n, time.Since(start).Round(time.Millisecond))
	lg := rlStartFleet(b, s.url, secrets, "", filepath.Join(dir, "loadgen.stderr"))
	lg.awaitReady(b, 10*time.Minute)
	lpWaitQuiet(b, pid, time.Minute)

	cpu0, lgCPU0 := lpProcCPU(b, pid), lpProcCPU(b, lg.cmd.Process.Pid)
	var r rlRollout
	waves := rlWavePlan(b)
	api.must(b, 201, "POST", "/api/v1/rollouts", rolloutBody(waves, 100, 0), &r)
	done := rlAwaitQuietly(b, api, r.ID, 15*time.Minute)
	cpu := float64(lpProcCPU(b, pid)-cpu0) / 100 // clock ticks at 100 Hz
	hwm := lpProcStatus(b, pid, "VmHWM")
	lgCPU := float64(lpProcCPU(b, lg.cmd.Process.Pid)-lgCPU0) / 100
	if done.State != "succeeded" {
		b.Fatalf("rollout %s (%s):\n%s", done.State, done.Reason, lg.stderr())
	}
	took := done.Events[len(done.Events)-1].Time.Sub(done.Events[0].Time)
	perTarget := cpu / float64(n)

	waveOf := rlWaveOf(b, api, r.ID)
	events := lg.awaitReported(b, n, time.Minute)
	lastReport := rlLastReports(waveOf, events)
	delays, perWave := rlWaveDelays(b, waveOf, lastReport, events)
	decided := rlDecideDelays(done, lastReport)
	slices.Sort(delays)
	p50, p99, worst := percentile(delays, 0.50), percentile(delays, 0.99), delays[len(delays)-1]
	b.Logf("rollout to %d gateways in waves %v%%: created → succeeded in %s; server CPU %.1f s (%.2f ms per target), at most %.0f MiB resident; the load generator's CPU, on the same cores, %.1f s",
		n, waves, took.Round(time.Millisecond), cpu, perTarget*1000, mib(hwm), lgCPU)
	b.Logf("deciding report → next wave's deployment at its gateway, over %d gateways: p50 %s, p99 %s, max %s; by wave: %s",
		len(delays), p50.Round(time.Millisecond), p99.Round(time.Millisecond), worst.Round(time.Millisecond), strings.Join(perWave, "; "))
	b.Logf("deciding report → the server's step (next wave started, or succeeded), by wave: %s", rlDurations(decided))
	lg.stop()
	logs := s.stop()
	// The server logs how long each wave's deployments took to make.
	made := regexp.MustCompile(`msg="rollout targets handled" rollout=\S+ targets=(\d+) took=(\S+)`)
	for _, m := range made.FindAllStringSubmatch(logs, -1) {
		b.Logf("the server made %s deployments in %s", m[1], m[2])
	}
	if strings.Contains(logs, "level=ERROR") || strings.Contains(logs, "too many open files") {
		b.Errorf("the server logged errors:\n%s", lpTail(logs, 3000))
	}
	b.ReportMetric(took.Seconds(), "s-to-succeeded")
	b.ReportMetric(perTarget*1000, "cpu-ms/target")
	b.ReportMetric(lgCPU, "loadgen-cpu-s")
	b.ReportMetric(mib(hwm), "server-peak-MiB")
	b.ReportMetric(ms(p50), "p50-ms")
	b.ReportMetric(ms(p99), "p99-ms")
	b.ReportMetric(ms(worst), "max-ms")
	b.ReportMetric(ms(slices.Max(decided)), "decided-max-ms")
}

// rlBenched is the server of the benchmark: its address, its process, and
// stop, which ends it and returns its log.
type rlBenched struct {
	url  string
	pid  int
	stop func() string
	// workers is how many requests at a time create the fleet: fewer on
	// PostgreSQL, where eight concurrent binds can fail to serialize more
	// often than the store retries (a limit of binding, not of rollouts).
	workers int
}

// rlBenchServer starts `driverhub server` on SQLite in dir, or, with
// DRIVERHUB_ROLLOUT_PG=1, one replica on the test PostgreSQL and S3.
func rlBenchServer(b *testing.B, dir string) rlBenched {
	if os.Getenv("DRIVERHUB_ROLLOUT_PG") == "1" {
		database, blobs := sharedStorage(b)
		r := launchReplica(b, "A", database, blobs)
		r.waitReady(b)
		b.Log("database: PostgreSQL (the server's CPU excludes PostgreSQL's own)")
		return rlBenched{url: r.url, pid: r.cmd.Process.Pid, stop: func() string { r.stop(b); return r.logs.String() }, workers: 2}
	}
	s := startServer(b, filepath.Join(dir, "data"))
	return rlBenched{url: s.url, pid: s.cmd.Process.Pid, stop: func() string { s.kill(); return s.logs.String() }, workers: 8}
}

// rlAwaitQuietly waits for the rollout to end, asking the server twice a
// second (so that the asking costs it little CPU).
func rlAwaitQuietly(b *testing.B, api *rlAPI, id string, limit time.Duration) *rlRollout {
	b.Helper()
	deadline := time.Now().Add(limit)
	for {
		var r rlRollout
		_, err := api.do("GET", "/api/v1/rollouts/"+id, nil, &r)
		if err == nil && r.State != "running" {
			return &r
		}
		if time.Now().After(deadline) {
			b.Fatalf("rollout %s still %s after %s (%v)", id, r.State, limit, err)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// rlWaveOf returns the wave of each target, by instance name.
func rlWaveOf(b *testing.B, api *rlAPI, id string) map[string]int {
	b.Helper()
	waveOf := map[string]int{}
	for _, t := range api.targets(b, id) {
		waveOf[t.Instance] = t.Wave
	}
	return waveOf
}

// rlLastReports returns, by wave, the sending of the wave's last report:
// with thresholds at 100%, the report that decides it.
func rlLastReports(waveOf map[string]int, events []rlEvent) []time.Time {
	waves := 0
	for _, w := range waveOf {
		waves = max(waves, w)
	}
	last := make([]time.Time, waves+1)
	for _, e := range events {
		if w := waveOf[e.name]; e.kind == 'R' && e.at.After(last[w]) {
			last[w] = e.at
		}
	}
	return last
}

// rlDecideDelays returns, for each wave, the time from its deciding report
// to the server's step on it (the next wave started, or the rollout
// succeeded), from the rollout's event log: what the issue asks to happen
// within a second.
func rlDecideDelays(done *rlRollout, lastReport []time.Time) []time.Duration {
	var out []time.Duration
	for _, e := range done.Events {
		switch {
		case e.Type == "wave_started" && e.Wave >= 2:
			out = append(out, e.Time.Sub(lastReport[e.Wave-1]))
		case e.Type == "succeeded":
			out = append(out, e.Time.Sub(lastReport[len(lastReport)-1]))
		}
	}
	return out
}

func rlDurations(ds []time.Duration) string {
	parts := make([]string, len(ds))
	for k, d := range ds {
		parts[k] = fmt.Sprintf("wave %d %s", k+1, d.Round(time.Millisecond))
	}
	return strings.Join(parts, ", ")
}

// rlWaveDelays returns, for every target of waves 2…, the time from the
// sending of the last report of the wave before to the arrival of its own
// deployment, and a summary per wave.
func rlWaveDelays(b *testing.B, waveOf map[string]int, lastReport []time.Time, events []rlEvent) ([]time.Duration, []string) {
	b.Helper()
	waves := len(lastReport) - 1
	received := map[string]time.Time{}
	for _, e := range events {
		if e.kind == 'D' && e.id != "" && received[e.name].IsZero() {
			received[e.name] = e.at
		}
	}
	var all []time.Duration
	byWave := make([][]time.Duration, waves+1)
	for name, w := range waveOf {
		if w < 2 {
			continue
		}
		at, ok := received[name]
		if !ok {
			b.Fatalf("%s (wave %d) never received its deployment", name, w)
		}
		d := at.Sub(lastReport[w-1])
		all = append(all, d)
		byWave[w] = append(byWave[w], d)
	}
	var summary []string
	for w := 2; w <= waves; w++ {
		ds := byWave[w]
		slices.Sort(ds)
		summary = append(summary, fmt.Sprintf("wave %d (%d gateways) p50 %s p99 %s max %s", w, len(ds),
			percentile(ds, 0.5).Round(time.Millisecond), percentile(ds, 0.99).Round(time.Millisecond), ds[len(ds)-1].Round(time.Millisecond)))
	}
	return all, summary
}
