package service

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/driverhub/driverhub"
)

// defaultRolloutBatch is how many targets one transaction deploys or rolls
// back: many, since a batch's shared reads (driver, version, policy) are
// made once (batchTx) and each commit waits for the disk; few enough that
// while the one writer makes a batch, the gateways of the batch before
// are being answered and report (a batch of 1,000 left one of two cores
// idle for about 100 ms each, the writer working alone), and that the
// reports queued behind a batch are not held long.
const defaultRolloutBatch = 500

// errTargetTaken stops a batch whose target another writer claimed first
// (below serializable isolation): the batch is undone and read again.
var errTargetTaken = errors.New("rollout target claimed by another writer")

// rolloutPrincipal is who a rollout's deployments are made as: its
// creator's tenant, as a developer.
func rolloutPrincipal(r *driverhub.Rollout) *driverhub.Principal {
	return &driverhub.Principal{TenantID: r.TenantID, Username: r.CreatedBy, Role: driverhub.RoleDeveloper}
}

// batchFn handles one target of a batch in tx; it returns the deployment
// it made (nil for none) and the deployments it superseded.
type batchFn func(ctx context.Context, tx driverhub.Tx, r *driverhub.Rollout, t *driverhub.RolloutTarget, now time.Time) (*driverhub.Deployment, []string, error)

// batchWork is what inBatches does: while the rollout is in a state want
// accepts, the targets pick returns, each through fn.
type batchWork struct {
	want func(*driverhub.Rollout) bool
	pick func(context.Context, driverhub.Tx, *driverhub.Rollout) ([]*driverhub.RolloutTarget, error)
	fn   batchFn
}

// rolloutLease is how long a server holds a rollout's batch work without
// renewing it (it renews with each batch). A server that dies holding it
// delays its rollout this long.
const rolloutLease = 10 * time.Second

// inBatches runs the work a batch per transaction, under the rollout's
// lease: one server at a time, so that replicas do not contend for the
// same targets (claims would keep them correct, not fast). Each batch's
// gateways get their deployments as soon as it commits (handed to those
// long-polling here, woken elsewhere), and each batch goes ahead of the
// updates queued for the writer (UpdateFirst): the reports of the
// gateways served wait for the next batch (one at most: the store then
// lets them through), rather than the wave's last gateways waiting for
// those reports. Done, it releases the lease and looks once more: work
// that appeared while it held the lease (the next wave, started by
// another replica that found the lease taken) is its to do. It returns
// how many targets it handled.
func (s *Service) inBatches(ctx context.Context, id string, w batchWork) (int, error) {
	total, start := 0, time.Now()
	defer func() {
		if total > 0 {
			s.log.Info("rollout targets handled", "rollout", id, "targets", total, "took", time.Since(start))
		}
	}()
	for {
		n, held, woken, err := s.runBatch(ctx, id, w)
		s.deployed(ctx, woken...)
		switch {
		case errors.Is(err, errTargetTaken):
			continue
		case err != nil:
			return total, err
		case !held:
			return total, nil // another server is at it
		case n > 0:
			total += n
			continue
		}
		if err := s.store.Update(ctx, func(tx driverhub.Tx) error {
			_, err := tx.LeaseRollout(ctx, id, s.replica, time.Time{}, s.timestamp())
			return err
		}); err != nil {
			return total, err
		}
		var more []*driverhub.RolloutTarget
		if err := s.store.View(ctx, func(tx driverhub.Tx) error {
			r, err := tx.RolloutByID(ctx, "", id)
			if err == nil && w.want(r) {
				more, err = w.pick(ctx, tx, r)
			}
			return err
		}); err != nil || len(more) == 0 {
			return total, err
		}
	}
}

// runBatch takes or renews the lease and handles one batch, in one
// transaction. The gateways of the batch that long-poll here are handed
// their deployments at its commit (handoff.go); it returns the others'
// deployments (committed), for their gateways to be woken. It has the
// rollouts of the deployments it superseded follow.
func (s *Service) runBatch(ctx context.Context, id string, w batchWork) (n int, held bool, woken []*driverhub.Deployment, err error) {
	var replaced []string
	var claimed map[string]*claimedPoll
	var handing []*claimedPoll
	committed := false
	defer func() {
		if !committed {
			s.releasePolls(claimed)
		}
	}()
	err = s.store.UpdateFirst(ctx, func(tx driverhub.Tx) error {
		s.releasePolls(claimed) // run again: from the start
		woken, replaced, claimed, handing, n, held = nil, nil, nil, nil, 0, false
		bt := newBatchTx(tx)
		tx = bt
		r, err := tx.RolloutByID(ctx, "", id)
		if err != nil || !w.want(r) {
			held = true // nothing to do: as good as done
			return err
		}
		now := s.timestamp()
		if held, err = tx.LeaseRollout(ctx, id, s.replica, now.Add(rolloutLease), now); err != nil || !held {
			return err
		}
		ts, err := w.pick(ctx, tx, r)
		if err != nil {
			return err
		}
		ids := make([]string, len(ts))
		for k, t := range ts {
			ids[k] = t.InstanceID
		}
		if err := bt.prefetch(ctx, ids); err != nil {
			return err
		}
		claimed = s.claimPolls(ids)
		bt.startFor(claimed, now)
		var made []*driverhub.Deployment
		for _, t := range ts {
			d, k, err := w.fn(ctx, tx, r, t, now)
			if err != nil {
				return fmt.Errorf("target %s: %w", t.Instance, err)
			}
			if d != nil {
				made = append(made, d)
			}
			replaced = append(replaced, k...)
		}
		n = len(ts)
		handing, woken = s.splitClaims(claimed, made)
		return nil
	})
	if err != nil {
		return 0, false, nil, err
	}
	committed = true
	s.handPolls(ctx, handing)
	s.followDeployments(ctx, replaced...)
	return n, held, woken, nil
}

