package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/driverhub/driverhub"
)

// Deployments are read with their instance's name; manifestColumn is added
// where the manifest is wanted.
const deploymentColumns = `dp.id, dp.instance_id, i.name, dp.type, dp.status, dp.reason,
	dp.created_at, dp.started_at, dp.finished_at, dp.resources`

const deploymentFrom = ` FROM deployments dp JOIN instances i ON i.id = dp.instance_id`

const manifestColumn = `, dp.manifest`

func scanDeployment(s scanner, withManifest bool) (*driverhub.Deployment, error) {
	var d driverhub.Deployment
	var created int64
	var started, finished sql.NullInt64
	var resources string
	var manifest sql.NullString
	dest := []any{&d.ID, &d.InstanceID, &d.Instance, &d.Type, &d.Status, &d.Reason,
		&created, &started, &finished, &resources}
	if withManifest {
		dest = append(dest, &manifest)
	}
	if err := s.Scan(dest...); err != nil {
		return nil, err
	}
	d.CreatedAt = fromDB(created)
	d.StartedAt, d.FinishedAt = nullTimeFromDB(started), nullTimeFromDB(finished)
	if err := json.Unmarshal([]byte(resources), &d.Resources); err != nil {
		return nil, fmt.Errorf("deployment %s: resources: %w", d.ID, err)
	}
	if manifest.Valid {
		d.Manifest = new(driverhub.Manifest)
		if err := json.Unmarshal([]byte(manifest.String), d.Manifest); err != nil {
			return nil, fmt.Errorf("deployment %s: manifest: %w", d.ID, err)
		}
	}
	return &d, nil
}

// resourcesJSON is the stored form of a deployment's resources, their log
// times kept as the store keeps times.
func resourcesJSON(rs []driverhub.Resource) (string, error) {
	if rs != nil {
		rs = slices.Clone(rs)
		for i := range rs {
			if rs[i].Log != nil {
				rs[i].Log = slices.Clone(rs[i].Log)
				for j := range rs[i].Log {
					rs[i].Log[j].Time = storedTime(rs[i].Log[j].Time)
				}
			}
		}
	}
	b, err := marshalJSON(rs)
	return string(b), err
}

// manifestBlobs returns the distinct digests of the packages and config
// files a manifest names, in order of first appearance.
func manifestBlobs(m *driverhub.Manifest) []string {
	if m == nil {
		return nil
	}
	var out []string
	for _, d := range m.Drivers {
		for _, l := range []*driverhub.BlobLink{d.Package, d.ConfigFile} {
			if l != nil && l.SHA256 != "" && !slices.Contains(out, l.SHA256) {
				out = append(out, l.SHA256)
			}
		}
	}
	return out
}

