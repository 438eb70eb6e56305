package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/driverhub/driverhub"
)

const targetColumns = `t.rollout_id, t.instance_name, t.instance_id, t.wave, t.state, t.deployment_id,
	t.previous_version, t.rollback, t.rollback_deployment_id, t.problems, t.updated_at`

func scanTarget(s scanner) (*driverhub.RolloutTarget, error) {
	var t driverhub.RolloutTarget
	var problems, rollback string
	var updated int64
	if err := s.Scan(&t.RolloutID, &t.Instance, &t.InstanceID, &t.Wave, &t.State, &t.DeploymentID,
		&t.PreviousVersion, &rollback, &t.RollbackDeploymentID, &problems, &updated); err != nil {
		return nil, err
	}
	t.RollbackRefused = rollback == rollbackRefused
	t.UpdatedAt = fromDB(updated)
	if err := json.Unmarshal([]byte(problems), &t.Problems); err != nil {
		return nil, fmt.Errorf("rollout %s target %s: problems: %w", t.RolloutID, t.Instance, err)
	}
	return &t, nil
}

func problemsJSON(ps []driverhub.Problem) (string, error) {
	if ps == nil {
		ps = []driverhub.Problem{}
	}
	b, err := marshalJSON(ps)
	return string(b), err
}

// targetInsertBatch bounds the rows of one INSERT: 11 parameters a row
// stay far below every dialect's limit on parameters.
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
	where, args := `t.rollout_id = ?`, []any{rolloutID}
	if state != "" {
		where, args = where+` AND t.state = ?`, append(args, state)
	}
	return page(ctx, t, p, `SELECT `+targetColumns+` FROM rollout_targets t`, where, args, "t.instance_name", false,
		func(rows *sql.Rows) (*driverhub.RolloutTarget, string, error) {
			x, err := scanTarget(rows)
			if err != nil {
				return nil, "", err
			}
			return x, x.Instance, nil
		})
}

func (t *Tx) CountRolloutTargets(ctx context.Context, rolloutID string) ([]driverhub.TargetCount, error) {
	return queryAll(ctx, t, func(s scanner) (driverhub.TargetCount, error) {
		var c driverhub.TargetCount
		return c, s.Scan(&c.Wave, &c.State, &c.N)
	}, `SELECT wave, state, COUNT(*) FROM rollout_targets WHERE rollout_id = ?
		GROUP BY wave, state ORDER BY wave, state`, rolloutID)
}

func (t *Tx) WaitingRolloutTargets(ctx context.Context, rolloutID string, wave, limit int) ([]*driverhub.RolloutTarget, error) {
	return queryAll(ctx, t, scanTarget, `SELECT `+targetColumns+` FROM rollout_targets t
		WHERE t.rollout_id = ? AND t.state = ? AND t.wave <= ? ORDER BY t.instance_name LIMIT ?`,
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
	return queryAll(ctx, t, scanTarget, `SELECT `+targetColumns+` FROM rollout_targets t
		WHERE t.rollout_id = ? AND t.previous_version <> '' AND t.rollback = ? AND t.state IN (?, ?, ?, ?)
		ORDER BY t.instance_name LIMIT ?`, rolloutID, rollbackNotTried, driverhub.TargetPending,
		driverhub.TargetProcessing, driverhub.TargetSucceeded, driverhub.TargetFailed, limit)
}

// UpdateRolloutTarget writes a target on the condition that its state is
// still from: the claim that makes each target deployed (or rolled back)
// once, whichever replica gets there.
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

// MarkRolloutTargetBy is the hook of the deployment paths: one UPDATE on
// the deployment_id index, which for a deployment of no rollout matches
// nothing.
func (t *Tx) MarkRolloutTargetBy(ctx context.Context, deploymentID string, to driverhub.TargetState, problems []driverhub.Problem, at time.Time) (string, error) {
	p, err := problemsJSON(problems)
	if err != nil {
		return "", err
	}
	ids, err := queryAll(ctx, t, func(s scanner) (string, error) {
		var id string
		return id, s.Scan(&id)
	}, `UPDATE rollout_targets SET state = ?, problems = ?, updated_at = ?
		WHERE deployment_id = ? AND state IN (?, ?) AND state <> ? RETURNING rollout_id`,
		to, p, toDB(at), deploymentID, driverhub.TargetPending, driverhub.TargetProcessing, to)
	if err != nil || len(ids) == 0 {
		return "", err
	}
	return ids[0], nil
}

func (t *Tx) FailUnfinishedTargets(ctx context.Context, rolloutID string, wave int, problems []driverhub.Problem, at time.Time) (int, error) {
	p, err := problemsJSON(problems)
	if err != nil {
		return 0, err
	}
	res, err := t.exec(ctx, `UPDATE rollout_targets SET state = ?, problems = ?, updated_at = ?
		WHERE rollout_id = ? AND wave = ? AND state IN (?, ?, ?)`, driverhub.TargetFailed, p, toDB(at),
		rolloutID, wave, driverhub.TargetWaiting, driverhub.TargetPending, driverhub.TargetProcessing)
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// LaggingRolloutTargets reads in-flight targets next to their
// deployments; instance ids go in chunks that stay below every dialect's
// limit on parameters.
func (t *Tx) LaggingRolloutTargets(ctx context.Context, rolloutID string, instanceIDs []string) ([]driverhub.TargetLag, error) {
	q := `SELECT ` + targetColumns + `, d.status, d.reason FROM rollout_targets t
		JOIN deployments d ON d.id = t.deployment_id WHERE t.state IN (?, ?) AND d.status <> t.state`
	args := []any{driverhub.TargetPending, driverhub.TargetProcessing}
	if rolloutID != "" {
		return t.laggingTargets(ctx, q+` AND t.rollout_id = ?`, append(args, rolloutID))
	}
	out := []driverhub.TargetLag{}
	for len(instanceIDs) > 0 {
		chunk := instanceIDs[:min(len(instanceIDs), targetInsertBatch)]
		instanceIDs = instanceIDs[len(chunk):]
		a := append([]any{}, args...)
		for _, id := range chunk {
			a = append(a, id)
		}
		lags, err := t.laggingTargets(ctx, q+` AND t.instance_id IN (?`+strings.Repeat(", ?", len(chunk)-1)+`)`, a)
		if err != nil {
			return nil, err
		}
		out = append(out, lags...)
	}
	return out, nil
}

func (t *Tx) laggingTargets(ctx context.Context, q string, args []any) ([]driverhub.TargetLag, error) {
	return queryAll(ctx, t, func(s scanner) (driverhub.TargetLag, error) {
		var l driverhub.TargetLag
		var problems, rollback string
		var updated int64
		x := &driverhub.RolloutTarget{}
		err := s.Scan(&x.RolloutID, &x.Instance, &x.InstanceID, &x.Wave, &x.State, &x.DeploymentID,
			&x.PreviousVersion, &rollback, &x.RollbackDeploymentID, &problems, &updated, &l.Status, &l.Reason)
		if err == nil {
			x.RollbackRefused, x.UpdatedAt = rollback == rollbackRefused, fromDB(updated)
			err = json.Unmarshal([]byte(problems), &x.Problems)
		}
		l.Target = x
		return l, err
	}, q, args...)
}
