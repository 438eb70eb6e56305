package service

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/driverhub/driverhub"
)

// The server drives rollouts: it decides each wave's outcome, starts the
// next wave, aborts and rolls back. A rollout is looked at as soon as one
// of its targets' deployments finishes (the deployment paths kick it:
// report, deploy timeout, supersede, close), and by a slow sweep of every
// rollout still moving, which times waves out and resumes what a restart
// or another replica's failure interrupted. Each step is a conditional
// write of the rollout (its step counter), and each target is claimed by
// a conditional write of the target, so that replicas driving one rollout
// at the same time still take every step, and deploy every target, once.

// rolloutKicks are the rollouts to look at soon, coalesced: a thousand
// reports of one wave make one evaluation, not a thousand.
type rolloutKicks struct {
	mu  sync.Mutex
	ids map[string]struct{}
	// finished are deployments finished since the loop last looked, whose
	// rollouts (if any) are to be kicked.
	finished map[string]struct{}
	// toPass is the fewest deployments that must finish before a wave
	// counted since the loop last looked can pass (0: none known).
	toPass int
	wake   chan struct{}
	// cost is how long the last count of a wave's targets took.
	cost atomic.Int64
}

func newRolloutKicks() *rolloutKicks {
	return &rolloutKicks{ids: map[string]struct{}{}, finished: map[string]struct{}{}, wake: make(chan struct{}, 1)}
}

// follow notes finished deployments for the loop; it never blocks.
func (k *rolloutKicks) follow(deploymentIDs []string) { k.note(k.finished, deploymentIDs) }

// kickRollouts asks for the rollouts to be looked at soon; it never blocks.
func (s *Service) kickRollouts(ids ...string) { s.kicks.note(s.kicks.ids, ids) }

// note adds ids to set, one of k's, and wakes the loop.
func (k *rolloutKicks) note(set map[string]struct{}, ids []string) {
	if len(ids) == 0 {
		return
	}
	k.mu.Lock()
	for _, id := range ids {
		set[id] = struct{}{}
	}
	k.mu.Unlock()
	select {
	case k.wake <- struct{}{}:
	default:
	}
}

// take returns the rollouts kicked and the deployments finished since it
// last ran.
func (k *rolloutKicks) take() (ids, finished []string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	ids, finished = slices.Sorted(maps.Keys(k.ids)), slices.Sorted(maps.Keys(k.finished))
	clear(k.ids)
	clear(k.finished)
	k.toPass = 0
	return ids, finished
}

// expect notes that a wave just counted can pass once n more of its
// deployments finish (n > 0).
func (k *rolloutKicks) expect(n int) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if n > 0 && (k.toPass == 0 || n < k.toPass) {
		k.toPass = n
	}
}

// mayPass reports whether enough deployments finished since the loop
// last looked for a wave it counted to pass: an upper bound (they may be
// other waves' or other rollouts'), for the loop to count again now.
func (k *rolloutKicks) mayPass() bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.toPass > 0 && len(k.finished) >= k.toPass
}

// rewake wakes the loop again, for kicks it consumed while pausing.
func (k *rolloutKicks) rewake() {
	select {
	case k.wake <- struct{}{}:
	default:
	}
}

// kickPause is the least the loop lets kicks gather after driving the
// kicked rollouts: a wave is judged once for the many reports that came
// meanwhile, rather than once per report. Counting a wave of thousands
// reads indexes only (a few milliseconds); a shorter pause would only
// count it more often, with the CPU the wave's gateways need.
const kickPause = 50 * time.Millisecond

// RunRollouts drives rollouts until ctx ends: those kicked at once, and
// every rollout still moving every sweep, starting with one sweep (which
// resumes what a restart interrupted).
func (s *Service) RunRollouts(ctx context.Context, sweep time.Duration) {
	t := time.NewTicker(sweep)
	defer t.Stop()
	s.logDrive(ctx, s.SweepRollouts(ctx))
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.kicks.wake:
			_, err := s.DriveKickedRollouts(ctx)
			s.logDrive(ctx, err)
			s.gatherKicks(ctx, min(max(kickPause, 2*time.Duration(s.kicks.cost.Load())), time.Second))
		case <-t.C:
			s.logDrive(ctx, s.SweepRollouts(ctx))
		}
	}
}

// gatherKicks lets the kicks of a wave's reports gather before the next
// drive: one count of the targets per pause rather than one per report
// (RunRollouts makes the pause twice as long as a count took, so that
// counting a large wave's targets over and over takes at most a third of
// a CPU), kicks that came meanwhile driven right after. The pause ends
// early once as many deployments finished as a wave counted needs
// to pass, so that the report completing a wave is judged at once rather
// than up to a pause later (an abort, which any failure may decide, waits
// for the pause: counting at every failure of a wave would cost more).
func (s *Service) gatherKicks(ctx context.Context, pause time.Duration) {
	t := time.NewTimer(pause)
	defer t.Stop()
	woken := false
	defer func() {
		if woken {
			s.kicks.rewake()
		}
	}()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			return
		case <-s.kicks.wake:
			woken = true
			if s.kicks.mayPass() {
				return
			}
		}
	}
}

