package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/driverhub/driverhub"
)

const rolloutColumns = `r.id, r.tenant_id, r.name, r.driver_id, r.driver_name, r.publisher_id, r.publisher,
	r.version, r.selector, r.waves, r.success_threshold, r.failure_threshold, r.wave_timeout_ms, r.on_abort,
	r.state, r.wave, r.wave_started_at, r.rollback, r.reason, r.reason_format, r.reason_args, r.created_by, r.step,
	r.created_at, r.updated_at, r.finished_at`

func scanRollout(s scanner) (*driverhub.Rollout, error) {
	var r driverhub.Rollout
	var selector, waves, reasonArgs string
	var timeoutMS, created, updated int64
	var started, finished sql.NullInt64
	if err := s.Scan(&r.ID, &r.TenantID, &r.Name, &r.DriverID, &r.Driver, &r.PublisherID, &r.Publisher,
		&r.Version, &selector, &waves, &r.SuccessThreshold, &r.FailureThreshold, &timeoutMS, &r.OnAbort,
		&r.State, &r.Wave, &started, &r.Rollback, &r.Reason, &r.ReasonFormat, &reasonArgs, &r.CreatedBy, &r.Step,
		&created, &updated, &finished); err != nil {
		return nil, err
	}
	var err error
	if r.ReasonArgs, err = argsFromDB(reasonArgs); err != nil {
		return nil, fmt.Errorf("rollout %s: reason: %w", r.ID, err)
	}
	r.Selector = new(driverhub.RolloutSelector)
	if err := json.Unmarshal([]byte(selector), r.Selector); err != nil {
		return nil, fmt.Errorf("rollout %s: selector: %w", r.ID, err)
	}
	if r.Selector.Tags == nil && r.Selector.Instances == nil {
		r.Selector.Tags = map[string]string{} // {"tags": {}} reads back as itself
	}
	if err := json.Unmarshal([]byte(waves), &r.Percents); err != nil {
		return nil, fmt.Errorf("rollout %s: waves: %w", r.ID, err)
	}
	r.WaveTimeout = time.Duration(timeoutMS) * time.Millisecond
	r.WaveStartedAt, r.FinishedAt = nullTimeFromDB(started), nullTimeFromDB(finished)
	r.CreatedAt, r.UpdatedAt = fromDB(created), fromDB(updated)
	return &r, nil
}

func (t *Tx) CreateRollout(ctx context.Context, r *driverhub.Rollout) error {
	selector, err := marshalJSON(r.Selector)
	if err != nil {
		return err
	}
	waves, err := marshalJSON(r.Percents)
	if err != nil {
		return err
	}
	reasonArgs, err := argsToDB(r.ReasonArgs)
	if err != nil {
		return err
	}
	_, err = t.exec(ctx, `INSERT INTO rollouts (id, tenant_id, name, driver_id, driver_name, publisher_id, publisher,
		version, selector, waves, success_threshold, failure_threshold, wave_timeout_ms, on_abort, state, wave,
		wave_started_at, rollback, reason, reason_format, reason_args, created_by, step, lease_owner, lease_until,
		created_at, updated_at, finished_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '', 0, ?, ?, ?)`,
		r.ID, r.TenantID, r.Name, r.DriverID, r.Driver, r.PublisherID, r.Publisher, r.Version, string(selector),
		string(waves), r.SuccessThreshold, r.FailureThreshold, r.WaveTimeout.Milliseconds(), r.OnAbort, r.State,
		r.Wave, nullTimeToDB(r.WaveStartedAt), r.Rollback, r.Reason, r.ReasonFormat, reasonArgs, r.CreatedBy, r.Step,
		toDB(r.CreatedAt), toDB(r.UpdatedAt), nullTimeToDB(r.FinishedAt))
	return err
}

func (t *Tx) RolloutByID(ctx context.Context, tenantID, id string) (*driverhub.Rollout, error) {
	q, args := `SELECT `+rolloutColumns+` FROM rollouts r WHERE r.id = ?`, []any{id}
	if tenantID != "" {
		q, args = q+` AND r.tenant_id = ?`, append(args, tenantID)
	}
	r, err := scanRollout(t.queryRow(ctx, q, args...))
	return r, t.mapErr(err)
}