// deployWaiting deploys the waiting targets of the started waves while the
// rollout runs, and returns how many it handled.
func (s *Service) deployWaiting(ctx context.Context, id string) (int, error) {
	return s.inBatches(ctx, id, batchWork{
		want: func(r *driverhub.Rollout) bool { return r.State == driverhub.RolloutRunning && r.WaveStartedAt != nil },
		pick: func(ctx context.Context, tx driverhub.Tx, r *driverhub.Rollout) ([]*driverhub.RolloutTarget, error) {
			return tx.WaitingRolloutTargets(ctx, r.ID, r.Wave, s.batch)
		},
		fn: s.deployTarget})
}

// deployTarget changes the target's binding to the rollout's version and
// deploys its instance through deployInTx, with every check a user's
// deployment gets. A refused deployment (422) leaves the binding as it
// was and fails the target with its problems. An instance that lost the
// driver since the rollout began is superseded: it left the rollout.
func (s *Service) deployTarget(ctx context.Context, tx driverhub.Tx, r *driverhub.Rollout, t *driverhub.RolloutTarget, now time.Time) (*driverhub.Deployment, []string, error) {
	i, b, gone, err := targetBinding(ctx, tx, r, t)
	if err != nil {
		return nil, nil, err
	}
	var deployed *driverhub.Deployment
	var replaced []string
	switch {
	case gone != nil:
		t.State, t.Problems = driverhub.TargetSuperseded, []driverhub.Problem{*gone}
	default:
		before := *b
		b.Version, b.UpdatedAt = r.Version, now
		if err := tx.UpdateBinding(ctx, b); err != nil {
			return nil, nil, err
		}
		var d *driverhub.Deployment
		d, replaced, err = s.deployInTx(ctx, tx, rolloutPrincipal(r), i, driverhub.DeployTypeDeploy)
		if e, ok := driverhub.AsError(err); ok && e.Code == driverhub.EFailedPrecondition {
			t.State, t.Problems = driverhub.TargetFailed, e.Problems
			err = tx.UpdateBinding(ctx, &before)
		} else if err == nil {
			t.State, t.DeploymentID, t.PreviousVersion, deployed = driverhub.TargetPending, d.ID, before.Version, d
		}
		if err != nil {
			return nil, nil, err
		}
	}
	t.UpdatedAt = now
	return deployed, replaced, claim(tx.UpdateRolloutTarget(ctx, t, driverhub.TargetWaiting))
}

func claim(ok bool, err error) error {
	if err == nil && !ok {
		return errTargetTaken
	}
	return err
}

// targetBinding reads the target's instance and its binding of the
// rollout's driver; gone says why there is none any more.
func targetBinding(ctx context.Context, tx driverhub.Tx, r *driverhub.Rollout, t *driverhub.RolloutTarget) (*driverhub.Instance, *driverhub.Binding, *driverhub.Problem, error) {
	lost := func(code driverhub.ProblemCode, format string, args ...any) *driverhub.Problem {
		p := driverhub.NewProblem("instance "+t.Instance, code, format, args...)
		return &p
	}
	i, err := tx.InstanceByID(ctx, t.InstanceID)
	if errors.Is(err, driverhub.ErrNotFound) {
		return nil, nil, lost(driverhub.ProblemInstanceMissing, "instance %s was deleted", t.Instance), nil
	} else if err != nil {
		return nil, nil, nil, err
	}
	// All of them: deployInTx reads them again for the manifest, from the
	// batch's memo (batchTx).
	bindings, err := tx.ListBindings(ctx, i.ID)
	if err != nil {
		return nil, nil, nil, err
	}
	k := slices.IndexFunc(bindings, func(b *driverhub.Binding) bool { return b.Driver == r.Driver })
	switch {
	case k < 0:
		return i, nil, lost(driverhub.ProblemNotBound, "%s was unbound from instance %s", r.Driver, t.Instance), nil
	case bindings[k].DriverID != r.DriverID:
		return i, nil, lost(driverhub.ProblemOtherPublisher, "instance %s was bound to another publisher's %s", t.Instance, r.Driver), nil
	}
	return i, bindings[k], nil, nil
}

