package sqlstore

import (
	"context"
	"database/sql"
	"time"

	"github.com/driverhub/driverhub"
)

// referencedBy is the one definition of a blob reference: a SQL condition
// true when something refers to the digest expr (a column, or "?" given
// refArgs times).
func referencedBy(expr string) string {
	return `(EXISTS (SELECT 1 FROM driver_versions r WHERE r.package_sha256 = ` + expr + `)
		OR EXISTS (SELECT 1 FROM driver_versions r WHERE r.config_file_sha256 = ` + expr + `)
		OR EXISTS (SELECT 1 FROM bindings r WHERE r.config_file_sha256 = ` + expr + `)
		OR EXISTS (SELECT 1 FROM deployment_blobs r WHERE r.sha256 = ` + expr + `)
		OR EXISTS (SELECT 1 FROM uploads r WHERE r.sha256 = ` + expr + `))`
}

// refArgs is how many times referencedBy names its expression.
const refArgs = 5

func repeat(v any, n int) []any {
	out := make([]any, n)
	for i := range out {
		out[i] = v
	}
	return out
}

func (t *Tx) BlobReferenced(ctx context.Context, sha256 string) (bool, error) {
	var ok bool
	err := t.queryRow(ctx, `SELECT `+referencedBy("?"), repeat(sha256, refArgs)...).Scan(&ok)
	return ok, t.mapErr(err)
}

func affected(r sql.Result, err error) (bool, error) {
	if err != nil {
		return false, err
	}
	n, err := r.RowsAffected()
	return n > 0, err
}

func (t *Tx) ClaimBlob(ctx context.Context, sha256 string, size int64, now, staleDeletion time.Time) (bool, error) {
	return affected(t.exec(ctx, `INSERT INTO blobs (sha256, size, claimed_at) VALUES (?, ?, ?)
		ON CONFLICT (sha256) DO UPDATE SET size = excluded.size, claimed_at = excluded.claimed_at,
			unreferenced_since = NULL, deleting_at = NULL
		WHERE blobs.deleting_at IS NULL OR blobs.deleting_at < ?`,
		sha256, size, toDB(now), toDB(staleDeletion)))
}

func (t *Tx) TouchBlob(ctx context.Context, sha256 string, now time.Time) (bool, error) {
	return affected(t.exec(ctx, `UPDATE blobs SET claimed_at = ?, unreferenced_since = NULL
		WHERE sha256 = ? AND deleting_at IS NULL`, toDB(now), sha256))
}

func (t *Tx) AddBlobs(ctx context.Context, blobs []driverhub.BlobInfo, now time.Time) (int, error) {
	added := 0
	for _, b := range blobs {
		ok, err := affected(t.exec(ctx, `INSERT INTO blobs (sha256, size, claimed_at) VALUES (?, ?, ?)
			ON CONFLICT (sha256) DO NOTHING`, b.Key, b.Size, toDB(now)))
		if err != nil {
			return added, err
		}
		if ok {
			added++
		}
	}
	return added, nil
}

func (t *Tx) MarkUnreferencedBlobs(ctx context.Context, now time.Time) error {
	if _, err := t.exec(ctx, `UPDATE blobs SET unreferenced_since = ?
		WHERE unreferenced_since IS NULL AND deleting_at IS NULL AND NOT `+referencedBy("blobs.sha256"), toDB(now)); err != nil {
		return err
	}
	_, err := t.exec(ctx, `UPDATE blobs SET unreferenced_since = NULL
		WHERE unreferenced_since IS NOT NULL AND `+referencedBy("blobs.sha256"))
	return err
}

// collectable is the condition on a blobs row for the collector: stamped
// unreferenced and unclaimed since before the cutoff, and not being
// deleted but by an abandoned deletion. Its arguments: cutoff, cutoff,
// staleDeletion.
const collectable = `unreferenced_since <= ? AND claimed_at <= ?
	AND (deleting_at IS NULL OR deleting_at < ?)`

func (t *Tx) CollectableBlobs(ctx context.Context, cutoff, staleDeletion time.Time, after string, limit int) ([]string, error) {
	return t.digests(ctx, `SELECT sha256 FROM blobs WHERE `+collectable+` AND sha256 > ? ORDER BY sha256 LIMIT ?`,
		toDB(cutoff), toDB(cutoff), toDB(staleDeletion), after, limit)
}

func (t *Tx) StartBlobDeletion(ctx context.Context, sha256 string, cutoff, staleDeletion, now time.Time) (bool, error) {
	return affected(t.exec(ctx, `UPDATE blobs SET deleting_at = ?
		WHERE sha256 = ? AND `+collectable+` AND NOT `+referencedBy("blobs.sha256"),
		toDB(now), sha256, toDB(cutoff), toDB(cutoff), toDB(staleDeletion)))
}

func (t *Tx) FinishBlobDeletion(ctx context.Context, sha256 string, started time.Time) error {
	_, err := t.exec(ctx, `DELETE FROM blobs WHERE sha256 = ? AND deleting_at = ?`, sha256, toDB(started))
	return err
}

func (t *Tx) ReferencedBlobs(ctx context.Context, after string, limit int) ([]string, error) {
	return t.digests(ctx, `SELECT sha256 FROM (
			SELECT package_sha256 AS sha256 FROM driver_versions
			UNION SELECT config_file_sha256 FROM driver_versions
			UNION SELECT config_file_sha256 FROM bindings
			UNION SELECT sha256 FROM deployment_blobs
			UNION SELECT sha256 FROM uploads) refs
		WHERE sha256 IS NOT NULL AND sha256 > ? ORDER BY sha256 LIMIT ?`, after, limit)
}

// tenantRefs selects the digests a tenant's versions, bindings and staged
// uploads refer to; its arguments are the tenant's id, four times.
const tenantRefs = `SELECT v.package_sha256 AS sha256 FROM driver_versions v JOIN drivers d ON d.id = v.driver_id WHERE d.tenant_id = ?
	UNION SELECT v.config_file_sha256 FROM driver_versions v JOIN drivers d ON d.id = v.driver_id WHERE d.tenant_id = ?
	UNION SELECT b.config_file_sha256 FROM bindings b JOIN instances i ON i.id = b.instance_id WHERE i.tenant_id = ?
	UNION SELECT u.sha256 FROM uploads u WHERE u.tenant_id = ?`

func (t *Tx) TenantBlobUsage(ctx context.Context, tenantID string) (int64, error) {
	var n int64
	err := t.queryRow(ctx, `SELECT COALESCE(SUM(size), 0) FROM blobs WHERE sha256 IN (`+tenantRefs+`)`,
		repeat(tenantID, 4)...).Scan(&n)
	return n, t.mapErr(err)
}

func (t *Tx) TenantRefersToBlob(ctx context.Context, tenantID, sha256 string) (bool, error) {
	var ok bool
	err := t.queryRow(ctx, `SELECT EXISTS (SELECT 1 FROM (`+tenantRefs+`) refs WHERE refs.sha256 = ?)`,
		append(repeat(tenantID, 4), sha256)...).Scan(&ok)
	return ok, t.mapErr(err)
}

func (t *Tx) digests(ctx context.Context, q string, args ...any) ([]string, error) {
	rows, err := t.query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, t.mapErr(rows.Err())
}
