package service

import (
	"context"
	"errors"
	"time"

	"github.com/driverhub/driverhub"
)

// Rollouts (SPEC §10): what users ask of them. The server drives them on
// (rollouts_drive.go), deploying each target through deployInTx like any
// deployment (rollouts_deploy.go).

// CreateRollout checks the input (400 naming every bad field), resolves the
// driver and version, fixes the targets (422 when none, or when the version
// cannot be rolled out; 409 when an active rollout of the driver shares an
// instance) and stores the rollout with wave 1 started, unless paused. The
// server deploys the wave right after.
func (s *Service) CreateRollout(ctx context.Context, in driverhub.RolloutInput) (*driverhub.Rollout, error) {
	p, err := authorize(ctx, driverhub.RoleDeveloper)
	if err != nil {
		return nil, err
	}
	var errs driverhub.FieldErrors
	errs.Add(normalRolloutInput(&in))
	errs.Append(in.Check())
	var ps problems
	ps.add("rollout", errs...)
	if err := ps.err(); err != nil {
		return nil, err
	}
	now := s.timestamp()
	r := newRollout(in, p, now)
	var targets []*driverhub.RolloutTarget
	err = s.store.Update(ctx, func(tx driverhub.Tx) error {
		if targets, err = s.planRollout(ctx, tx, p, r, in); err != nil {
			return err
		}
		if err := tx.CreateRollout(ctx, r); err != nil {
			return err
		}
		if err := tx.CreateRolloutTargets(ctx, targets); err != nil {
			return err
		}
		events := []*driverhub.RolloutEvent{rolloutEvent(r, now, driverhub.EventCreated, 0, createdMessage(r, p, targets))}
		if r.State == driverhub.RolloutRunning {
			events = append(events, waveStarted(r, now, waveSizeOf(targets, 1)))
		}
		return addEvents(ctx, tx, events...)
	})
	if err != nil {
		return nil, err
	}
	s.log.Info("rollout created", "rollout", r.ID, "name", r.Name, "driver", r.Driver, "version", r.Version, "targets", len(targets))
	s.kickRollouts(r.ID)
	return r, s.store.View(ctx, func(tx driverhub.Tx) error { return presentRollout(ctx, tx, r, true) })
}

// newRollout is the rollout an input makes, with the defaults applied.
func newRollout(in driverhub.RolloutInput, p *driverhub.Principal, now time.Time) *driverhub.Rollout {
	r := &driverhub.Rollout{ID: driverhub.NewID(), TenantID: p.TenantID, Name: in.Name, Version: in.Version,
		Selector: &in.Selector, Percents: in.Waves, SuccessThreshold: driverhub.DefaultSuccessThreshold,
		FailureThreshold: driverhub.DefaultFailureThreshold, WaveTimeout: driverhub.DefaultWaveTimeout,
		OnAbort: in.OnAbort, State: driverhub.RolloutRunning, Wave: 1, CreatedBy: p.Username, CreatedAt: now, UpdatedAt: now}
	if r.Percents == nil {
		r.Percents = driverhub.DefaultRolloutWaves
	}
	set(&r.SuccessThreshold, in.SuccessThreshold)
	set(&r.FailureThreshold, in.FailureThreshold)
	if d, err := time.ParseDuration(in.WaveTimeout); err == nil && in.WaveTimeout != "" {
		r.WaveTimeout = d
	}
	if r.OnAbort == "" {
		r.OnAbort = driverhub.OnAbortRollback
	}
	if in.Paused {
		r.State = driverhub.RolloutPaused
	} else {
		r.WaveStartedAt = &now
	}
	return r
}

func createdMessage(r *driverhub.Rollout, p *driverhub.Principal, targets []*driverhub.RolloutTarget) driverhub.Message {
	skipped := 0
	for _, t := range targets {
		if t.State == driverhub.TargetSkipped {
			skipped++
		}
	}
	return driverhub.Messagef("created by %s: %s %s to %d instances in %d waves (%d skipped)",
		p.Username, r.Driver, r.Version, len(targets)-skipped, len(r.Percents), skipped)
}

// GetRollout returns a rollout with its waves, counts, selector and events.
func (s *Service) GetRollout(ctx context.Context, id string) (*driverhub.Rollout, error) {
	p, err := authorize(ctx, driverhub.RoleViewer)
	if err != nil {
		return nil, err
	}
	var r *driverhub.Rollout
	err = s.store.View(ctx, func(tx driverhub.Tx) error {
		if r, err = rolloutOf(ctx, tx, p, id); err != nil {
			return err
		}
		return presentRollout(ctx, tx, r, true)
	})
	return r, err
}

func rolloutOf(ctx context.Context, tx driverhub.Tx, p *driverhub.Principal, id string) (*driverhub.Rollout, error) {
	r, err := tx.RolloutByID(ctx, p.TenantID, id)
	return r, notFound(err, "rollout", id)
}

