package sqlstore

import (
	"context"
	"time"

	"github.com/driverhub/driverhub"
)

const uploadColumns = `id, tenant_id, user_id, kind, filename, size, sha256, runtime, created_at, expires_at`

func (t *Tx) CreateUpload(ctx context.Context, u *driverhub.StagedUpload) error {
	_, err := t.exec(ctx, `INSERT INTO uploads (`+uploadColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		u.ID, u.TenantID, u.UserID, string(u.Kind), u.Filename, u.Size, u.SHA256, u.Runtime, toDB(u.CreatedAt), toDB(u.ExpiresAt))
	return err
}

func (t *Tx) UploadByID(ctx context.Context, id string) (*driverhub.StagedUpload, error) {
	var u driverhub.StagedUpload
	var kind string
	var created, expires int64
	err := t.queryRow(ctx, `SELECT `+uploadColumns+` FROM uploads WHERE id = ?`, id).Scan(
		&u.ID, &u.TenantID, &u.UserID, &kind, &u.Filename, &u.Size, &u.SHA256, &u.Runtime, &created, &expires)
	if err != nil {
		return nil, t.mapErr(err)
	}
	u.Kind, u.CreatedAt, u.ExpiresAt = driverhub.UploadKind(kind), fromDB(created), fromDB(expires)
	return &u, nil
}

func (t *Tx) DeleteUpload(ctx context.Context, id string) error {
	return mustAffect(t.exec(ctx, `DELETE FROM uploads WHERE id = ?`, id))
}

func (t *Tx) DeleteExpiredUploads(ctx context.Context, now time.Time) (int, error) {
	r, err := t.exec(ctx, `DELETE FROM uploads WHERE expires_at <= ?`, toDB(now))
	if err != nil {
		return 0, err
	}
	n, err := r.RowsAffected()
	return int(n), err
}