func (t *Tx) ListRollouts(ctx context.Context, tenantID string, p driverhub.Page) (driverhub.List[*driverhub.Rollout], error) {
	return page(ctx, t, p, `SELECT `+rolloutColumns+` FROM rollouts r`, `r.tenant_id = ?`, []any{tenantID}, "r.id", true,
		func(rows *sql.Rows) (*driverhub.Rollout, string, error) {
			r, err := scanRollout(rows)
			if err != nil {
				return nil, "", err
			}
			return r, r.ID, nil
		})
}

func (t *Tx) RolloutsToDrive(ctx context.Context) ([]*driverhub.Rollout, error) {
	return queryAll(ctx, t, scanRollout, `SELECT `+rolloutColumns+` FROM rollouts r WHERE r.state IN (?, ?)
		OR (r.state = ? AND r.rollback = ?) ORDER BY r.id`, driverhub.RolloutRunning, driverhub.RolloutPaused,
		driverhub.RolloutAborted, driverhub.RollbackPending)
}

// UpdateRollout is the conditional write every step of a rollout makes:
// under PostgreSQL's isolation, a replica that read the same step waits
// for the first writer and then updates no row, or fails to serialize and
// runs again from the start; either way it never takes the step twice.
func (t *Tx) UpdateRollout(ctx context.Context, r *driverhub.Rollout) error {
	reasonArgs, err := argsToDB(r.ReasonArgs)
	if err != nil {
		return err
	}
	res, err := t.exec(ctx, `UPDATE rollouts SET state = ?, wave = ?, wave_started_at = ?, rollback = ?, reason = ?,
		reason_format = ?, reason_args = ?, updated_at = ?, finished_at = ?, step = step + 1 WHERE id = ? AND step = ?`,
		r.State, r.Wave, nullTimeToDB(r.WaveStartedAt), r.Rollback, r.Reason, r.ReasonFormat, reasonArgs,
		toDB(r.UpdatedAt), nullTimeToDB(r.FinishedAt), r.ID, r.Step)
	if err := mustAffect(res, err); err != nil {
		if errors.Is(err, driverhub.ErrNotFound) {
			return fmt.Errorf("%w: rollout %s moved past step %d", driverhub.ErrConflict, r.ID, r.Step)
		}
		return err
	}
	r.Step++
	return nil
}

