package service_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/driverhub/driverhub"
	"github.com/driverhub/driverhub/internal/service"
)

// storedSync is the gateway's sync time as stored, not as this server
// shows it.
func storedSync(t *testing.T, ts *testService, instanceID string) *time.Time {
	t.Helper()
	var i *driverhub.Instance
	ok(t, ts.store.View(t.Context(), func(tx driverhub.Tx) (err error) {
		i, err = tx.InstanceByID(t.Context(), instanceID)
		return err
	}))
	return i.Gateway.LastSeenAt
}

func wantStored(t *testing.T, ts *testService, instanceID, what string, want time.Time) {
	t.Helper()
	if got := storedSync(t, ts, instanceID); got == nil || !got.Equal(want) {
		t.Errorf("%s: stored sync %v, want %v", what, got, want)
	}
}

// An online gateway's due syncs, from polls and from reports that say
// nothing new, are written behind, with others; the server shows them at
// once. A gateway coming online, or saying something new, is written at
// once.
func TestGatewaySyncsOfAnOnlineGatewayAreWrittenBehind(t *testing.T) {
	t.Parallel()
	ts := newTestService(t) // poll period 30 s
	i := ts.newInstance(t, ts.admin, "edge")
	ts.fetch(t, i.GatewaySecret, "")
	wantStored(t, ts, i.ID, "the first poll", t0)

	for _, sync := range []struct {
		what string
		do   func()
	}{
		{"a poll", func() { ts.fetch(t, i.GatewaySecret, "") }},
		{"a report of nothing new", func() { ts.report(t, i.GatewaySecret, driverhub.GatewayReport{}) }},
	} {
		before := ts.clock.Now()
		ts.clock.Advance(10 * time.Second)
		sync.do()
		wantStored(t, ts, i.ID, sync.what+" 10 s after the last sync, before a flush", before)
		if g := must(ts.GetInstance(ts.admin, "edge"))(t).Gateway; !g.LastSeenAt.Equal(ts.clock.Now()) || !g.Online {
			t.Errorf("%s: the server shows last seen %v (online %v), want %v", sync.what, g.LastSeenAt, g.Online, ts.clock.Now())
		}
		ok(t, ts.FlushGatewaySyncs(t.Context()))
		wantStored(t, ts, i.ID, sync.what+", flushed", ts.clock.Now())
	}

	ts.clock.Advance(10 * time.Second)
	ts.report(t, i.GatewaySecret, driverhub.GatewayReport{EdgeVersion: "3.0.0"})
	wantStored(t, ts, i.ID, "a report of a new edge version", ts.clock.Now())

	// Last seen more than two poll periods ago: online still, but with
	// less than a period to spare, so written at once; and offline.
	for _, gap := range []time.Duration{61 * time.Second, time.Hour} {
		ts.clock.Advance(gap)
		ts.fetch(t, i.GatewaySecret, "")
		wantStored(t, ts, i.ID, "a poll "+gap.String()+" after the last sync", ts.clock.Now())
	}
}

// failingRows fails UpdateRows while fail is set: a flush that cannot be
// written.
type failingRows struct {
	driverhub.Store
	fail atomic.Bool
}

func (s *failingRows) UpdateRows(ctx context.Context, fn func(driverhub.Tx) error) error {
	if s.fail.Load() {
		return errors.New("the database is gone for a moment")
	}
	return s.Store.UpdateRows(ctx, fn)
}

// A flush that fails loses nothing: the next one writes what it held, and
// what was noted since, the later of the two.
func TestGatewaySyncsAFailedFlushLosesNothing(t *testing.T) {
	t.Parallel()
	st := &failingRows{}
	ts := newTestService(t, func(c *service.Config) { st.Store = c.Store; c.Store = st })
	a, b := ts.newInstance(t, ts.admin, "a"), ts.newInstance(t, ts.admin, "b")
	ts.fetch(t, a.GatewaySecret, "")
	ts.fetch(t, b.GatewaySecret, "")
	ts.clock.Advance(10 * time.Second)
	ts.fetch(t, a.GatewaySecret, "")
	ts.fetch(t, b.GatewaySecret, "")
	noted := ts.clock.Now()

	st.fail.Store(true)
	if err := ts.FlushGatewaySyncs(t.Context()); err == nil {
		t.Fatal("a flush to a database that fails: no error")
	}
	st.fail.Store(false)
	ts.clock.Advance(10 * time.Second)
	ts.fetch(t, b.GatewaySecret, "") // b syncs again; a does not
	ok(t, ts.FlushGatewaySyncs(t.Context()))
	wantStored(t, ts, a.ID, "a, noted before the failed flush", noted)
	wantStored(t, ts, b.ID, "b, noted before and after it", ts.clock.Now())
}

// RunGatewaySyncs writes what is noted when it is told to stop: the server
// stops it after its last request.
func TestGatewaySyncsWrittenWhenStopping(t *testing.T) {
	t.Parallel()
	ts := newTestService(t)
	i := ts.newInstance(t, ts.admin, "edge")
	ts.fetch(t, i.GatewaySecret, "")
	ctx, stop := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { ts.RunGatewaySyncs(ctx); close(done) }()
	ts.clock.Advance(10 * time.Second)
	ts.fetch(t, i.GatewaySecret, "")
	stop()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("RunGatewaySyncs still runs 10 s after it was told to stop")
	}
	wantStored(t, ts, i.ID, "after RunGatewaySyncs stopped", ts.clock.Now())
}
