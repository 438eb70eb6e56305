//go:build linux

package main_test

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// BenchmarkDeployToStartSigned is BenchmarkDeployToStart for two agents of
// one server, running the same signed package: one plain, one pinned to the
// tenant's TUF root (--trust-root), which refreshes the signed metadata and
// checks the package against it before each deployment. Their rounds
// interleave (the order alternates), so both see the same machine; the
// figure is the median of the rounds' differences. Target: signing adds
// < 50 ms.
//
//	go test -run '^$' -bench DeployToStartSigned -benchtime 1x -timeout 15m ./cmd/driverhub/
func BenchmarkDeployToStartSigned(b *testing.B) {
	if b.N > 1 {
		b.Skip("the scenario runs once; b.N > 1 is not meaningful")
	}
	const k = 25
	const driver = "starter"
	agentBin := abAgentBinary(b)
	plain := abSetup(b)
	signed := plain.sibling("gws")
	keys := filepath.Join(b.TempDir(), "keys")
	abCLI(b, plain.srv, "trust", "init", "--keys", keys)
	root := filepath.Join(b.TempDir(), "root.json")
	if err := os.WriteFile(root, []byte(abCLI(b, plain.srv, "trust", "export-root")), 0o644); err != nil {
		b.Fatal(err)
	}
	starters := []*abStarter{{e: plain, name: "plain"}, {e: signed, name: "signed"}}
	for _, s := range starters {
		s.out = filepath.Join(abOutDir(b), "start")
	}
	plain.addDriver(driver, abZip(b, "index.py", abStarterScript), starters[0].config(driver))
	abCLI(b, plain.srv, "sign", driver, "1.0", "--keys", keys)
	signed.srv.must(b, 200, "PUT", "/api/v1/instances/"+signed.inst+"/drivers/"+driver, `{"version":"1.0"}`)
	starters[1].config(driver)(0)
	signed.agentArg = []string{"--trust-root", root}
	for _, s := range starters {
		s.e.startAgent(agentBin, "30s")
		if d := s.e.deploy(2 * time.Minute); d.Status != "succeeded" { // download, unpack, cold interpreter: not counted
			b.Fatalf("%s: first deployment %s is %s: %s", s.name, d.ID, d.Status, d.Reason)
		}
		abWaitStart(b, s.out, 0, 30*time.Second)
	}

	for seq := 1; seq <= k; seq++ {
		order := starters
		if seq%2 == 0 {
			order = []*abStarter{starters[1], starters[0]}
		}
		for _, s := range order {
			s.round(driver, seq)
		}
	}
	// Each round's two deployments run back to back: the median of their
	// differences is the figure, less moved by the load of the machine
	// than the difference of the two medians, also shown.
	extra := medianDiff(starters[0].lats, starters[1].lats)
	extraPrep := medianDiff(starters[0].preps, starters[1].preps)
	p50 := make([]time.Duration, len(starters))
	for i, s := range starters {
		b.Logf("%s agent: ms from POST to the driver's first statement:%s", s.name, s.each.String())
		sorted := slices.Sorted(slices.Values(s.lats))
		p50[i] = percentile(sorted, 0.50)
	}
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(ms(p50[0]), "p50-plain-ms")
	b.ReportMetric(ms(p50[1]), "p50-signed-ms")
	b.ReportMetric(ms(extra), "extra-ms")
	b.ReportMetric(ms(extraPrep), "extra-agent-ms")
	b.Logf("deploy to start over %d interleaved rounds: medians plain %s, signed %s; median of the rounds' differences: signing adds %s; target < 50 ms",
		k, p50[0].Round(time.Millisecond), p50[1].Round(time.Millisecond), extra.Round(time.Millisecond))
	b.Logf("the agent's part (applying to starting the driver): medians plain %s, signed %s; median of the rounds' differences %s",
		percentile(slices.Sorted(slices.Values(starters[0].preps)), 0.5).Round(100*time.Microsecond),
		percentile(slices.Sorted(slices.Values(starters[1].preps)), 0.5).Round(100*time.Microsecond), extraPrep.Round(100*time.Microsecond))
	if out := signed.agentOut.String(); !strings.Contains(out, "trust_root="+root) {
		b.Errorf("the signed agent did not start pinned:\n%s", abTail(out, 10))
	}
	if extra >= 50*time.Millisecond {
		b.Logf("OVER TARGET: signing adds %s >= 50 ms", extra)
	}
}

