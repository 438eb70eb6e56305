package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/driverhub/driverhub"
)

// Targets are read through targetsView: a deployed target (recorded
// "pending" with a deployment) reads in the status of its deployment,
// closed as superseded, and superseded when its deployment is gone (its
// instance was deleted); every other recorded state reads as itself. So a
// gateway's report, which writes its deployment, needs no write here. The
// planner folds the subquery into each query, with its filters.
const targetsView = `(SELECT t.rollout_id, t.instance_name, t.instance_id, t.wave, t.state AS recorded,
	` + targetState + ` AS state,
	t.deployment_id, t.previous_version, t.rollback, t.rollback_deployment_id, t.problems, t.updated_at,
	COALESCE(d.status, '') AS deploy_status, COALESCE(d.reason, '') AS deploy_reason
	FROM rollout_targets t LEFT JOIN deployments d ON d.id = t.deployment_id) v`

// targetState is a target's state as targetsView reads it.
const targetState = `CASE WHEN t.state = 'pending' AND t.deployment_id <> '' THEN
		CASE WHEN d.status IS NULL OR d.status = 'closed' THEN 'superseded' ELSE d.status END
	ELSE t.state END`

// statesView is targetsView cut to what counting needs (rollout, wave,
// state): it reads the indexes of migration 10 only.
func statesView(d *Dialect) string {
	return `(SELECT t.rollout_id, t.wave, ` + targetState + ` AS state
	FROM rollout_targets t LEFT JOIN deployments d ` + d.DeploymentStatusIndex + ` ON d.id = t.deployment_id) v`
}

// countTargetsQuery counts a rollout's targets by wave and state: of one
// wave (its second parameter), or of all.
func countTargetsQuery(d *Dialect, oneWave bool) string {
	where := `v.rollout_id = ?`
	if oneWave {
		where += ` AND v.wave = ?`
	}
	return `SELECT v.wave, v.state, COUNT(*) FROM ` + statesView(d) + ` WHERE ` + where + `
		GROUP BY v.wave, v.state ORDER BY v.wave, v.state`
}

const targetColumns = `v.rollout_id, v.instance_name, v.instance_id, v.wave, v.recorded, v.state, v.deployment_id,
	v.previous_version, v.rollback, v.rollback_deployment_id, v.problems, v.updated_at, v.deploy_status, v.deploy_reason`

func scanTarget(s scanner) (*driverhub.RolloutTarget, error) {
	var t driverhub.RolloutTarget
	var problems, rollback string
	var updated int64
	if err := s.Scan(&t.RolloutID, &t.Instance, &t.InstanceID, &t.Wave, &t.Recorded, &t.State, &t.DeploymentID,
		&t.PreviousVersion, &rollback, &t.RollbackDeploymentID, &problems, &updated, &t.DeployStatus, &t.DeployReason); err != nil {
		return nil, err
	}
	t.RollbackRefused = rollback == rollbackRefused
	t.UpdatedAt = fromDB(updated)
	ps, err := problemsFromDB(problems)
	if err != nil {
		return nil, fmt.Errorf("rollout %s target %s: problems: %w", t.RolloutID, t.Instance, err)
	}
	t.Problems = ps
	return &t, nil
}

// targetInsertBatch bounds the rows of one INSERT (and the ids of one IN
// list): 11 parameters a row stay far below every dialect's limit.
const targetInsertBatch = 200

func (t *Tx) CreateRolloutTargets(ctx context.Context, ts []*driverhub.RolloutTarget) error {
	for len(ts) > 0 {
		batch := ts[:min(len(ts), targetInsertBatch)]
		ts = ts[len(batch):]
		args := make([]any, 0, 11*len(batch))
		for _, x := range batch {
			problems, err := problemsJSON(x.Problems)
			if err != nil {
				return err
			}
			args = append(args, x.RolloutID, x.Instance, x.InstanceID, x.Wave, x.State, x.DeploymentID,
				x.PreviousVersion, rollbackMark(x), x.RollbackDeploymentID, problems, toDB(x.UpdatedAt))
		}
		rows := strings.TrimSuffix(strings.Repeat("(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?), ", len(batch)), ", ")
		if _, err := t.exec(ctx, `INSERT INTO rollout_targets (rollout_id, instance_name, instance_id, wave, state,
			deployment_id, previous_version, rollback, rollback_deployment_id, problems, updated_at) VALUES `+rows,
			args...); err != nil {
			return err
		}
	}
	return nil
}

func (t *Tx) ListRolloutTargets(ctx context.Context, rolloutID string, state driverhub.TargetState, p driverhub.Page) (driverhub.List[*driverhub.RolloutTarget], error) {
	where, args := `v.rollout_id = ?`, []any{rolloutID}
	if state != "" {
		where, args = where+` AND v.state = ?`, append(args, state)
	}
	return page(ctx, t, p, `SELECT `+targetColumns+` FROM `+targetsView, where, args, "v.instance_name", false,
		func(rows *sql.Rows) (*driverhub.RolloutTarget, string, error) {
			x, err := scanTarget(rows)
			if err != nil {
				return nil, "", err
			}
			return x, x.Instance, nil
		})
}