func (s *Service) logDrive(ctx context.Context, err error) {
	if err != nil && ctx.Err() == nil {
		s.log.Error("drive rollouts", "err", err)
	}
}

// DriveKickedRollouts drives the rollouts kicked since it last ran, and
// those of the deployments finished since, and returns how many. RunRollouts calls it; tests call it to settle.
func (s *Service) DriveKickedRollouts(ctx context.Context) (int, error) {
	ids, finished := s.kicks.take()
	if len(finished) > 0 {
		var of []string
		if err := s.store.View(ctx, func(tx driverhub.Tx) (err error) {
			of, err = tx.RolloutsOfDeployments(ctx, finished)
			return err
		}); err != nil {
			// The sweep looks at every moving rollout soon anyway.
			s.log.Warn("find the rollouts of finished deployments", "err", err)
		}
		ids = slices.Compact(slices.Sorted(slices.Values(append(ids, of...))))
	}
	var errs []error
	for _, id := range ids {
		errs = append(errs, s.driveRollout(ctx, id))
	}
	return len(ids), errors.Join(errs...)
}

// SweepRollouts drives every rollout the server still moves: timed-out
// waves end, waves started but not deployed (a restart, a replica gone)
// get deployed, kicks lost with a replica are made up for.
func (s *Service) SweepRollouts(ctx context.Context) error {
	var rs []*driverhub.Rollout
	if err := s.store.View(ctx, func(tx driverhub.Tx) (err error) {
		rs, err = tx.RolloutsToDrive(ctx)
		return err
	}); err != nil {
		return err
	}
	var errs []error
	for _, r := range rs {
		errs = append(errs, s.driveRollout(ctx, r.ID))
	}
	return errors.Join(errs...)
}

// driveRollout takes every step a rollout can take now, and deploys (or
// rolls back) what the steps call for, until nothing changes.
func (s *Service) driveRollout(ctx context.Context, id string) error {
	for {
		r, waiting, err := s.stepRollout(ctx, id)
		if err != nil {
			return fmt.Errorf("rollout %s: %w", id, err)
		}
		var did int
		switch {
		// A wave with no target left to deploy takes no batch: a batch
		// writes (its lease), and its write would queue behind the wave's
		// reports, delaying the next count that decides the wave.
		case r.State == driverhub.RolloutRunning && r.WaveStartedAt != nil && waiting != 0:
			did, err = s.deployWaiting(ctx, r.ID)
		case r.State == driverhub.RolloutAborted && r.Rollback == driverhub.RollbackPending:
			did, err = s.rollBack(ctx, r.ID)
		}
		if err != nil {
			return fmt.Errorf("rollout %s: %w", id, err)
		}
		if did == 0 {
			return nil
		}
	}
}

// errStaleStep: the rollout moved since its targets were counted.
var errStaleStep = errors.New("rollout moved since it was read")

// stepRollout takes every step the rollout's current wave calls for now
// (an advance may land on a wave with no targets left, which passes at
// once), and returns the rollout as it ends, with how many targets of its
// wave wait to be deployed (-1: not counted). Targets are counted in a
// read-only snapshot, outside the step's transaction: their outcomes only
// ever move forward, so a verdict that holds on a snapshot still holds,
// and the step's own transaction stays small (under PostgreSQL's
// serializable updates, a transaction reading every target would make the
// gateways' reports, which write targets, fail to serialize).
func (s *Service) stepRollout(ctx context.Context, id string) (*driverhub.Rollout, int, error) {
	var r *driverhub.Rollout
	for range 4*driverhub.MaxRolloutWaves + 4 {
		var counts []driverhub.TargetCount
		err := s.store.View(ctx, func(tx driverhub.Tx) (err error) {
			if r, err = tx.RolloutByID(ctx, "", id); err != nil || !r.State.Active() || r.WaveStartedAt == nil {
				return err
			}
			start := time.Now()
			counts, err = tx.CountRolloutTargets(ctx, r.ID, r.Wave)
			s.kicks.cost.Store(int64(time.Since(start)))
			return err
		})
		if err != nil || counts == nil {
			return r, -1, err
		}
		now := s.timestamp()
		t := tallyOf(counts, r.Wave)
		timedOut := t.unfinished > 0 && !now.Before(r.WaveStartedAt.Add(r.WaveTimeout))
		if verdict, _ := judgeWave(r, t); verdict == waveGoesOn && !timedOut {
			s.kicks.expect(finishesToPass(r, t))
			return r, t.waiting, nil
		}
		err = s.store.UpdateFirst(ctx, func(tx driverhub.Tx) error {
			cur, err := tx.RolloutByID(ctx, "", id)
			if err != nil {
				return err
			}
			if cur.Step != r.Step {
				return errStaleStep
			}
			return s.takeStep(ctx, tx, cur, counts, timedOut, now)
		})
		if err != nil && !errors.Is(err, errStaleStep) && !errors.Is(err, driverhub.ErrConflict) {
			return r, -1, err
		}
	}
	return r, -1, nil
}