// medianDiff is the median of b[i] - a[i].
func medianDiff(a, b []time.Duration) time.Duration {
	diffs := make([]time.Duration, len(a))
	for i := range diffs {
		diffs[i] = b[i] - a[i]
	}
	slices.Sort(diffs)
	return percentile(diffs, 0.50)
}

// abStarter is one agent of the signed benchmark and its driver's start file.
type abStarter struct {
	e     *abEnv
	name  string
	out   string
	lats  []time.Duration // POST to the driver's first statement
	preps []time.Duration // the agent applying to its start of the driver
	each  strings.Builder
}

// config returns what sets the binding's config to round seq.
func (s *abStarter) config(driver string) func(seq int) {
	return func(seq int) {
		body, _ := json.Marshal(map[string]any{"format": "json", "json": map[string]any{"out": s.out, "seq": seq}})
		s.e.srv.must(s.e.b, 200, "PUT", "/api/v1/instances/"+s.e.inst+"/drivers/"+driver+"/config", string(body))
	}
}

// round changes the config and times one deployment, from just before its
// POST to the restarted driver's first statement.
func (s *abStarter) round(driver string, seq int) {
	b := s.e.b
	s.config(driver)(seq)
	time.Sleep(500 * time.Millisecond) // the agent is back in its long poll
	t0 := time.Now()
	created := s.e.createDeployment()
	lat := abWaitStart(b, s.out, seq, 30*time.Second).Sub(t0)
	if d := s.e.waitDeployment(created, time.Minute); d.Status != "succeeded" {
		b.Fatalf("%s: deployment %d (%s) is %s: %s", s.name, seq, d.ID, d.Status, d.Reason)
	}
	s.lats = append(s.lats, lat)
	fmt.Fprintf(&s.each, " %d", lat.Milliseconds())
	// The agent's own part, where the refresh and the check happen: from
	// its "applying deployment" to its start of the driver.
	applied, okA := s.e.agentApplied(created)
	spawned, okS := s.e.spawnedAfter(driver, t0)
	if !okA || !okS {
		b.Fatalf("%s: round %d: no applying (%v) or starting (%v) time in the agent's logs", s.name, seq, okA, okS)
	}
	s.preps = append(s.preps, spawned.Sub(applied))
}

// sibling is another instance of e's server, with an agent directory of
// its own.
func (e *abEnv) sibling(name string) *abEnv {
	b := e.b
	s := &abEnv{b: b, srv: e.srv, inst: name, agentDir: b.TempDir()}
	prepareDriverUsers(b, s.agentDir)
	var inst struct {
		Secret string `json:"gateway_secret"`
	}
	abJSON(b, e.srv.must(b, 201, "POST", "/api/v1/instances", `{"name":"`+name+`"}`), &inst)
	s.secret = inst.Secret
	return s
}

// abCLI runs the driverhub command-line client with the admin token and
// returns its output.
func abCLI(b *testing.B, srv *server, args ...string) string {
	b.Helper()
	cmd := exec.Command(binary, args...)
	home := b.TempDir()
	cmd.Env = append(os.Environ(), "HOME="+home, "XDG_CONFIG_HOME="+home, "DRIVERHUB_SERVER="+srv.url, "DRIVERHUB_TOKEN="+adminToken)
	out, err := cmd.Output()
	if err != nil {
		stderr := ""
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		b.Fatalf("driverhub %s: %v: %s", strings.Join(args, " "), err, stderr)
	}
	return string(out)
}