// rollBack gives every target whose binding the aborted rollout changed
// its previous version back, with a new deployment; then it records that
// the rollback is done, once.
func (s *Service) rollBack(ctx context.Context, id string) (int, error) {
	n, err := s.inBatches(ctx, id, batchWork{
		want: func(r *driverhub.Rollout) bool { return r.Rollback == driverhub.RollbackPending },
		pick: func(ctx context.Context, tx driverhub.Tx, r *driverhub.Rollout) ([]*driverhub.RolloutTarget, error) {
			return tx.RolloutTargetsToRollBack(ctx, r.ID, s.batch)
		},
		fn: s.rollBackTarget})
	if err != nil {
		return n, err
	}
	err = s.store.Update(ctx, func(tx driverhub.Tx) error {
		r, err := tx.RolloutByID(ctx, "", id)
		if err != nil || r.Rollback != driverhub.RollbackPending {
			return err
		}
		counts, err := tx.CountRolloutTargets(ctx, r.ID, 0)
		if err != nil {
			return err
		}
		back := 0
		for _, c := range counts {
			if c.State == driverhub.TargetRolledBack {
				back += c.N
			}
		}
		now := s.timestamp()
		r.Rollback, r.UpdatedAt = driverhub.RollbackDone, now
		if err := tx.UpdateRollout(ctx, r); err != nil {
			return err
		}
		s.log.Info("rollout rolled back", "rollout", r.ID, "targets", back)
		return addEvents(ctx, tx, rolloutEvent(r, now, driverhub.EventRolledBack, 0, rolledBack(back)))
	})
	if errors.Is(err, driverhub.ErrConflict) {
		err = nil // another replica recorded it
	}
	return n, err
}

// rollBackTarget binds the target's previous version again and deploys it
// (superseding the rollout's own deployment when still in flight). A
// binding that moved on since (a user chose another version) is left
// alone, and so is one whose deployment is refused; the target says why.
func (s *Service) rollBackTarget(ctx context.Context, tx driverhub.Tx, r *driverhub.Rollout, t *driverhub.RolloutTarget, now time.Time) (*driverhub.Deployment, []string, error) {
	from := t.Recorded
	t.State = from // what is written is recorded: a deployed target stays "pending"
	i, b, gone, err := targetBinding(ctx, tx, r, t)
	if err != nil {
		return nil, nil, err
	}
	if gone == nil && b.Version != r.Version {
		p := driverhub.NewProblem("instance "+t.Instance, driverhub.ProblemRollbackBindingGone,
			"%s on %s was bound to version %s since: left as it is", r.Driver, t.Instance, b.Version)
		gone = &p
	}
	if gone != nil {
		return nil, nil, s.refuseRollback(ctx, tx, t, from, now, *gone)
	}
	t.State, t.UpdatedAt = driverhub.TargetRolledBack, now
	if err := claim(tx.UpdateRolloutTarget(ctx, t, from)); err != nil {
		return nil, nil, err
	}
	before := *b
	b.Version, b.UpdatedAt = t.PreviousVersion, now
	if err := tx.UpdateBinding(ctx, b); err != nil {
		return nil, nil, err
	}
	d, replaced, err := s.deployInTx(ctx, tx, rolloutPrincipal(r), i, driverhub.DeployTypeDeploy)
	if e, ok := driverhub.AsError(err); ok && e.Code == driverhub.EFailedPrecondition {
		if err := tx.UpdateBinding(ctx, &before); err != nil {
			return nil, nil, err
		}
		t.State = from
		return nil, nil, s.refuseRollback(ctx, tx, t, driverhub.TargetRolledBack, now, append([]driverhub.Problem{driverhub.NewProblem(
			"instance "+t.Instance, driverhub.ProblemRollbackFailed, "the rollback to %s was refused: %s", t.PreviousVersion, e.Text())}, e.Problems...)...)
	} else if err != nil {
		return nil, nil, err
	}
	t.RollbackDeploymentID = d.ID
	return d, replaced, claim(tx.UpdateRolloutTarget(ctx, t, driverhub.TargetRolledBack))
}

// refuseRollback marks a target whose rollback did not happen, with why.
func (s *Service) refuseRollback(ctx context.Context, tx driverhub.Tx, t *driverhub.RolloutTarget, from driverhub.TargetState, now time.Time, why ...driverhub.Problem) error {
	t.RollbackRefused, t.UpdatedAt = true, now
	t.Problems = append(t.Problems, why...)
	return claim(tx.UpdateRolloutTarget(ctx, t, from))
}

// rolledBack is the event of a rollback of n targets.
func rolledBack(n int) driverhub.Message {
	if n == 1 {
		return driverhub.Messagef("rolled back 1 target to their previous version, each with a new deployment")
	}
	return driverhub.Messagef("rolled back %d targets to their previous version, each with a new deployment", n)
}
