package service

import (
	"context"
	"fmt"
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
		problems = append(problems, driverhub.Problem{Resource: res, Code: driverhub.ProblemVersionUnpublished,
			Message: fmt.Sprintf("version %s of %s is a draft: publish it first, so that every wave gets the same package", v.Version, drv.Name)})
	}
	if !drv.Builtin && v.Package == nil {
		problems = append(problems, driverhub.Problem{Resource: res, Code: driverhub.ProblemPackageMissing,
			Message: fmt.Sprintf("version %s of %s has no package: upload it first", v.Version, drv.Name)})
	}
	candidates, err := tx.RolloutCandidates(ctx, p.TenantID, drv.Name)
	if err != nil {
		return nil, err
	}
	targets, n := selectTargets(r, candidates, s.timestamp())
	if n == 0 {
		problems = append(problems, driverhub.Problem{Resource: "rollout " + r.Name, Code: driverhub.ProblemNoTargets,
			Message: noTargetsMessage(r, len(targets))})
	}
	if len(problems) > 0 {
		return nil, &driverhub.Error{Code: driverhub.EFailedPrecondition, Problems: problems,
			Message: fmt.Sprintf("rollout %s cannot start: %s", r.Name, problems[0].Message)}
	}
	return targets, s.checkOverlap(ctx, tx, r, targets)
}

func noTargetsMessage(r *driverhub.Rollout, selected int) string {
	if selected == 0 {
		return "no instance matches the selector"
	}
	return fmt.Sprintf("none of the %d instances the selector matches has %s/%s bound: bind it first (see the skipped targets' reasons)",
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
	switch {
	case c.InstanceID == "":
		return &driverhub.Problem{Resource: res, Code: driverhub.ProblemInstanceMissing, Message: "no instance is named " + c.Instance}
	case c.BindingID == "":
		return &driverhub.Problem{Resource: res, Code: driverhub.ProblemNotBound,
			Message: fmt.Sprintf("%s is not bound to instance %s", r.Driver, c.Instance)}
	case c.DriverID != r.DriverID:
		return &driverhub.Problem{Resource: res, Code: driverhub.ProblemOtherPublisher,
			Message: fmt.Sprintf("instance %s runs another publisher's %s, not %s's", c.Instance, r.Driver, r.Publisher)}
	}
	return nil
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
	more := ""
	if len(shared) > 3 {
		shared, more = shared[:3], fmt.Sprintf(" and %d more", len(shared)-3)
	}
	return driverhub.Errorf(driverhub.EConflict, "instances %s%s are targets of %s rollout %q (%s) of %s: wait for it to end, or cancel it",
		strings.Join(shared, ", "), more, other.State, other.Name, other.ID, r.Driver)
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

// targetFollows is the rollout hook of every deployment path: the target
// whose deployment d is, if any, takes d's status. It appends to kicks the
// rollout of a target that finished, whose outcome may decide its wave.
func (s *Service) targetFollows(ctx context.Context, tx driverhub.Tx, d *driverhub.Deployment, kicks []string) ([]string, error) {
	st := driverhub.TargetStateOf(d.Status)
	var problems []driverhub.Problem
	switch st {
	case driverhub.TargetFailed:
		why := d.Reason
		if why == "" {
			why = "the gateway reported that the deployment failed"
		}
		problems = []driverhub.Problem{{Resource: "deployment " + d.ID, Code: driverhub.ProblemDeploymentFailed, Message: why}}
	case driverhub.TargetSuperseded:
		problems = []driverhub.Problem{{Resource: "deployment " + d.ID, Code: driverhub.ProblemDeploymentReplaced,
			Message: fmt.Sprintf("the rollout's deployment was %s: %s", d.Status, d.Reason)}}
	}
	id, err := tx.MarkRolloutTargetBy(ctx, d.ID, st, problems, s.timestamp())
	if err != nil || id == "" || st.InFlight() {
		return kicks, err
	}
	return append(kicks, id), nil
}

// targetsCatchUp brings in-flight targets whose deployments moved on
// without them (timed out in the same transaction, or missed) in step: of
// one rollout, or on the given instances.
func (s *Service) targetsCatchUp(ctx context.Context, tx driverhub.Tx, rolloutID string, instanceIDs []string) ([]string, error) {
	lags, err := tx.LaggingRolloutTargets(ctx, rolloutID, instanceIDs)
	if err != nil {
		return nil, err
	}
	var kicks []string
	for _, l := range lags {
		d := &driverhub.Deployment{ID: l.Target.DeploymentID, Status: l.Status, Reason: l.Reason}
		if kicks, err = s.targetFollows(ctx, tx, d, kicks); err != nil {
			return nil, err
		}
	}
	return kicks, nil
}