// ListRollouts lists the tenant's rollouts, newest first, with their waves
// and counts (without selector and events: GetRollout has them).
func (s *Service) ListRollouts(ctx context.Context, page driverhub.Page) (driverhub.List[*driverhub.Rollout], error) {
	var out driverhub.List[*driverhub.Rollout]
	p, err := authorize(ctx, driverhub.RoleViewer)
	if err != nil {
		return out, err
	}
	err = s.store.View(ctx, func(tx driverhub.Tx) error {
		if out, err = tx.ListRollouts(ctx, p.TenantID, page); err != nil {
			return err
		}
		for _, r := range out.Items {
			if err := presentRollout(ctx, tx, r, false); err != nil {
				return err
			}
		}
		return nil
	})
	return out, err
}

// ListRolloutTargets lists a rollout's targets by instance name: all of
// them, or those in one state.
func (s *Service) ListRolloutTargets(ctx context.Context, id string, state driverhub.TargetState, page driverhub.Page) (driverhub.List[*driverhub.RolloutTarget], error) {
	var out driverhub.List[*driverhub.RolloutTarget]
	p, err := authorize(ctx, driverhub.RoleViewer)
	if err != nil {
		return out, err
	}
	if state != "" && !state.Valid() {
		return out, driverhub.Invalid("state", "must be one of %s", driverhub.Words(driverhub.AllTargetStates))
	}
	err = s.store.View(ctx, func(tx driverhub.Tx) error {
		if _, err := rolloutOf(ctx, tx, p, id); err != nil {
			return err
		}
		out, err = tx.ListRolloutTargets(ctx, id, state, page)
		return err
	})
	for _, t := range out.Items {
		presentTarget(t)
	}
	return out, err
}

// PauseRollout stops a running rollout from starting waves. Deployments
// under way go on, and the thresholds still hold: a paused rollout whose
// current wave fails still aborts.
func (s *Service) PauseRollout(ctx context.Context, id string) (*driverhub.Rollout, error) {
	return s.changeRollout(ctx, id, func(r *driverhub.Rollout, p *driverhub.Principal, now time.Time) (*driverhub.RolloutEvent, error) {
		if r.State != driverhub.RolloutRunning {
			return nil, rolloutIs(r, "only a running rollout can be paused")
		}
		r.State = driverhub.RolloutPaused
		return rolloutEvent(r, now, driverhub.EventPaused, 0, driverhub.Messagef("paused by %s", p.Username)), nil
	})
}

// ResumeRollout lets a paused rollout go on: its current wave starts now
// if it had not.
func (s *Service) ResumeRollout(ctx context.Context, id string) (*driverhub.Rollout, error) {
	return s.changeRollout(ctx, id, func(r *driverhub.Rollout, p *driverhub.Principal, now time.Time) (*driverhub.RolloutEvent, error) {
		if r.State != driverhub.RolloutPaused {
			return nil, rolloutIs(r, "only a paused rollout can be resumed")
		}
		r.State = driverhub.RolloutRunning
		return rolloutEvent(r, now, driverhub.EventResumed, 0, driverhub.Messagef("resumed by %s", p.Username)), nil
	})
}

// CancelRollout ends an active rollout: no wave starts any more, and the
// deployments already made finish as they will.
func (s *Service) CancelRollout(ctx context.Context, id string) (*driverhub.Rollout, error) {
	return s.changeRollout(ctx, id, func(r *driverhub.Rollout, p *driverhub.Principal, now time.Time) (*driverhub.RolloutEvent, error) {
		if !r.State.Active() {
			return nil, rolloutIs(r, "only a running or paused rollout can be cancelled")
		}
		why := driverhub.Messagef("cancelled by %s", p.Username)
		r.State, r.FinishedAt = driverhub.RolloutCancelled, &now
		r.SetReason(why)
		return rolloutEvent(r, now, driverhub.EventCancelled, 0, why), nil
	})
}

func rolloutIs(r *driverhub.Rollout, rule driverhub.Word) error {
	return driverhub.Errorf(driverhub.EConflict, "rollout %s is %s: %s", r.Name, r.State, rule)
}

