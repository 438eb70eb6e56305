package service_test

import (
	"testing"

	"github.com/driverhub/driverhub"
)

// BenchmarkRolloutWave measures the server making one wave's deployments
// and handing them to its gateways, long-polling: the work between a
// wave's deciding report and its gateways' answers, per target (a binding
// change, a deployment written started, the instance's and the target's
// updates, and the answer), on SQLite, one wave of 500 instances after a
// wave of one (the store has seen its queries, as in a rollout).
//
//	go test -run '^$' -bench RolloutWave -benchtime 10x ./internal/service/
func BenchmarkRolloutWave(b *testing.B) {
	const n = 500
	for range b.N {
		b.StopTimer()
		ts := newTestService(b)
		f := newRolloutFleet(b, ts, n, "sh")
		f.addInstance(b, "warm", map[string]string{"site": "warm"}, true)
		must(ts.CreateRollout(ts.admin, rolloutIn("warm", 100)))(b)
		f.settle(b)
		must(ts.CancelRollout(ts.admin, must(ts.ListRollouts(ts.admin, driverhub.Page{Limit: 1}))(b).Items[0].ID))(b)
		f.names = f.names[:n] // not "warm"
		answers := parkGateways(b, ts, f)
		r := must(ts.CreateRollout(ts.admin, rolloutIn("sh", 100)))(b)
		b.StartTimer()
		f.settle(b) // the wave starts and is deployed
		b.StopTimer()
		got := must(ts.GetRollout(ts.admin, r.ID))(b)
		if got.Waves[0].Pending != n {
			b.Fatalf("wave 1: %d pending, want %d", got.Waves[0].Pending, n)
		}
		for name, ch := range answers {
			if a := <-ch; a.err != nil || a.m == nil || a.m.DeploymentID == "" {
				b.Fatalf("%s was answered %+v", name, a)
			}
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*n), "µs/target")
}
