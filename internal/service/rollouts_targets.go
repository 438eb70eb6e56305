package service

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/driverhub/driverhub"
)

// planRollout resolves the rollout's driver and version and fixes its
// targets: every selected instance in order of name, those without the
// driver bound skipped with their reason, the others spread over the
// waves. It refuses what cannot be rolled out (422, every problem at
// once) and an overlap with an active rollout of the driver (409).
func (s *Service) planRollout(ctx context.Context, tx driverhub.Tx, p *driverhub.Principal, r *driverhub.Rollout, in driverhub.RolloutInput) ([]*driverhub.RolloutTarget, error) {
	drv, owner, err := resolveDriver(ctx, tx, p, in.Publisher, in.Driver)
	if err != nil {
		return nil, err
	}
	v, err := resolveVersion(ctx, tx, drv, owner.ID == p.TenantID, in.Version)
	if err != nil {
		return nil, err
	}
	r.DriverID, r.Driver, r.PublisherID, r.Publisher = drv.ID, drv.Name, owner.ID, owner.Name
	var problems []driverhub.Problem
	res := "version " + drv.Name + "/" + v.Version
	if !v.Published() {
		problems = append(problems, driverhub.NewProblem(res, driverhub.ProblemVersionUnpublished,
			"version %s of %s is a draft: publish it first, so that every wave gets the same package", v.Version, drv.Name))
	}
	if !drv.Builtin && v.Package == nil {
		problems = append(problems, driverhub.NewProblem(res, driverhub.ProblemPackageMissing,
			"version %s of %s has no package: upload it first", v.Version, drv.Name))
	}
	unsigned, err := s.rolloutSignature(ctx, tx, p.TenantID, owner.Name, drv, v)
	if err != nil {
		return nil, err
	}
	problems = append(problems, unsigned...)
	candidates, err := tx.RolloutCandidates(ctx, p.TenantID, drv.Name)
	if err != nil {
		return nil, err
	}
	targets, n := selectTargets(r, candidates, s.timestamp())
	if n == 0 {
		problems = append(problems, noTargets(r, len(targets)))
	}
	if len(problems) > 0 {
		e := driverhub.Errorf(driverhub.EFailedPrecondition, "rollout %s cannot start: %d problems", r.Name, len(problems))
		if len(problems) == 1 {
			e = driverhub.Errorf(driverhub.EFailedPrecondition, "rollout %s cannot start: 1 problem", r.Name)
		}
		e.Problems = problems
		return nil, e
	}
	return targets, s.checkOverlap(ctx, tx, r, targets)
}

func noTargets(r *driverhub.Rollout, selected int) driverhub.Problem {
	res := "rollout " + r.Name
	if selected == 0 {
		return driverhub.NewProblem(res, driverhub.ProblemNoTargets, "no instance matches the selector")
	}
	return driverhub.NewProblem(res, driverhub.ProblemNoTargets,
		"none of the %d instances the selector matches has %s/%s bound: bind it first (see the skipped targets' reasons)",
		selected, r.Publisher, r.Driver)
}

// selectTargets returns a target per selected instance, by name, and how
// many are not skipped. Waves take ceil(percent·n/100) of the n targets.
func selectTargets(r *driverhub.Rollout, candidates []driverhub.RolloutCandidate, now time.Time) ([]*driverhub.RolloutTarget, int) {
	byName := make(map[string]driverhub.RolloutCandidate, len(candidates))
	var picked []driverhub.RolloutCandidate
	for _, c := range candidates {
		byName[c.Instance] = c
		if r.Selector.Instances == nil && r.Selector.MatchesTags(c.Tags) {
			picked = append(picked, c)
		}
	}
	for _, name := range r.Selector.Instances {
		c, ok := byName[name]
		if !ok {
			c = driverhub.RolloutCandidate{Instance: name}
		}
		picked = append(picked, c)
	}
	slices.SortFunc(picked, func(a, b driverhub.RolloutCandidate) int { return strings.Compare(a.Instance, b.Instance) })
	targets := make([]*driverhub.RolloutTarget, len(picked))
	n := 0
	for k, c := range picked {
		t := &driverhub.RolloutTarget{RolloutID: r.ID, InstanceID: c.InstanceID, Instance: c.Instance,
			State: driverhub.TargetWaiting, Problems: []driverhub.Problem{}, UpdatedAt: now}
		if pr := skipReason(r, c); pr != nil {
			t.State, t.Problems = driverhub.TargetSkipped, []driverhub.Problem{*pr}
		} else {
			n++
		}
		targets[k] = t
	}
	k := 0
	for _, t := range targets {
		if t.State != driverhub.TargetSkipped {
			t.Wave = driverhub.WaveOf(r.Percents, k, n)
			k++
		}
	}
	return targets, n
}

// skipReason says why a selected instance is not a target, or nil.
func skipReason(r *driverhub.Rollout, c driverhub.RolloutCandidate) *driverhub.Problem {
	res := "instance " + c.Instance
	var p driverhub.Problem
	switch {
	case c.InstanceID == "":
		p = driverhub.NewProblem(res, driverhub.ProblemInstanceMissing, "no instance is named %s", c.Instance)
	case c.BindingID == "":
		p = driverhub.NewProblem(res, driverhub.ProblemNotBound, "%s is not bound to instance %s", r.Driver, c.Instance)
	case c.DriverID != r.DriverID:
		p = driverhub.NewProblem(res, driverhub.ProblemOtherPublisher, "instance %s runs another publisher's %s, not %s's", c.Instance, r.Driver, r.Publisher)
	default:
		return nil
	}
	return &p
}

