package service_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/driverhub/driverhub"
)

func TestRolloutInputNamesEveryBadField(t *testing.T) {
	ts := newTestService(t)
	in := driverhub.RolloutInput{Name: "", Driver: "", Version: "..",
		Selector: driverhub.RolloutSelector{Tags: map[string]string{"a": "b"}, Instances: []string{"gw1"}},
		Waves:    []int{50, 20, 100}, SuccessThreshold: ptr(101), FailureThreshold: ptr(-1), WaveTimeout: "5s", OnAbort: "explode"}
	e := wantErr(t, must2(ts.CreateRollout(ts.admin, in)), driverhub.EInvalid, "name")
	var fields []string
	for _, p := range e.Problems {
		fields = append(fields, p.Field)
	}
	want := []string{"name", "driver", "version", "selector", "waves[1]", "success_threshold", "failure_threshold", "wave_timeout", "on_abort"}
	if diff := cmp.Diff(want, fields); diff != "" {
		t.Errorf("fields named (-want +got):\n%s", diff)
	}
	for _, tc := range []struct {
		in    func(*driverhub.RolloutInput)
		field string
		says  string
	}{
		{func(in *driverhub.RolloutInput) { in.Waves = []int{10, 50} }, "waves[1]", "must be 100"},
		{func(in *driverhub.RolloutInput) { in.Waves = []int{} }, "waves", "1-10 cumulative percentages"},
		{func(in *driverhub.RolloutInput) { in.Waves = []int{0, 100} }, "waves[0]", "from 1 to 100"},
		{func(in *driverhub.RolloutInput) { in.Selector = driverhub.RolloutSelector{} }, "selector", "is required"},
		{func(in *driverhub.RolloutInput) {
			in.Selector = driverhub.RolloutSelector{Instances: []string{"gw1", "bad name"}}
		}, "selector.instances[1]", "instance name"},
		{func(in *driverhub.RolloutInput) {
			in.Selector = driverhub.RolloutSelector{Instances: []string{"gw1", "gw1"}}
		}, "selector.instances[1]", "a second time"},
		{func(in *driverhub.RolloutInput) { in.Selector = driverhub.RolloutSelector{Instances: []string{}} }, "selector.instances", "at least one"},
		{func(in *driverhub.RolloutInput) { in.Name = "line\x1b[31m" }, "name", "control characters"},
		{func(in *driverhub.RolloutInput) { in.WaveTimeout = "8d" }, "wave_timeout", "from 10s to 168h"},
	} {
		good := rolloutIn("sh")
		tc.in(&good)
		e := wantErr(t, must2(ts.CreateRollout(ts.admin, good)), driverhub.EInvalid, tc.field)
		contains(t, "message", e.Message, tc.says)
	}
}

func TestRolloutRefusedWithEveryProblem(t *testing.T) {
	ts := newTestService(t)
	ts.newDriver(t, ts.admin, driverIn("meter", "python3"))
	ts.newVersion(t, ts.admin, "meter", "draft")
	f := &rolloutFleet{ts: ts, secrets: map[string]string{}}
	f.addInstance(t, "unbound", map[string]string{"site": "sh"}, false)
	in := rolloutIn("sh")
	in.Version = "draft"
	err := must2(ts.CreateRollout(ts.admin, in))
	if got, want := problemCodes(t, err), codes(driverhub.ProblemNoTargets, driverhub.ProblemPackageMissing, driverhub.ProblemVersionUnpublished); !cmp.Equal(got, want) {
		t.Errorf("problems %v, want %v", got, want)
	}
	e, _ := driverhub.AsError(err)
	for _, p := range e.Problems {
		if p.Code == driverhub.ProblemNoTargets {
			contains(t, "no_targets", p.Message, "none of the 1 instances", "meter")
		}
	}
	in.Version = "9"
	wantErr(t, must2(ts.CreateRollout(ts.admin, in)), driverhub.ENotFound, "")
	in.Driver = "nothing"
	wantErr(t, must2(ts.CreateRollout(ts.admin, in)), driverhub.ENotFound, "")
	viewer := ts.userCtx(t, ts.admin, "watcher", driverhub.RoleViewer)
	wantErr(t, must2(ts.CreateRollout(viewer, rolloutIn("sh"))), driverhub.EPermissionDenied, "")
}

