package sqlstore

import (
	"context"
	"encoding/base64"
	"time"

	"github.com/driverhub/driverhub"
)

// TUF repositories (SPEC §11): metadata as served, the online keys sealed
// (stored as base64 text, the same in both dialects), the tenant's policy.

const tufColumns = `tenant_id, role, version, body, expires_at, refresh_at, created_at`

func (t *Tx) PutTUFMetadata(ctx context.Context, m *driverhub.TUFMetadata) error {
	_, err := t.exec(ctx, `INSERT INTO tuf_metadata (`+tufColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		m.TenantID, m.Role, m.Version, string(m.Body), toDB(m.ExpiresAt), toDB(m.RefreshAt), toDB(m.CreatedAt))
	return err
}

func (t *Tx) TUFMetadataVersion(ctx context.Context, tenantID, role string, version int64) (*driverhub.TUFMetadata, error) {
	return t.tufMetadata(ctx, `SELECT `+tufColumns+` FROM tuf_metadata WHERE tenant_id = ? AND role = ? AND version = ?`,
		tenantID, role, version)
}

func (t *Tx) LatestTUFMetadata(ctx context.Context, tenantID, role string) (*driverhub.TUFMetadata, error) {
	return t.tufMetadata(ctx, `SELECT `+tufColumns+` FROM tuf_metadata WHERE tenant_id = ? AND role = ?
		ORDER BY version DESC LIMIT 1`, tenantID, role)
}

func (t *Tx) tufMetadata(ctx context.Context, q string, args ...any) (*driverhub.TUFMetadata, error) {
	var m driverhub.TUFMetadata
	var body string
	var expires, refresh, created int64
	err := t.queryRow(ctx, q, args...).Scan(&m.TenantID, &m.Role, &m.Version, &body, &expires, &refresh, &created)
	if err != nil {
		return nil, t.mapErr(err)
	}
	m.Body, m.ExpiresAt, m.RefreshAt, m.CreatedAt = []byte(body), fromDB(expires), fromDB(refresh), fromDB(created)
	return &m, nil
}

func (t *Tx) DeleteTUFMetadataBelow(ctx context.Context, tenantID, role string, version int64) error {
	_, err := t.exec(ctx, `DELETE FROM tuf_metadata WHERE tenant_id = ? AND role = ? AND version < ?`, tenantID, role, version)
	return err
}

func (t *Tx) TUFRefreshDue(ctx context.Context, role string, now time.Time) ([]string, error) {
	rows, err := t.query(ctx, `SELECT m.tenant_id FROM tuf_metadata m WHERE m.role = ? AND m.refresh_at <= ?
		AND m.version = (SELECT MAX(x.version) FROM tuf_metadata x WHERE x.tenant_id = m.tenant_id AND x.role = m.role)
		ORDER BY m.tenant_id`, role, toDB(now))
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
	return out, rows.Err()
}

func (t *Tx) PutTUFKey(ctx context.Context, k *driverhub.TUFKey) error {
	_, err := t.exec(ctx, `INSERT INTO tuf_keys (tenant_id, role, key_id, public_key, sealed, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
		k.TenantID, k.Role, k.KeyID, string(k.Public), base64.StdEncoding.EncodeToString(k.Sealed), toDB(k.CreatedAt))
	return err
}

func (t *Tx) TUFKeys(ctx context.Context, tenantID string) ([]*driverhub.TUFKey, error) {
	rows, err := t.query(ctx, `SELECT tenant_id, role, key_id, public_key, sealed, created_at FROM tuf_keys
		WHERE tenant_id = ? ORDER BY role`, tenantID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []*driverhub.TUFKey{}
	for rows.Next() {
		var k driverhub.TUFKey
		var public, sealed string
		var created int64
		if err := rows.Scan(&k.TenantID, &k.Role, &k.KeyID, &public, &sealed, &created); err != nil {
			return nil, err
		}
		if k.Sealed, err = base64.StdEncoding.DecodeString(sealed); err != nil {
			return nil, err
		}
		k.Public, k.CreatedAt = []byte(public), fromDB(created)
		out = append(out, &k)
	}
	return out, rows.Err()
}

func (t *Tx) RequireSignedDrivers(ctx context.Context, tenantID string) (bool, error) {
	var on bool
	err := t.queryRow(ctx, `SELECT require_signed_drivers FROM tenants WHERE id = ?`, tenantID).Scan(&on)
	return on, t.mapErr(err)
}

func (t *Tx) SetRequireSignedDrivers(ctx context.Context, tenantID string, on bool) error {
	return mustAffect(t.exec(ctx, `UPDATE tenants SET require_signed_drivers = ? WHERE id = ?`, on, tenantID))
}
