package service

import (
	"testing"
	"time"

	"github.com/driverhub/driverhub"
)

// A poll a batch holds, whose wait ends (its deadline, or its gateway
// gone), waits for the batch: handed a deployment, it answers with it,
// since the deployment was started for it.
func TestParkedPollLeavingWhileClaimedGetsTheHandedDeployment(t *testing.T) {
	ps := newParkedPolls()
	p := ps.park("i1")
	if ps.claim("i1") != p {
		t.Fatal("the parked poll was not claimed")
	}
	if ps.claim("i1") != nil {
		t.Fatal("a claimed poll was claimed again by another batch")
	}
	left := make(chan *handoff, 1)
	go func() { left <- ps.leave(p) }()
	select {
	case h := <-left:
		t.Fatalf("leave returned %+v before the batch's outcome", h)
	case <-time.After(50 * time.Millisecond): // bounded: the batch holds it
	}
	m := &driverhub.Manifest{DeploymentID: "d1"}
	ps.hand(p, &handoff{id: "d1", manifest: m})
	if h := <-left; h == nil || h.id != "d1" || h.manifest != m {
		t.Fatalf("leave returned %+v, want deployment d1", h)
	}
	if ps.claim("i1") != nil {
		t.Error("a poll that left was claimed")
	}
}

// A batch that does not commit lets its polls go: they wait on, may be
// claimed again, and leave with nothing when their wait ends.
func TestParkedPollReleasedWaitsOn(t *testing.T) {
	ps := newParkedPolls()
	p := ps.park("i1")
	ps.release(must(ps.claim("i1"), t))
	select {
	case h := <-p.handed:
		t.Fatalf("a released poll was handed %+v", h)
	default:
	}
	if ps.claim("i1") != p {
		t.Fatal("a released poll could not be claimed again")
	}
	ps.release(p)
	if h := ps.leave(p); h != nil {
		t.Errorf("a released poll left with %+v", h)
	}
}

// A gateway's newer poll replaces its older one for hand-offs; the older
// one, not claimable, is still woken by notification.
func TestParkedPollNewerReplacesOlder(t *testing.T) {
	ps := newParkedPolls()
	old := ps.park("i1")
	newer := ps.park("i1")
	if got := ps.claim("i1"); got != newer {
		t.Fatalf("claimed %p, want the newer poll %p (older %p)", got, newer, old)
	}
	if h := ps.leave(old); h != nil {
		t.Errorf("the older poll left with %+v", h)
	}
	if ps.claim("i1") != nil {
		t.Error("claimed twice while the newer poll is held")
	}
}

func must(p *parkedPoll, t *testing.T) *parkedPoll {
	t.Helper()
	if p == nil {
		t.Fatal("no poll claimed")
	}
	return p
}