func (t *Tx) CountRolloutTargets(ctx context.Context, rolloutID string, wave int) ([]driverhub.TargetCount, error) {
	args := []any{rolloutID}
	if wave > 0 {
		args = append(args, wave)
	}
	return queryAll(ctx, t, func(s scanner) (driverhub.TargetCount, error) {
		var c driverhub.TargetCount
		return c, s.Scan(&c.Wave, &c.State, &c.N)
	}, countTargetsQuery(t.d, wave > 0), args...)
}

func (t *Tx) WaitingRolloutTargets(ctx context.Context, rolloutID string, wave, limit int) ([]*driverhub.RolloutTarget, error) {
	return queryAll(ctx, t, scanTarget, `SELECT `+targetColumns+` FROM `+targetsView+`
		WHERE v.rollout_id = ? AND v.recorded = ? AND v.wave <= ? ORDER BY v.instance_name LIMIT ?`,
		rolloutID, driverhub.TargetWaiting, wave, limit)
}

// Rollback marks of a target: whether its rollback was tried and did not
// happen (the binding had changed, or the deployment was refused).
const (
	rollbackNotTried = ""
	rollbackRefused  = "refused"
)

func rollbackMark(x *driverhub.RolloutTarget) string {
	if x.RollbackRefused {
		return rollbackRefused
	}
	return rollbackNotTried
}

func (t *Tx) RolloutTargetsToRollBack(ctx context.Context, rolloutID string, limit int) ([]*driverhub.RolloutTarget, error) {
	return queryAll(ctx, t, scanTarget, `SELECT `+targetColumns+` FROM `+targetsView+`
		WHERE v.rollout_id = ? AND v.previous_version <> '' AND v.rollback = ? AND v.state IN (?, ?, ?, ?)
		ORDER BY v.instance_name LIMIT ?`, rolloutID, rollbackNotTried, driverhub.TargetPending,
		driverhub.TargetProcessing, driverhub.TargetSucceeded, driverhub.TargetFailed, limit)
}

// UpdateRolloutTarget writes a target on the condition that its recorded
// state is still from: the claim that makes each target deployed (or
// rolled back) once, whichever replica gets there.
func (t *Tx) UpdateRolloutTarget(ctx context.Context, x *driverhub.RolloutTarget, from driverhub.TargetState) (bool, error) {
	problems, err := problemsJSON(x.Problems)
	if err != nil {
		return false, err
	}
	res, err := t.exec(ctx, `UPDATE rollout_targets SET state = ?, deployment_id = ?, previous_version = ?,
		rollback = ?, rollback_deployment_id = ?, problems = ?, updated_at = ?
		WHERE rollout_id = ? AND instance_name = ? AND state = ?`,
		x.State, x.DeploymentID, x.PreviousVersion, rollbackMark(x), x.RollbackDeploymentID, problems, toDB(x.UpdatedAt),
		x.RolloutID, x.Instance, from)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

func (t *Tx) FailUnfinishedTargets(ctx context.Context, rolloutID string, wave int, problems []driverhub.Problem, at time.Time) (int, error) {
	p, err := problemsJSON(problems)
	if err != nil {
		return 0, err
	}
	res, err := t.exec(ctx, `UPDATE rollout_targets SET state = ?, problems = ?, updated_at = ?
		WHERE rollout_id = ? AND wave = ? AND (state = ? OR state = ? AND deployment_id IN (
			SELECT id FROM deployments WHERE status IN (?, ?)))`,
		driverhub.TargetFailed, p, toDB(at), rolloutID, wave, driverhub.TargetWaiting, driverhub.TargetPending,
		driverhub.DeployPending, driverhub.DeployProcessing)
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	return int(n), err
}

func (t *Tx) RolloutsOfDeployments(ctx context.Context, deploymentIDs []string) ([]string, error) {
	return t.distinctRollouts(ctx, `SELECT DISTINCT rollout_id FROM rollout_targets WHERE deployment_id IN `, nil, deploymentIDs)
}

func (t *Tx) ActiveRolloutsOn(ctx context.Context, instanceIDs []string) ([]string, error) {
	return t.distinctRollouts(ctx, `SELECT DISTINCT t.rollout_id FROM rollout_targets t JOIN rollouts r ON r.id = t.rollout_id
		WHERE r.state IN (?, ?) AND t.instance_id IN `, []any{driverhub.RolloutRunning, driverhub.RolloutPaused}, instanceIDs)
}

// distinctRollouts runs q, which ends in "IN ", over ids (queryIn), and
// merges the rollout ids it finds.
func (t *Tx) distinctRollouts(ctx context.Context, q string, args []any, ids []string) ([]string, error) {
	found, err := queryIn(ctx, t, func(s scanner) (string, error) {
		var id string
		return id, s.Scan(&id)
	}, q, args, ids, ``)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	out := []string{}
	for _, id := range found {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out, nil
}