func TestRolloutSkipsWhatItCannotTarget(t *testing.T) {
	ts := newTestService(t)
	f := newRolloutFleet(t, ts, 2, "sh")
	f.addInstance(t, "bare", map[string]string{"site": "sh"}, false)
	// acme's own "meter", acquired and bound on "foreign": another driver of the same name.
	acme := ts.tenantCtx(t, "acme")
	ts.ready(t, acme, driverIn("meter", "python3"))
	must(ts.PutListing(acme, "meter", driverhub.ListingInput{Title: "Meter"}))(t)
	must(ts.Acquire(ts.admin, "acme", "meter"))(t)
	f.addInstance(t, "foreign", map[string]string{"site": "sh"}, false)
	must(ts.Bind(ts.admin, "foreign", "meter", driverhub.BindingInput{Publisher: ptr("acme")}))(t)

	in := rolloutIn("sh")
	in.Selector = driverhub.RolloutSelector{Instances: []string{"gw001", "bare", "ghost", "foreign", "gw000"}}
	r := f.create(t, in)
	targets := f.targets(t, r.ID, "")
	var got []string
	for _, x := range targets {
		code := ""
		if len(x.Problems) > 0 {
			code = string(x.Problems[0].Code)
		}
		got = append(got, x.Instance+" "+string(x.State)+" "+code)
	}
	want := []string{"bare skipped not_bound", "foreign skipped other_publisher", "ghost skipped instance_missing",
		"gw000 pending ", "gw001 pending "}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("targets, by name (-want +got):\n%s", diff)
	}
	if r.Counts[driverhub.TargetSkipped] != 3 || r.Waves[0].Size != 2 || !strings.Contains(r.Events[0].Message, "(3 skipped)") {
		t.Errorf("counts %v, wave size %d, first event %q", r.Counts, r.Waves[0].Size, r.Events[0].Message)
	}
	if v := must(ts.GetBinding(ts.admin, "foreign", "meter"))(t); v.Publisher != "acme" || len(f.deployments(t, "foreign")) != 0 {
		t.Errorf("the other publisher's binding changed: %+v", v)
	}
}

func TestRolloutsOfOneDriverMustNotOverlap(t *testing.T) {
	ts := newTestService(t)
	f := newRolloutFleet(t, ts, 4, "sh")
	first := f.create(t, rolloutIn("sh", 50, 100))
	in := rolloutIn("sh")
	in.Selector = driverhub.RolloutSelector{Instances: []string{"gw003"}}
	e := wantErr(t, must2(ts.CreateRollout(ts.admin, in)), driverhub.EConflict, "")
	contains(t, "409", e.Message, "gw003", first.ID, "running")
	must(ts.PauseRollout(ts.admin, first.ID))(t)
	wantErr(t, must2(ts.CreateRollout(ts.admin, in)), driverhub.EConflict, "") // a paused rollout still counts
	must(ts.CancelRollout(ts.admin, first.ID))(t)
	second := f.create(t, in)
	if second.State != driverhub.RolloutRunning || second.Counts[driverhub.TargetPending] != 1 {
		t.Errorf("after the first was cancelled: %s, counts %v", second.State, second.Counts)
	}
}