func (t *Tx) CreateDeployment(ctx context.Context, d *driverhub.Deployment) error {
	resources, err := resourcesJSON(d.Resources)
	if err != nil {
		return err
	}
	manifest, err := optJSON(d.Manifest, d.Manifest != nil)
	if err != nil {
		return err
	}
	if _, err := t.exec(ctx, `INSERT INTO deployments (id, instance_id, type, status, reason,
		created_at, started_at, finished_at, manifest, resources) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		d.ID, d.InstanceID, d.Type, d.Status, d.Reason, toDB(d.CreatedAt), nullTimeToDB(d.StartedAt),
		nullTimeToDB(d.FinishedAt), manifest, resources); err != nil {
		return err
	}
	for _, sha := range manifestBlobs(d.Manifest) {
		if _, err := t.exec(ctx, `INSERT INTO deployment_blobs (deployment_id, instance_id, sha256) VALUES (?, ?, ?)`,
			d.ID, d.InstanceID, sha); err != nil {
			return err
		}
	}
	return nil
}

func (t *Tx) DeploymentByID(ctx context.Context, instanceID, id string) (*driverhub.Deployment, error) {
	return t.deployment(ctx, instanceID, id, true)
}

func (t *Tx) DeploymentProgress(ctx context.Context, instanceID, id string) (*driverhub.Deployment, error) {
	return t.deployment(ctx, instanceID, id, false)
}

func (t *Tx) deployment(ctx context.Context, instanceID, id string, withManifest bool) (*driverhub.Deployment, error) {
	columns := deploymentColumns
	if withManifest {
		columns += manifestColumn
	}
	row := t.queryRow(ctx, `SELECT `+columns+deploymentFrom+` WHERE dp.instance_id = ? AND dp.id = ?`, instanceID, id)
	d, err := scanDeployment(row, withManifest)
	return d, t.mapErr(err)
}

func (t *Tx) ListDeployments(ctx context.Context, instanceID string, p driverhub.Page) (driverhub.List[*driverhub.Deployment], error) {
	return page(ctx, t, p, `SELECT `+deploymentColumns+deploymentFrom, `dp.instance_id = ?`, []any{instanceID}, "dp.id", true,
		func(r *sql.Rows) (*driverhub.Deployment, string, error) {
			d, err := scanDeployment(r, false)
			if err != nil {
				return nil, "", err
			}
			return d, d.ID, nil
		})
}

// UnfinishedDeployments lists an instance's pending and processing
// deployments, newest first, without their manifests.
func (t *Tx) UnfinishedDeployments(ctx context.Context, instanceID string) ([]*driverhub.Deployment, error) {
	return t.UnfinishedDeploymentsOf(ctx, []string{instanceID})
}

func (t *Tx) UnfinishedDeploymentsOf(ctx context.Context, instanceIDs []string) ([]*driverhub.Deployment, error) {
	return queryIn(ctx, t, func(s scanner) (*driverhub.Deployment, error) { return scanDeployment(s, false) },
		`SELECT `+deploymentColumns+deploymentFrom+` WHERE dp.status IN (?, ?) AND dp.instance_id IN `,
		[]any{driverhub.DeployPending, driverhub.DeployProcessing}, instanceIDs, ` ORDER BY dp.instance_id, dp.id DESC`)
}

func (t *Tx) UpdateDeployment(ctx context.Context, d *driverhub.Deployment) error {
	resources, err := resourcesJSON(d.Resources)
	if err != nil {
		return err
	}
	return mustAffect(t.exec(ctx, `UPDATE deployments SET status = ?, reason = ?, started_at = ?, finished_at = ?, resources = ?
		WHERE id = ?`, d.Status, d.Reason, nullTimeToDB(d.StartedAt), nullTimeToDB(d.FinishedAt), resources, d.ID))
}

func (t *Tx) StartDeployment(ctx context.Context, instanceID, id string, at time.Time) (bool, error) {
	res, err := t.exec(ctx, `UPDATE deployments SET status = ?, started_at = ? WHERE id = ? AND instance_id = ? AND status = ?`,
		driverhub.DeployProcessing, toDB(at), id, instanceID, driverhub.DeployPending)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// FailStaleDeployments fails, in one UPDATE, every deployment processing
// since before startedBefore, and returns the ids of their instances,
// sorted and distinct. The ids come from the UPDATE itself (RETURNING, in
// SQLite 3.35+ and PostgreSQL alike): under PostgreSQL's READ COMMITTED a
// row another replica failed first is re-checked against the WHERE clause
// and skipped, so each deployment is failed, and reported, exactly once.
func (t *Tx) FailStaleDeployments(ctx context.Context, startedBefore, now time.Time, reason string) ([]string, error) {
	rows, err := t.query(ctx, `UPDATE deployments SET status = ?, reason = ?, finished_at = ?
		WHERE status = ? AND started_at < ? RETURNING instance_id`,
		driverhub.DeployFailed, reason, toDB(now), driverhub.DeployProcessing, toDB(startedBefore))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []string{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

func (t *Tx) InstanceCanFetchBlob(ctx context.Context, instanceID, sha256 string) (bool, error) {
	var n int
	err := t.queryRow(ctx, `SELECT COUNT(*) FROM (
		SELECT 1 FROM deployment_blobs WHERE instance_id = ? AND sha256 = ? LIMIT 1) hit`, instanceID, sha256).Scan(&n)
	return n > 0, t.mapErr(err)
}
