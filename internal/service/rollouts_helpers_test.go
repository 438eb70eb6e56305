package service_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/driverhub/driverhub"
)

// rolloutFleet is a tenant's fleet for rollout tests: driver "meter" with
// versions 1 and 2 published, bound at version 1 on instances gw000…
// tagged site=<site>; secrets by instance name.
type rolloutFleet struct {
	ts      *testService
	secrets map[string]string
	names   []string
}

func newRolloutFleet(t testing.TB, ts *testService, n int, site string) *rolloutFleet {
	t.Helper()
	ts.ready(t, ts.admin, driverIn("meter", "python3"))
	ts.newVersion(t, ts.admin, "meter", "2")
	ts.upload(t, ts.admin, "meter", "2")
	must(ts.PublishVersion(ts.admin, "meter", "2"))(t)
	f := &rolloutFleet{ts: ts, secrets: map[string]string{}}
	for k := range n {
		f.addInstance(t, fmt.Sprintf("gw%03d", k), map[string]string{"site": site}, true)
	}
	return f
}

// addInstance creates an instance with tags, with meter 1 bound when bind.
func (f *rolloutFleet) addInstance(t testing.TB, name string, tags map[string]string, bind bool) {
	t.Helper()
	i := must(f.ts.CreateInstance(f.ts.admin, driverhub.InstanceInput{Name: &name, Tags: &tags}))(t)
	f.secrets[name] = i.GatewaySecret
	f.names = append(f.names, name)
	if bind {
		f.ts.bind(t, f.ts.admin, name, "meter", "1")
	}
}

// rolloutIn is a rollout of meter 2 to the instances tagged site=site.
func rolloutIn(site string, waves ...int) driverhub.RolloutInput {
	return driverhub.RolloutInput{Name: "meter 2 to " + site, Driver: "meter", Version: "2",
		Selector: driverhub.RolloutSelector{Tags: map[string]string{"site": site}}, Waves: waves}
}

// create creates a rollout and lets the server drive it as far as it goes.
func (f *rolloutFleet) create(t *testing.T, in driverhub.RolloutInput) *driverhub.Rollout {
	t.Helper()
	r := must(f.ts.CreateRollout(f.ts.admin, in))(t)
	f.settle(t)
	return f.get(t, r.ID)
}

// settle drives the kicked rollouts until no kick is left: what the
// server's loop does at once after each report.
func (f *rolloutFleet) settle(t testing.TB) {
	t.Helper()
	for range 100 {
		n, err := f.ts.DriveKickedRollouts(context.Background())
		ok(t, err)
		if n == 0 {
			return
		}
	}
	t.Fatal("rollouts still kicked after 100 rounds")
}

func (f *rolloutFleet) get(t *testing.T, id string) *driverhub.Rollout {
	t.Helper()
	return must(f.ts.GetRollout(f.ts.admin, id))(t)
}

// targets lists a rollout's targets in one state ("" for all), by instance name.
func (f *rolloutFleet) targets(t *testing.T, id string, state driverhub.TargetState) []*driverhub.RolloutTarget {
	t.Helper()
	return must(f.ts.ListRolloutTargets(f.ts.admin, id, state, driverhub.Page{Limit: 500}))(t).Items
}

// answer reports the outcome of the instance's current deployment, as
// its gateway would once it applied it, and lets the server act.
func (f *rolloutFleet) answer(t *testing.T, instance string, status driverhub.DeployStatus) {
	t.Helper()
	i := must(f.ts.GetInstance(f.ts.admin, instance))(t)
	if i.CurrentDeployment == nil {
		t.Fatalf("%s has no deployment to answer", instance)
	}
	r := driverhub.DeploymentReport{ID: i.CurrentDeployment.ID, Status: status}
	if status == driverhub.DeployFailed {
		r.Reason = "driver meter did not stay up for 5s: rolled back"
	}
	f.ts.report(t, f.secrets[instance], driverhub.GatewayReport{Deployment: &r})
	f.settle(t)
}

// answerWave reports status for every in-flight target of the rollout's wave.
func (f *rolloutFleet) answerWave(t *testing.T, id string, wave int, status driverhub.DeployStatus) {
	t.Helper()
	for _, x := range f.targets(t, id, "") {
		if x.Wave == wave && x.State.InFlight() {
			f.answer(t, x.Instance, status)
		}
	}
}

// deployments lists an instance's deployments, newest first.
func (f *rolloutFleet) deployments(t *testing.T, instance string) []*driverhub.Deployment {
	t.Helper()
	return must(f.ts.ListDeployments(f.ts.admin, instance, driverhub.Page{Limit: 500}))(t).Items
}

func (f *rolloutFleet) boundVersion(t *testing.T, instance string) string {
	t.Helper()
	return must(f.ts.GetBinding(f.ts.admin, instance, "meter"))(t).Version
}

// statesOf maps instance names to target states.
func statesOf(ts []*driverhub.RolloutTarget) map[string]driverhub.TargetState {
	out := map[string]driverhub.TargetState{}
	for _, x := range ts {
		out[x.Instance] = x.State
	}
	return out
}

// eventTypes lists a rollout's event types, oldest first.
func eventTypes(r *driverhub.Rollout) []driverhub.RolloutEventType {
	var out []driverhub.RolloutEventType
	for _, e := range r.Events {
		out = append(out, e.Type)
	}
	return out
}

// waveSummary is a wave as "state size succeeded/failed/pending".
func waveSummary(r *driverhub.Rollout) []string {
	var out []string
	for _, w := range r.Waves {
		out = append(out, fmt.Sprintf("%s %d %d/%d/%d", w.State, w.Size, w.Succeeded, w.Failed, w.Pending))
	}
	return out
}