// takeStep takes the step the current wave calls for: abort, or pass (to
// the next wave, or success). A timed-out wave's unfinished targets fail
// first.
func (s *Service) takeStep(ctx context.Context, tx driverhub.Tx, r *driverhub.Rollout, counts []driverhub.TargetCount, timedOut bool, now time.Time) error {
	t := tallyOf(counts, r.Wave)
	if timedOut {
		n, err := tx.FailUnfinishedTargets(ctx, r.ID, r.Wave, []driverhub.Problem{driverhub.NewProblem(fmt.Sprintf("wave %d", r.Wave),
			driverhub.ProblemWaveTimeout, "no final report within the wave timeout (%s): counted as failed", driverhub.FormatDuration(r.WaveTimeout))}, now)
		if err != nil {
			return err
		}
		t.failed, t.unfinished, t.waiting = t.failed+n, 0, 0
	}
	verdict, why := judgeWave(r, t)
	var events []*driverhub.RolloutEvent
	switch verdict {
	case waveGoesOn:
		return nil
	case waveFails:
		r.State, r.FinishedAt = driverhub.RolloutAborted, &now
		r.SetReason(why)
		if r.OnAbort == driverhub.OnAbortRollback {
			r.Rollback = driverhub.RollbackPending
		}
		events = append(events, rolloutEvent(r, now, driverhub.EventAborted, r.Wave, driverhub.Messagef("aborted: %s", why)))
	case wavePasses:
		events = append(events, rolloutEvent(r, now, driverhub.EventWaveSucceeded, r.Wave, why))
		if r.Wave == len(r.Percents) {
			r.State, r.FinishedAt = driverhub.RolloutSucceeded, &now
			r.SetReason(driverhub.Message{})
			events = append(events, rolloutEvent(r, now, driverhub.EventSucceeded, 0,
				driverhub.Messagef("succeeded: all %d waves passed", len(r.Percents))))
			break
		}
		r.Wave, r.WaveStartedAt = r.Wave+1, nil
		if r.State == driverhub.RolloutRunning {
			next, err := tx.CountRolloutTargets(ctx, r.ID, r.Wave)
			if err != nil {
				return err
			}
			r.WaveStartedAt = &now
			events = append(events, waveStarted(r, now, tallyOf(next, r.Wave).size))
		}
	}
	r.UpdatedAt = now
	if err := tx.UpdateRollout(ctx, r); err != nil {
		return err
	}
	s.log.Info("rollout step", "rollout", r.ID, "state", r.State, "wave", r.Wave, "why", why.String())
	return addEvents(ctx, tx, events...)
}

// A wave's verdict.
const (
	waveGoesOn = iota
	waveFails
	wavePasses
)

// finishesToPass is how many more of a wave's deployments must succeed
// before it passes (at least one, as it goes on), or 0 while targets wait
// to be deployed: finishes alone cannot pass it then.
func finishesToPass(r *driverhub.Rollout, t waveTally) int {
	if t.waiting > 0 {
		return 0
	}
	return max(successesNeeded(r, t.size)-t.succeeded, 1)
}

// successesNeeded is how many of a wave of size targets must succeed for
// it to pass: success_threshold% of them, rounded up.
func successesNeeded(r *driverhub.Rollout, size int) int {
	return (r.SuccessThreshold*size + 99) / 100
}

// judgeWave applies the thresholds to a wave (SPEC §10): it fails as soon
// as its failed targets exceed failure_threshold% of its size, or when
// success_threshold% can no longer be reached; it passes once every target
// is deployed and its succeeded ones reach success_threshold%. A wave
// with no targets left passes.
func judgeWave(r *driverhub.Rollout, t waveTally) (int, driverhub.Message) {
	k, size := r.Wave, t.size
	switch {
	case size == 0:
		return wavePasses, driverhub.Messagef("wave %d passed: it has no targets left", k)
	case t.failed*100 > r.FailureThreshold*size:
		return waveFails, driverhub.Messagef("wave %d: %d of %d targets failed (%d%%), above the failure threshold of %d%%",
			k, t.failed, size, t.failed*100/size, r.FailureThreshold)
	case t.succeeded+t.unfinished < successesNeeded(r, size):
		return waveFails, driverhub.Messagef("wave %d can no longer reach the success threshold of %d%%: %d of %d targets succeeded, %d failed",
			k, r.SuccessThreshold, t.succeeded, size, t.failed)
	case t.waiting == 0 && t.succeeded >= successesNeeded(r, size):
		return wavePasses, driverhub.Messagef("wave %d passed: %d of %d targets succeeded (%d%%), the success threshold is %d%%",
			k, t.succeeded, size, t.succeeded*100/size, r.SuccessThreshold)
	}
	return waveGoesOn, driverhub.Message{}
}