func TestRolloutViews(t *testing.T) {
	ts := newTestService(t)
	f := newRolloutFleet(t, ts, 3, "sh")
	in := rolloutIn("sh", 34, 100)
	in.Paused = true
	a := f.create(t, in)
	in.Selector = driverhub.RolloutSelector{Instances: []string{"gw000"}}
	must(ts.CancelRollout(ts.admin, a.ID))(t)
	b := f.create(t, in)
	list := must(ts.ListRollouts(ts.admin, driverhub.Page{Limit: 1}))(t)
	if len(list.Items) != 1 || list.Items[0].ID != b.ID || list.NextCursor == "" || list.Items[0].Selector != nil || list.Items[0].Events != nil {
		t.Fatalf("first page: %+v, cursor %q; want the newest, without selector and events", list.Items, list.NextCursor)
	}
	next := must(ts.ListRollouts(ts.admin, driverhub.Page{Limit: 1, Cursor: list.NextCursor}))(t)
	if len(next.Items) != 1 || next.Items[0].ID != a.ID || len(next.Items[0].Waves) != 2 || next.Items[0].Counts[driverhub.TargetWaiting] != 3 {
		t.Errorf("second page: %+v", next.Items)
	}
	got := must(ts.GetRollout(ts.admin, b.ID))(t)
	if got.Selector == nil || !slices.Equal(got.Selector.Instances, []string{"gw000"}) || got.SuccessThreshold != 100 ||
		got.FailureThreshold != 0 || got.WaveTimeout.String() != "1h0m0s" || got.OnAbort != driverhub.OnAbortRollback {
		t.Errorf("defaults and selector in the view: %+v", got)
	}
	if _, err := ts.ListRolloutTargets(ts.admin, b.ID, "lost", driverhub.Page{}); err == nil {
		t.Error("a target state that does not exist was accepted")
	} else {
		wantErr(t, err, driverhub.EInvalid, "state")
	}
	other := ts.tenantCtx(t, "other")
	wantErr(t, must2(ts.GetRollout(other, b.ID)), driverhub.ENotFound, "")
	wantErr(t, must2(ts.CancelRollout(other, b.ID)), driverhub.ENotFound, "")
	if l := must(ts.ListRollouts(other, driverhub.Page{}))(t); len(l.Items) != 0 {
		t.Errorf("another tenant sees %d rollouts", len(l.Items))
	}
}

func TestRolloutResumesWhatWasInterrupted(t *testing.T) {
	ts := newTestService(t)
	f := newRolloutFleet(t, ts, 6, "sh")
	// The rollout is stored with wave 1 started, and the server stops
	// before it deploys: its kick is lost with it.
	r := must(ts.CreateRollout(ts.admin, rolloutIn("sh", 50, 100)))(t)
	restarted := ts.replica(t)
	if n := must(restarted.DriveKickedRollouts(ts.admin))(t); n != 0 {
		t.Fatalf("a new server has %d kicks", n)
	}
	ok(t, restarted.SweepRollouts(ts.admin)) // what RunRollouts does first
	if got := f.targets(t, r.ID, driverhub.TargetPending); len(got) != 3 {
		t.Fatalf("after the sweep of the restarted server: %d pending, want wave 1's 3", len(got))
	}
	// The old server's kick, drained late, deploys nothing twice.
	f.settle(t)
	for _, name := range f.names[:3] {
		if n := len(f.deployments(t, name)); n != 1 {
			t.Errorf("%s has %d deployments, want 1", name, n)
		}
	}
}

func TestRolloutStepsOnceWhenReplicasRace(t *testing.T) {
	ts := newTestService(t)
	f := newRolloutFleet(t, ts, 40, "sh")
	in := rolloutIn("sh", 10, 50, 100)
	in.FailureThreshold = ptr(5)
	r := must(ts.CreateRollout(ts.admin, in))(t)
	replicas := []interface {
		SweepRollouts(context.Context) error
	}{ts.Service, ts.replica(t), ts.replica(t)}
	race := func() {
		var wg sync.WaitGroup
		for _, rep := range replicas {
			wg.Go(func() { ok(t, rep.SweepRollouts(context.Background())) })
		}
		wg.Wait()
	}
	for wave := 1; wave <= 3; wave++ {
		race()
		for _, x := range f.targets(t, r.ID, driverhub.TargetPending) {
			i := must(ts.GetInstance(ts.admin, x.Instance))(t)
			ts.report(t, f.secrets[x.Instance], driverhub.GatewayReport{Deployment: &driverhub.DeploymentReport{ID: i.CurrentDeployment.ID, Status: driverhub.DeploySucceeded}})
		}
		race()
	}
	r = f.get(t, r.ID)
	if r.State != driverhub.RolloutSucceeded {
		t.Fatalf("after three racing replicas drove it: %s (%s)", r.State, r.Reason)
	}
	started := 0
	for _, e := range r.Events {
		if e.Type == driverhub.EventWaveStarted {
			started++
		}
	}
	if started != 3 || len(r.Events) != 8 {
		t.Errorf("%d wave_started events of %d events, want 3 of 8: %v", started, len(r.Events), eventTypes(r))
	}
	for _, name := range f.names {
		if n := len(f.deployments(t, name)); n != 1 {
			t.Errorf("%s has %d deployments, want 1", name, n)
		}
	}
}

