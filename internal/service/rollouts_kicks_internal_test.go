package service

import (
	"context"
	"testing"
	"time"

	"github.com/driverhub/driverhub"
)

// A wave that goes on can pass once enough of its deployments succeed:
// what the rollout loop waits for before it counts the wave again.
func TestFinishesToPass(t *testing.T) {
	for _, c := range []struct {
		name      string
		threshold int
		tally     waveTally
		want      int
	}{
		{"all must succeed", 100, waveTally{size: 4000, succeeded: 3747, unfinished: 253}, 253},
		{"95% of 100, 90 succeeded", 95, waveTally{size: 100, succeeded: 90, unfinished: 8, failed: 2}, 5},
		{"95% of 7 rounds up to 7", 95, waveTally{size: 7, succeeded: 5, unfinished: 2}, 2},
		{"threshold reached, one target unfinished", 50, waveTally{size: 10, succeeded: 6, unfinished: 4}, 1},
		{"targets still wait to be deployed", 100, waveTally{size: 10, succeeded: 2, unfinished: 8, waiting: 3}, 0},
	} {
		r := &driverhub.Rollout{SuccessThreshold: c.threshold}
		if got := finishesToPass(r, c.tally); got != c.want {
			t.Errorf("%s: %d, want %d", c.name, got, c.want)
		}
	}
}

// The loop may count again once as many deployments finished (each
// counted once) as the nearest wave needs; a take starts over.
func TestKicksMayPassOnceEnoughFinished(t *testing.T) {
	k := newRolloutKicks()
	k.follow([]string{"d1", "d2"})
	if k.mayPass() {
		t.Fatal("may pass with no wave counted")
	}
	k.expect(5)
	k.expect(3) // the nearest wave counts
	k.expect(0) // none: ignored
	if k.mayPass() {
		t.Fatal("may pass after 2 of 3 finishes")
	}
	k.follow([]string{"d2"}) // again: still two
	if k.mayPass() {
		t.Fatal("a deployment finished twice counted twice")
	}
	k.follow([]string{"d3"})
	if !k.mayPass() {
		t.Fatal("3 of 3 finishes: not told to count")
	}
	k.take()
	k.follow([]string{"d4", "d5", "d6"})
	if k.mayPass() {
		t.Fatal("may pass after a take, with no wave counted since")
	}
}

// The pause after a drive ends as soon as a counted wave may pass, and
// at its end otherwise; either way the kicks that came during it are
// driven next (the loop is woken again).
func TestGatherKicksEndsEarlyForAWaveThatMayPass(t *testing.T) {
	s := &Service{kicks: newRolloutKicks()}
	ctx := context.Background()

	// Not enough finishes: the pause runs out, and the kicks stay due.
	s.kicks.expect(3)
	s.kicks.follow([]string{"d1", "d2"})
	s.gatherKicks(ctx, 10*time.Millisecond)
	select {
	case <-s.kicks.wake:
	default:
		t.Fatal("the kicks that came during the pause were left undriven")
	}

	// Enough: the pause (an hour) ends with the finish that completes it.
	s.kicks.take()
	s.kicks.expect(2)
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.gatherKicks(ctx, time.Hour)
	}()
	s.kicks.follow([]string{"d1"})
	s.kicks.follow([]string{"d2"})
	select {
	case <-done:
	case <-time.After(time.Minute):
		t.Fatal("the pause did not end when the wave could pass")
	}
	select {
	case <-s.kicks.wake:
	default:
		t.Fatal("the loop was not woken to count the wave")
	}
}
