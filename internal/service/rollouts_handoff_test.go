package service_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/driverhub/driverhub"
	"github.com/driverhub/driverhub/internal/service"
)

// updateRowsSpy counts the store's UpdateRows calls: the writes a
// gateway's fetch start, report or sync make, each of its own.
type updateRowsSpy struct {
	driverhub.Store
	calls atomic.Int64
}

func (s *updateRowsSpy) UpdateRows(ctx context.Context, fn func(driverhub.Tx) error) error {
	s.calls.Add(1)
	return s.Store.UpdateRows(ctx, fn)
}

// The gateways of a wave that long-poll this server are handed their
// deployments by the wave's batch: started in the batch's transaction, so
// that none waits, after the commit, for a write of its own (queued, on
// a loaded server, behind the wave's reports). Each still gets its own
// deployment, processing since the batch.
func TestRolloutBatchHandsParkedGatewaysTheirDeployments(t *testing.T) {
	t.Parallel()
	spy := &updateRowsSpy{}
	ts := newTestService(t, func(c *service.Config) { spy.Store = c.Store; c.Store = spy })
	f := newRolloutFleet(t, ts, 3, "sh")
	got := parkGateways(t, ts, f)
	spy.calls.Store(0)
	r := f.create(t, rolloutIn("sh"))
	for _, x := range f.targets(t, r.ID, "") {
		a := <-got[x.Instance]
		if a.err != nil || a.m == nil || a.m.DeploymentID != x.DeploymentID || a.etag != `"`+x.DeploymentID+`"` || a.m.Drivers[0].Version != "2" {
			t.Fatalf("%s's long-poll answered %+v, want deployment %s of meter 2", x.Instance, a, x.DeploymentID)
		}
		if d := ts.deployment(t, ts.admin, x.Instance, x.DeploymentID); d.Status != driverhub.DeployProcessing || d.StartedAt == nil {
			t.Errorf("%s's deployment is %s since %v once handed, want processing", x.Instance, d.Status, d.StartedAt)
		}
	}
	if n := spy.calls.Load(); n != 0 {
		t.Errorf("the gateways' deployments took %d writes of their own after the batch, want none", n)
	}
	if n := ts.ParkedPolls(); n != 0 {
		t.Errorf("%d polls still parked after they answered", n)
	}
	// Their next poll waits on the deployment handed.
	m, etag, err := ts.Desired(ts.gatewayCtx(t, f.secrets["gw000"]), got0(f, t, r.ID), time.Nanosecond)
	if err != nil || m != nil {
		t.Errorf("gw000's next poll with its deployment's ETag answered %+v %s %v, want not modified", m, etag, err)
	}
}

// pollAnswer is what a long-poll answered.
type pollAnswer struct {
	m    *driverhub.Manifest
	etag string
	err  error
}

// parkGateways has every gateway of f long-poll on ts (as yet without a
// deployment) and returns, by name, where each poll's answer comes; it
// returns once all of them wait.
func parkGateways(t testing.TB, ts *testService, f *rolloutFleet) map[string]chan pollAnswer {
	t.Helper()
	got := map[string]chan pollAnswer{}
	for _, name := range f.names {
		ch := make(chan pollAnswer, 1)
		got[name] = ch
		ctx := ts.gatewayCtx(t, f.secrets[name])
		go func() {
			m, etag, err := ts.Desired(ctx, `"none"`, time.Hour)
			ch <- pollAnswer{m, etag, err}
		}()
	}
	for k := 0; ts.ParkedPolls() < len(f.names); k++ {
		if k == 500 {
			t.Fatalf("%d of %d gateways waiting after 5 s", ts.ParkedPolls(), len(f.names))
		}
		time.Sleep(10 * time.Millisecond)
	}
	return got
}

// got0 is the ETag of gw000's deployment in the rollout.
func got0(f *rolloutFleet, t *testing.T, id string) string {
	for _, x := range f.targets(t, id, "") {
		if x.Instance == "gw000" {
			return `"` + x.DeploymentID + `"`
		}
	}
	t.Fatal("gw000 is not a target")
	return ""
}

// firstHook runs hook inside each UpdateFirst transaction, once its work
// is done and before it commits: what a batch does is then seen as it
// happens, its claims held.
type firstHook struct {
	driverhub.Store
	hook func()
}

func (s *firstHook) UpdateFirst(ctx context.Context, fn func(driverhub.Tx) error) error {
	return s.Store.UpdateFirst(ctx, func(tx driverhub.Tx) error {
		err := fn(tx)
		if err == nil && s.hook != nil {
			s.hook()
		}
		return err
	})
}

// A gateway whose connection drops while a batch holds its poll, and that
// polls again at once, gets its deployment as the batch commits: not when
// its new poll's wait ends (an hour here).
func TestRolloutHandOffReachesAGatewaysNewerPoll(t *testing.T) {
	t.Parallel()
	st := &firstHook{}
	ts := newTestService(t, func(c *service.Config) { st.Store = c.Store; c.Store = st })
	f := newRolloutFleet(t, ts, 1, "sh")
	i := must(ts.GetInstance(ts.admin, "gw000"))(t)
	dropped, drop := context.WithCancel(ts.gatewayCtx(t, f.secrets["gw000"]))
	defer drop()
	go func() { _, _, _ = ts.Desired(dropped, `"none"`, time.Hour) }()
	for k := 0; ts.ParkedPollOf(i.ID) == nil; k++ {
		if k == 500 {
			t.Fatal("the first poll did not wait after 5 s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	first := ts.ParkedPollOf(i.ID)
	newer := make(chan pollAnswer, 1)
	st.hook = func() {
		st.hook = nil
		drop()
		go func() {
			m, etag, err := ts.Desired(ts.gatewayCtx(t, f.secrets["gw000"]), `"none"`, time.Hour)
			newer <- pollAnswer{m, etag, err}
		}()
		for k := 0; ts.ParkedPollOf(i.ID) == first; k++ {
			if k == 500 {
				t.Error("the newer poll did not wait after 5 s")
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	r := f.create(t, rolloutIn("sh"))
	want := f.targets(t, r.ID, "")[0].DeploymentID
	select {
	case a := <-newer:
		if a.err != nil || a.m == nil || a.m.DeploymentID != want {
			t.Fatalf("the newer poll answered %+v, want deployment %s", a, want)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the newer poll still waits 10 s after the batch committed")
	}
}