func TestRollbackLeavesABindingAUserChanged(t *testing.T) {
	ts := newTestService(t)
	f := newRolloutFleet(t, ts, 2, "sh")
	ts.newVersion(t, ts.admin, "meter", "3")
	ts.upload(t, ts.admin, "meter", "3")
	must(ts.PublishVersion(ts.admin, "meter", "3"))(t)
	r := f.create(t, rolloutIn("sh"))
	ts.bind(t, ts.admin, "gw001", "meter", "3") // a user's choice, not deployed yet
	f.answer(t, "gw000", driverhub.DeployFailed)
	targets := f.targets(t, r.ID, "")
	if targets[0].State != driverhub.TargetRolledBack || targets[0].RollbackDeploymentID == "" {
		t.Errorf("gw000: %s (rollback deployment %q), want rolled_back", targets[0].State, targets[0].RollbackDeploymentID)
	}
	last := targets[1].Problems[len(targets[1].Problems)-1]
	if targets[1].State != driverhub.TargetPending || last.Code != driverhub.ProblemRollbackBindingGone || f.boundVersion(t, "gw001") != "3" {
		t.Errorf("gw001: %s, %+v, bound to %s; want left pending, bound to 3, saying why", targets[1].State, last, f.boundVersion(t, "gw001"))
	}
	if r = f.get(t, r.ID); !strings.Contains(r.Events[len(r.Events)-1].Message, "rolled back 1 target to") {
		t.Errorf("last event %q", r.Events[len(r.Events)-1].Message)
	}
}

// Targets that left before their wave began (their instance deleted, or
// the driver unbound) leave the rollout when the wave reaches them: they
// are superseded with the reason, and the wave is judged without them.
// The wave's batch reads every target's instance and bindings at once.
func TestRolloutTargetsThatLeftBeforeTheirWave(t *testing.T) {
	ts := newTestService(t)
	f := newRolloutFleet(t, ts, 4, "sh")
	r := f.create(t, rolloutIn("sh", 25, 100))
	r = must(ts.PauseRollout(ts.admin, r.ID))(t)
	f.answerWave(t, r.ID, 1, driverhub.DeploySucceeded)
	ok(t, ts.Unbind(ts.admin, "gw001", "meter"))
	ok(t, ts.Unbind(ts.admin, "gw002", "meter"))
	ok(t, ts.DeleteInstance(ts.admin, "gw002"))
	must(ts.CreateDevice(ts.admin, driverhub.DeviceInput{Product: "pump", Name: "p1"}))(t)
	must(ts.AssociateDevice(ts.admin, "gw003", "pump", "p1", driverhub.DeviceAssociation{Driver: "meter"}))(t)
	must(ts.ResumeRollout(ts.admin, r.ID))(t)
	f.settle(t)
	var got []string
	for _, x := range f.targets(t, r.ID, "") {
		code := ""
		if len(x.Problems) > 0 {
			code = string(x.Problems[0].Code)
		}
		got = append(got, fmt.Sprintf("%s %d %s %s", x.Instance, x.Wave, x.State, code))
	}
	want := []string{"gw000 1 succeeded ", "gw001 2 superseded not_bound", "gw002 2 superseded instance_missing", "gw003 2 pending "}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("targets after the wave began (-want +got):\n%s", diff)
	}
	if v := f.boundVersion(t, "gw003"); v != "2" {
		t.Errorf("gw003 is bound to meter %s, want 2", v)
	}
	// Its deployment configures the device associated meanwhile.
	var resources []string
	for _, x := range f.deployments(t, "gw003")[0].Resources {
		resources = append(resources, string(x.Type)+" "+x.Name)
	}
	if want := []string{"driver meter", "driver_config meter", "device_config pump/p1"}; !slices.Equal(resources, want) {
		t.Errorf("gw003's rollout deployment has the resources %q, want %q", resources, want)
	}
	f.answer(t, "gw003", driverhub.DeploySucceeded)
	if r = f.get(t, r.ID); r.State != driverhub.RolloutSucceeded || r.Waves[1].Size != 1 {
		t.Errorf("rollout %s, wave 2's size %d: want succeeded, 1", r.State, r.Waves[1].Size)
	}
}