// checkOverlap refuses a rollout that would share an instance with an
// active rollout (paused ones included) of the same driver.
func (s *Service) checkOverlap(ctx context.Context, tx driverhub.Tx, r *driverhub.Rollout, targets []*driverhub.RolloutTarget) error {
	active, err := tx.ActiveRolloutInstances(ctx, r.TenantID, r.DriverID)
	if err != nil || len(active) == 0 {
		return err
	}
	var shared []string
	var other *driverhub.Rollout
	for _, t := range targets {
		if o := active[t.InstanceID]; o != nil && t.State != driverhub.TargetSkipped {
			shared, other = append(shared, t.Instance), o
		}
	}
	if len(shared) == 0 {
		return nil
	}
	if len(shared) > 3 {
		return driverhub.Errorf(driverhub.EConflict, "instances %s and %d more are targets of %s rollout %q (%s) of %s: wait for it to end, or cancel it",
			strings.Join(shared[:3], ", "), len(shared)-3, other.State, other.Name, other.ID, r.Driver)
	}
	return driverhub.Errorf(driverhub.EConflict, "instances %s are targets of %s rollout %q (%s) of %s: wait for it to end, or cancel it",
		strings.Join(shared, ", "), other.State, other.Name, other.ID, r.Driver)
}

// waveTally is one wave's targets: size (less those superseded), and how
// many succeeded, failed, are unfinished (waiting, pending, processing),
// waiting alone, and were rolled back.
type waveTally struct {
	size, succeeded, failed, unfinished, waiting, rolledBack int
}

func tallyOf(counts []driverhub.TargetCount, wave int) waveTally {
	var t waveTally
	for _, c := range counts {
		if c.Wave != wave {
			continue
		}
		switch c.State {
		case driverhub.TargetSucceeded:
			t.succeeded += c.N
		case driverhub.TargetFailed:
			t.failed += c.N
		case driverhub.TargetWaiting:
			t.waiting += c.N
			t.unfinished += c.N
		case driverhub.TargetPending, driverhub.TargetProcessing:
			t.unfinished += c.N
		case driverhub.TargetRolledBack:
			t.rolledBack += c.N
		}
		if c.State != driverhub.TargetSuperseded && c.State != driverhub.TargetSkipped {
			t.size += c.N
		}
	}
	return t
}

func waveSizeOf(targets []*driverhub.RolloutTarget, wave int) int {
	n := 0
	for _, t := range targets {
		if t.Wave == wave && t.State != driverhub.TargetSkipped {
			n++
		}
	}
	return n
}

// followDeployments is the rollout hook of every deployment path: once a
// deployment finished (reported, superseded, closed) and its transaction
// committed, the rollout whose target it is, if any, is kicked to judge
// its wave. The target's state needs no write: it reads as its
// deployment's status. The lookup of the rollouts is left to the rollout
// loop, which makes one read on an index for the many deployments a wave's
// reports finish together (DriveKickedRollouts), outside the deployments'
// transactions: the gateways' reports stay as cheap and as free of
// conflicts as without rollouts.
func (s *Service) followDeployments(_ context.Context, deploymentIDs ...string) {
	s.kicks.follow(deploymentIDs)
}

// followInstances kicks the active rollouts that target the instances
// whose deployments timed out.
func (s *Service) followInstances(ctx context.Context, instanceIDs []string) {
	s.follow(ctx, func(tx driverhub.Tx) ([]string, error) { return tx.ActiveRolloutsOn(ctx, instanceIDs) }, len(instanceIDs))
}

func (s *Service) follow(ctx context.Context, find func(driverhub.Tx) ([]string, error), n int) {
	if n == 0 {
		return
	}
	var ids []string
	err := s.store.View(ctx, func(tx driverhub.Tx) (err error) {
		ids, err = find(tx)
		return err
	})
	if err != nil {
		// The sweep looks at every moving rollout soon anyway.
		s.log.Warn("find the rollouts of finished deployments", "err", err)
		return
	}
	s.kickRollouts(ids...)
}

// presentTarget says why a deployed target failed or was superseded: its
// deployment's reason.
func presentTarget(t *driverhub.RolloutTarget) {
	if t.Recorded != driverhub.TargetPending || t.DeploymentID == "" {
		return
	}
	res := "deployment " + t.DeploymentID
	switch t.State {
	case driverhub.TargetFailed:
		p := driverhub.NewProblem(res, driverhub.ProblemDeploymentFailed, "the gateway reported that the deployment failed")
		if t.DeployReason != "" {
			p = driverhub.Problem{Resource: res, Code: driverhub.ProblemDeploymentFailed, Message: t.DeployReason} // the gateway's words
		}
		t.Problems = append(t.Problems, p)
	case driverhub.TargetSuperseded:
		p := driverhub.NewProblem(res, driverhub.ProblemDeploymentReplaced, "the rollout's deployment was replaced: its instance was deleted")
		if t.DeployStatus != "" {
			p = driverhub.NewProblem(res, driverhub.ProblemDeploymentReplaced, "the rollout's deployment was replaced: it was %s: %s", t.DeployStatus, t.DeployReason)
		}
		t.Problems = append(t.Problems, p)
	}
}