// LeaseRollout takes, renews or (until zero) releases the lease on a
// rollout's batch work. The conditional UPDATE leaves the step alone: a
// lease is no step of the rollout.
func (t *Tx) LeaseRollout(ctx context.Context, id, owner string, until, now time.Time) (bool, error) {
	var res sql.Result
	var err error
	if until.IsZero() {
		res, err = t.exec(ctx, `UPDATE rollouts SET lease_until = 0 WHERE id = ? AND lease_owner = ?`, id, owner)
	} else {
		res, err = t.exec(ctx, `UPDATE rollouts SET lease_owner = ?, lease_until = ?
			WHERE id = ? AND (lease_owner = ? OR lease_until <= ?)`, owner, toDB(until), id, owner, toDB(now))
	}
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

func (t *Tx) AddRolloutEvent(ctx context.Context, e *driverhub.RolloutEvent) error {
	args, err := argsToDB(e.Args)
	if err != nil {
		return err
	}
	_, err = t.exec(ctx, `INSERT INTO rollout_events (id, rollout_id, time, type, wave, message, format, args)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, e.ID, e.RolloutID, toDB(e.Time), e.Type, e.Wave, e.Message, e.Format, args)
	return err
}

func (t *Tx) RolloutEvents(ctx context.Context, rolloutID string) ([]driverhub.RolloutEvent, error) {
	return queryAll(ctx, t, func(s scanner) (driverhub.RolloutEvent, error) {
		var e driverhub.RolloutEvent
		var at int64
		var args string
		if err := s.Scan(&e.ID, &e.RolloutID, &at, &e.Type, &e.Wave, &e.Message, &e.Format, &args); err != nil {
			return e, err
		}
		e.Time = fromDB(at)
		var err error
		if e.Args, err = argsFromDB(args); err != nil {
			return e, fmt.Errorf("rollout %s event %s: %w", e.RolloutID, e.ID, err)
		}
		return e, nil
	}, `SELECT id, rollout_id, time, type, wave, message, format, args FROM rollout_events
		WHERE rollout_id = ? ORDER BY time, id`, rolloutID)
}

func (t *Tx) RolloutStats(ctx context.Context) (driverhub.RolloutStats, error) {
	st := driverhub.RolloutStats{Rollouts: map[driverhub.RolloutState]int{}, Targets: map[driverhub.TargetState]int{}}
	type count struct {
		state string
		n     int
	}
	scan := func(s scanner) (count, error) {
		var c count
		return c, s.Scan(&c.state, &c.n)
	}
	rs, err := queryAll(ctx, t, scan, `SELECT state, COUNT(*) FROM rollouts GROUP BY state`)
	if err != nil {
		return st, err
	}
	for _, c := range rs {
		st.Rollouts[driverhub.RolloutState(c.state)] = c.n
	}
	ts, err := queryAll(ctx, t, scan, `SELECT v.state, COUNT(*) FROM `+statesView(t.d)+`
		JOIN rollouts r ON r.id = v.rollout_id WHERE r.state IN (?, ?) GROUP BY v.state`,
		driverhub.RolloutRunning, driverhub.RolloutPaused)
	for _, c := range ts {
		st.Targets[driverhub.TargetState(c.state)] = c.n
	}
	return st, err
}

// RolloutCandidates reads every instance of the tenant with its binding
// of the driver in one query: a rollout to ten thousand gateways selects
// them without ten thousand lookups.
func (t *Tx) RolloutCandidates(ctx context.Context, tenantID, driver string) ([]driverhub.RolloutCandidate, error) {
	return queryAll(ctx, t, func(s scanner) (driverhub.RolloutCandidate, error) {
		var c driverhub.RolloutCandidate
		var tags string
		var binding, driverID, version sql.NullString
		if err := s.Scan(&c.InstanceID, &c.Instance, &tags, &binding, &driverID, &version); err != nil {
			return c, err
		}
		c.BindingID, c.DriverID, c.Version = binding.String, driverID.String, version.String
		return c, json.Unmarshal([]byte(tags), &c.Tags)
	}, `SELECT i.id, i.name, i.tags, b.id, b.driver_id, b.version FROM instances i
		LEFT JOIN bindings b ON b.instance_id = i.id AND b.driver_name = ?
		WHERE i.tenant_id = ? ORDER BY i.name`, driver, tenantID)
}

func (t *Tx) ActiveRolloutInstances(ctx context.Context, tenantID, driverID string) (map[string]*driverhub.Rollout, error) {
	active, err := queryAll(ctx, t, scanRollout, `SELECT `+rolloutColumns+` FROM rollouts r
		WHERE r.tenant_id = ? AND r.driver_id = ? AND r.state IN (?, ?)`,
		tenantID, driverID, driverhub.RolloutRunning, driverhub.RolloutPaused)
	if err != nil {
		return nil, err
	}
	out := map[string]*driverhub.Rollout{}
	for _, r := range active {
		ids, err := queryAll(ctx, t, func(s scanner) (string, error) {
			var id string
			return id, s.Scan(&id)
		}, `SELECT instance_id FROM rollout_targets WHERE rollout_id = ? AND state <> ?`,
			r.ID, driverhub.TargetSkipped)
		if err != nil {
			return nil, err
		}
		for _, id := range ids {
			out[id] = r
		}
	}
	return out, nil
}

// queryIn runs head, which ends in "IN ", then a list of ids, then tail,
// with args before the ids, over the ids in chunks that stay below every
// dialect's limit on parameters, and returns every row scan makes, chunk
// after chunk (tail's ORDER BY orders each chunk's rows).
func queryIn[T any](ctx context.Context, t *Tx, scan func(scanner) (T, error), head string, args []any, ids []string, tail string) ([]T, error) {
	out := []T{}
	for len(ids) > 0 {
		chunk := ids[:min(len(ids), targetInsertBatch)]
		ids = ids[len(chunk):]
		a := append([]any{}, args...)
		for _, id := range chunk {
			a = append(a, id)
		}
		found, err := queryAll(ctx, t, scan, head+`(?`+strings.Repeat(", ?", len(chunk)-1)+`)`+tail, a...)
		if err != nil {
			return nil, err
		}
		out = append(out, found...)
	}
	return out, nil
}

// queryAll runs a query and reads every row with scan.
func queryAll[T any](ctx context.Context, t *Tx, scan func(scanner) (T, error), q string, args ...any) ([]T, error) {
	rows, err := t.query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []T{}
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}
