package sqlstore

import (
	"context"
	"database/sql"

	"github.com/driverhub/driverhub"
)

func (t *Tx) CreateTenant(ctx context.Context, tn *driverhub.Tenant) error {
	_, err := t.exec(ctx, `INSERT INTO tenants (id, name, created_at) VALUES (?, ?, ?)`,
		tn.ID, tn.Name, toDB(tn.CreatedAt))
	return err
}

func (t *Tx) tenant(ctx context.Context, where string, arg any) (*driverhub.Tenant, error) {
	var tn driverhub.Tenant
	var created int64
	err := t.queryRow(ctx, `SELECT id, name, created_at FROM tenants WHERE `+where, arg).Scan(&tn.ID, &tn.Name, &created)
	if err != nil {
		return nil, t.mapErr(err)
	}
	tn.CreatedAt = fromDB(created)
	return &tn, nil
}

func (t *Tx) TenantByName(ctx context.Context, name string) (*driverhub.Tenant, error) {
	return t.tenant(ctx, "name = ?", name)
}

func (t *Tx) TenantByID(ctx context.Context, id string) (*driverhub.Tenant, error) {
	return t.tenant(ctx, "id = ?", id)
}

func (t *Tx) CountTenants(ctx context.Context) (int, error) {
	var n int
	err := t.queryRow(ctx, `SELECT COUNT(*) FROM tenants`).Scan(&n)
	return n, t.mapErr(err)
}

const userColumns = `id, tenant_id, username, role, system_admin, password_hash, created_at, updated_at`

type scanner interface{ Scan(...any) error }

func scanUser(s scanner) (*driverhub.User, error) {
	var u driverhub.User
	var created, updated int64
	if err := s.Scan(&u.ID, &u.TenantID, &u.Username, &u.Role, &u.SystemAdmin, &u.PasswordHash, &created, &updated); err != nil {
		return nil, err
	}
	u.CreatedAt, u.UpdatedAt = fromDB(created), fromDB(updated)
	return &u, nil
}

func (t *Tx) CreateUser(ctx context.Context, u *driverhub.User) error {
	_, err := t.exec(ctx, `INSERT INTO users (`+userColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		u.ID, u.TenantID, u.Username, u.Role, u.SystemAdmin, u.PasswordHash, toDB(u.CreatedAt), toDB(u.UpdatedAt))
	return err
}

func (t *Tx) UserByName(ctx context.Context, tenantID, username string) (*driverhub.User, error) {
	u, err := scanUser(t.queryRow(ctx, `SELECT `+userColumns+` FROM users WHERE tenant_id = ? AND username = ?`, tenantID, username))
	return u, t.mapErr(err)
}

func (t *Tx) UserByID(ctx context.Context, id string) (*driverhub.User, error) {
	u, err := scanUser(t.queryRow(ctx, `SELECT `+userColumns+` FROM users WHERE id = ?`, id))
	return u, t.mapErr(err)
}

func (t *Tx) ListUsers(ctx context.Context, tenantID string, p driverhub.Page) (driverhub.List[*driverhub.User], error) {
	return page(ctx, t, p, `SELECT `+userColumns+` FROM users`, `tenant_id = ?`, []any{tenantID}, "username", false,
		func(r *sql.Rows) (*driverhub.User, string, error) {
			u, err := scanUser(r)
			if err != nil {
				return nil, "", err
			}
			return u, u.Username, nil
		})
}

func (t *Tx) UpdateUser(ctx context.Context, u *driverhub.User) error {
	return mustAffect(t.exec(ctx, `UPDATE users SET role = ?, system_admin = ?, password_hash = ?, updated_at = ? WHERE id = ?`,
		u.Role, u.SystemAdmin, u.PasswordHash, toDB(u.UpdatedAt), u.ID))
}

func (t *Tx) DeleteUser(ctx context.Context, id string) error {
	return mustAffect(t.exec(ctx, `DELETE FROM users WHERE id = ?`, id))
}

func (t *Tx) CountAdmins(ctx context.Context, tenantID string) (int, error) {
	var n int
	err := t.queryRow(ctx, `SELECT COUNT(*) FROM users WHERE tenant_id = ? AND role = ?`, tenantID, driverhub.RoleAdmin).Scan(&n)
	return n, t.mapErr(err)
}

const tokenColumns = `id, tenant_id, user_id, name, role, hash, created_at, expires_at`

func scanToken(s scanner) (*driverhub.Token, error) {
	var k driverhub.Token
	var created int64
	var expires sql.NullInt64
	if err := s.Scan(&k.ID, &k.TenantID, &k.UserID, &k.Name, &k.Role, &k.Hash, &created, &expires); err != nil {
		return nil, err
	}
	k.CreatedAt, k.ExpiresAt = fromDB(created), nullTimeFromDB(expires)
	return &k, nil
}

func (t *Tx) CreateToken(ctx context.Context, k *driverhub.Token) error {
	_, err := t.exec(ctx, `INSERT INTO tokens (`+tokenColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		k.ID, k.TenantID, k.UserID, k.Name, k.Role, k.Hash, toDB(k.CreatedAt), nullTimeToDB(k.ExpiresAt))
	return err
}

func (t *Tx) TokenByHash(ctx context.Context, hash string) (*driverhub.Token, error) {
	k, err := scanToken(t.queryRow(ctx, `SELECT `+tokenColumns+` FROM tokens WHERE hash = ?`, hash))
	return k, t.mapErr(err)
}

func (t *Tx) TokenByID(ctx context.Context, tenantID, id string) (*driverhub.Token, error) {
	k, err := scanToken(t.queryRow(ctx, `SELECT `+tokenColumns+` FROM tokens WHERE tenant_id = ? AND id = ?`, tenantID, id))
	return k, t.mapErr(err)
}

func (t *Tx) ListTokens(ctx context.Context, tenantID, userID string, p driverhub.Page) (driverhub.List[*driverhub.Token], error) {
	where, args := `tenant_id = ?`, []any{tenantID}
	if userID != "" {
		where, args = where+` AND user_id = ?`, append(args, userID)
	}
	return page(ctx, t, p, `SELECT `+tokenColumns+` FROM tokens`, where, args, "id", true,
		func(r *sql.Rows) (*driverhub.Token, string, error) {
			k, err := scanToken(r)
			if err != nil {
				return nil, "", err
			}
			return k, k.ID, nil
		})
}

func (t *Tx) DeleteToken(ctx context.Context, id string) error {
	return mustAffect(t.exec(ctx, `DELETE FROM tokens WHERE id = ?`, id))
}

func (t *Tx) DeleteTokensOfUser(ctx context.Context, userID string) error {
	_, err := t.exec(ctx, `DELETE FROM tokens WHERE user_id = ?`, userID)
	return err
}