// changeRollout applies a user's change to a rollout as one step, and
// kicks the rollout so that the server acts on it at once.
func (s *Service) changeRollout(ctx context.Context, id string, change func(*driverhub.Rollout, *driverhub.Principal, time.Time) (*driverhub.RolloutEvent, error)) (*driverhub.Rollout, error) {
	p, err := authorize(ctx, driverhub.RoleDeveloper)
	if err != nil {
		return nil, err
	}
	var r *driverhub.Rollout
	err = s.store.Update(ctx, func(tx driverhub.Tx) error {
		if r, err = rolloutOf(ctx, tx, p, id); err != nil {
			return err
		}
		now := s.timestamp()
		e, err := change(r, p, now)
		if err != nil {
			return err
		}
		events := []*driverhub.RolloutEvent{e}
		if r.State == driverhub.RolloutRunning && r.WaveStartedAt == nil {
			r.WaveStartedAt = &now
			counts, err := tx.CountRolloutTargets(ctx, r.ID, r.Wave)
			if err != nil {
				return err
			}
			events = append(events, waveStarted(r, now, tallyOf(counts, r.Wave).size))
		}
		r.UpdatedAt = now
		if err := stepErr(tx.UpdateRollout(ctx, r)); err != nil {
			return err
		}
		return addEvents(ctx, tx, events...)
	})
	if err != nil {
		return nil, err
	}
	s.log.Info("rollout changed", "rollout", r.ID, "state", r.State, "by", p.Username)
	s.kickRollouts(r.ID)
	return r, s.store.View(ctx, func(tx driverhub.Tx) error { return presentRollout(ctx, tx, r, true) })
}

// stepErr explains a step lost to another writer (only possible below
// serializable isolation, where the store cannot retry it by itself).
func stepErr(err error) error {
	if errors.Is(err, driverhub.ErrConflict) {
		return driverhub.Errorf(driverhub.EConflict, "the rollout changed while this request ran: try again")
	}
	return err
}

// rolloutEvent is an entry of r's log; its message keeps its format and
// arguments, so that a console shows it in its reader's language.
func rolloutEvent(r *driverhub.Rollout, at time.Time, typ driverhub.RolloutEventType, wave int, msg driverhub.Message) *driverhub.RolloutEvent {
	return &driverhub.RolloutEvent{ID: driverhub.NewID(), RolloutID: r.ID, Time: at, Type: typ, Wave: wave,
		Message: msg.String(), Format: msg.Format, Args: msg.Args}
}

func waveStarted(r *driverhub.Rollout, at time.Time, size int) *driverhub.RolloutEvent {
	return rolloutEvent(r, at, driverhub.EventWaveStarted, r.Wave,
		driverhub.Messagef("wave %d of %d started: %d targets (%d%% of the rollout)", r.Wave, len(r.Percents), size, r.Percents[r.Wave-1]))
}

func addEvents(ctx context.Context, tx driverhub.Tx, events ...*driverhub.RolloutEvent) error {
	for _, e := range events {
		if err := tx.AddRolloutEvent(ctx, e); err != nil {
			return err
		}
	}
	return nil
}

// presentRollout fills a rollout's view: counts by target state, waves,
// and (full) its events; a list leaves out selector and events.
func presentRollout(ctx context.Context, tx driverhub.Tx, r *driverhub.Rollout, full bool) error {
	counts, err := tx.CountRolloutTargets(ctx, r.ID, 0)
	if err != nil {
		return err
	}
	r.Counts = map[driverhub.TargetState]int{}
	for _, st := range driverhub.AllTargetStates {
		r.Counts[st] = 0
	}
	for _, c := range counts {
		r.Counts[c.State] += c.N
	}
	r.Waves = make([]driverhub.RolloutWave, len(r.Percents))
	for k, pct := range r.Percents {
		t := tallyOf(counts, k+1)
		r.Waves[k] = driverhub.RolloutWave{Number: k + 1, Percent: pct, Size: t.size, State: waveState(r, k+1),
			Succeeded: t.succeeded, Failed: t.failed, Pending: t.unfinished, RolledBack: t.rolledBack}
	}
	if !full {
		r.Selector = nil
		return nil
	}
	events, err := tx.RolloutEvents(ctx, r.ID)
	r.Events = events
	return err
}

// waveState derives the state of wave k from the rollout's: waves before
// the current one succeeded (a rollout only moves past a wave that did).
func waveState(r *driverhub.Rollout, k int) driverhub.WaveState {
	switch {
	case k < r.Wave:
		return driverhub.WaveSucceeded
	case k > r.Wave && r.State.Active():
		return driverhub.WaveWaiting
	case k > r.Wave:
		return driverhub.WaveStopped
	}
	switch r.State {
	case driverhub.RolloutSucceeded:
		return driverhub.WaveSucceeded
	case driverhub.RolloutAborted:
		return driverhub.WaveFailed
	case driverhub.RolloutCancelled:
		return driverhub.WaveStopped
	}
	if r.WaveStartedAt == nil {
		return driverhub.WaveWaiting
	}
	return driverhub.WaveRunning
}

// RolloutStats counts rollouts by state, and the targets of active ones by
// state, across tenants: the server's metrics read it at each scrape.
func (s *Service) RolloutStats(ctx context.Context) (driverhub.RolloutStats, error) {
	var st driverhub.RolloutStats
	err := s.store.View(ctx, func(tx driverhub.Tx) (err error) {
		st, err = tx.RolloutStats(ctx)
		return err
	})
	return st, err
}
