package service

import (
	"context"
	"errors"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/driverhub/driverhub"
	"github.com/driverhub/driverhub/internal/text"
)

// Bootstrap creates tenant "default", its system admin and a token when the
// database is empty. It returns the credentials, or nil when the database
// was not empty. Empty password or token are generated.
func (s *Service) Bootstrap(ctx context.Context, password, token string) (*driverhub.InitialAdmin, error) {
	if password == "" {
		password = driverhub.NewSecret("", 12)
	}
	if token == "" {
		token = driverhub.NewSecret(driverhub.TokenPrefix, 32)
	}
	if err := driverhub.ValidatePassword(password); err != nil {
		return nil, err
	}
	if !validTokenFormat(token) {
		return nil, driverhub.Invalid("token", "must be %q followed by %d-%d letters, digits, '-' or '_': no other token is ever accepted",
			driverhub.TokenPrefix, driverhub.MinTokenSecretChars, driverhub.MaxTokenSecretChars)
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(password), s.cost)
	if err != nil {
		return nil, err
	}
	var created bool
	err = s.store.Update(ctx, func(tx driverhub.Tx) error {
		created = false // the store may run fn again (a retried serialization failure)
		n, err := tx.CountTenants(ctx)
		if err != nil || n > 0 {
			return err
		}
		created = true
		_, err = s.createTenantTx(ctx, tx, "default", "admin", string(hash), true, token)
		return err
	})
	if err != nil || !created {
		return nil, err
	}
	return &driverhub.InitialAdmin{Username: "admin", Password: password, Token: token}, nil
}

func (s *Service) createTenantTx(ctx context.Context, tx driverhub.Tx, name, admin, passwordHash string, systemAdmin bool, token string) (*driverhub.Tenant, error) {
	now := s.timestamp()
	t := &driverhub.Tenant{ID: driverhub.NewID(), Name: name, CreatedAt: now}
	if err := tx.CreateTenant(ctx, t); err != nil {
		return nil, conflict(err, "name", "tenant %q exists already", name)
	}
	u := &driverhub.User{ID: driverhub.NewID(), TenantID: t.ID, Username: admin, Role: driverhub.RoleAdmin,
		SystemAdmin: systemAdmin, PasswordHash: passwordHash, CreatedAt: now, UpdatedAt: now}
	if err := tx.CreateUser(ctx, u); err != nil {
		return nil, err
	}
	k := &driverhub.Token{ID: driverhub.NewID(), TenantID: t.ID, UserID: u.ID, Name: "initial-admin",
		Role: driverhub.RoleAdmin, Hash: hashSecret(token), CreatedAt: now}
	return t, tx.CreateToken(ctx, k)
}

// CreateTenant creates a tenant with an admin user and token (system admins only).
func (s *Service) CreateTenant(ctx context.Context, name string) (*driverhub.NewTenant, error) {
	p, err := authorize(ctx, driverhub.RoleAdmin)
	if err != nil {
		return nil, err
	}
	if !p.SystemAdmin {
		return nil, driverhub.Errorf(driverhub.EPermissionDenied, "only a system admin may create tenants")
	}
	name = text.Normal(name)
	if err := driverhub.ValidateTenantName(name); err != nil {
		return nil, err
	}
	password := driverhub.NewSecret("", 12)
	token := driverhub.NewSecret(driverhub.TokenPrefix, 32)
	hash, err := bcrypt.GenerateFromPassword([]byte(password), s.cost)
	if err != nil {
		return nil, err
	}
	err = s.store.Update(ctx, func(tx driverhub.Tx) error {
		_, err := s.createTenantTx(ctx, tx, name, "admin", string(hash), false, token)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &driverhub.NewTenant{Name: name, Admin: driverhub.InitialAdmin{Username: "admin", Password: password}, Token: token}, nil
}

// Authenticate resolves an API token to its caller. The caller's role is
// the lower of the token's and its user's current role.
func (s *Service) Authenticate(ctx context.Context, token string) (*driverhub.Principal, error) {
	unauth := driverhub.Errorf(driverhub.EUnauthenticated, "invalid or revoked token")
	if !validTokenFormat(token) {
		return nil, unauth
	}
	var p *driverhub.Principal
	err := s.store.View(ctx, func(tx driverhub.Tx) error {
		k, err := tx.TokenByHash(ctx, hashSecret(token))
		if err != nil {
			return err
		}
		if k.ExpiresAt != nil && !s.now().Before(*k.ExpiresAt) {
			return driverhub.ErrNotFound // expired: as good as revoked
		}
		u, err := tx.UserByID(ctx, k.UserID)
		if err != nil {
			return err
		}
		t, err := tx.TenantByID(ctx, k.TenantID)
		if err != nil {
			return err
		}
		role := k.Role
		if !u.Role.AtLeast(role) {
			role = u.Role
		}
		p = &driverhub.Principal{TenantID: t.ID, TenantName: t.Name, UserID: u.ID, Username: u.Username,
			Role: role, SystemAdmin: u.SystemAdmin && role == driverhub.RoleAdmin, TokenID: k.ID}
		return nil
	})
	if errors.Is(err, driverhub.ErrNotFound) {
		return nil, unauth
	}
	return p, err
}

// Login checks a password. username may be "name" (tenant "default") or
// "tenant/name". Every failure answers the same, so names do not leak;
// failures are throttled per user name and client address, and a
// throttled attempt is refused before its password is looked at.
func (s *Service) Login(ctx context.Context, username, password string) (*driverhub.Principal, error) {
	tenant, name := splitLogin(username)
	keys := loginKeys(ctx, tenant, name)
	if err := s.throttle.check(s.now(), keys...); err != nil {
		return nil, err
	}
	var p *driverhub.Principal
	var hash string
	err := s.store.View(ctx, func(tx driverhub.Tx) error {
		t, err := tx.TenantByName(ctx, tenant)
		if err != nil {
			return err
		}
		u, err := tx.UserByName(ctx, t.ID, name)
		if err != nil {
			return err
		}
		hash = u.PasswordHash
		p = &driverhub.Principal{TenantID: t.ID, TenantName: t.Name, UserID: u.ID, Username: u.Username, Role: u.Role, SystemAdmin: u.SystemAdmin}
		return nil
	})
	if err != nil && !errors.Is(err, driverhub.ErrNotFound) {
		return nil, err
	}
	if hash == "" {
		hash = dummyHash // spend the same time as a real check
	}
	if bcrypt.CompareHashAndPassword([]byte(hash), []byte(password)) != nil || p == nil {
		s.throttle.fail(s.now(), keys...)
		return nil, driverhub.Errorf(driverhub.EUnauthenticated, "wrong username or password")
	}
	return p, nil
}

// dummyHash is a bcrypt hash of a random password, compared against when
// the user does not exist so that the answer takes as long.
var dummyHash = func() string {
	h, _ := bcrypt.GenerateFromPassword([]byte(driverhub.NewSecret("", 16)), bcrypt.DefaultCost)
	return string(h)
}()

// ListUsers lists the caller's tenant's users (admins only).
func (s *Service) ListUsers(ctx context.Context, page driverhub.Page) (driverhub.List[*driverhub.User], error) {
	var out driverhub.List[*driverhub.User]
	p, err := authorize(ctx, driverhub.RoleAdmin)
	if err != nil {
		return out, err
	}
	err = s.store.View(ctx, func(tx driverhub.Tx) error {
		out, err = tx.ListUsers(ctx, p.TenantID, page)
		return err
	})
	return out, err
}

// GetUser returns a user of the caller's tenant; anyone may read themselves.
func (s *Service) GetUser(ctx context.Context, username string) (*driverhub.User, error) {
	p, err := authorize(ctx, driverhub.RoleViewer)
	if err != nil {
		return nil, err
	}
	if username != p.Username && !p.Role.AtLeast(driverhub.RoleAdmin) {
		return nil, driverhub.Errorf(driverhub.EPermissionDenied, "only admins may read other users")
	}
	var u *driverhub.User
	err = s.store.View(ctx, func(tx driverhub.Tx) error {
		u, err = tx.UserByName(ctx, p.TenantID, username)
		return notFound(err, "user", username)
	})
	return u, err
}

// CreateUser adds a user to the caller's tenant (admins only).
func (s *Service) CreateUser(ctx context.Context, in driverhub.UserInput) (*driverhub.User, error) {
	p, err := authorize(ctx, driverhub.RoleAdmin)
	if err != nil {
		return nil, err
	}
	text.Normalize(in.Username)
	if err := in.Check(true).Err(); err != nil {
		return nil, err
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(*in.Password), s.cost)
	if err != nil {
		return nil, err
	}
	now := s.timestamp()
	u := &driverhub.User{ID: driverhub.NewID(), TenantID: p.TenantID, Username: *in.Username, Role: *in.Role,
		PasswordHash: string(hash), CreatedAt: now, UpdatedAt: now}
	err = s.store.Update(ctx, func(tx driverhub.Tx) error {
		return conflict(tx.CreateUser(ctx, u), "username", "user %q exists already", u.Username)
	})
	if err != nil {
		return nil, err
	}
	return u, nil
}

// UpdateUser changes a user's role (admins) or password (admins, or the
// user, who gives the current one). The last admin of a tenant cannot be
// demoted. A change of password or role ends the user's console
// sessions, except the one making the change.
func (s *Service) UpdateUser(ctx context.Context, username string, in driverhub.UserInput) (*driverhub.User, error) {
	p, err := authorize(ctx, driverhub.RoleViewer)
	if err != nil {
		return nil, err
	}
	isAdmin := p.Role.AtLeast(driverhub.RoleAdmin)
	if !isAdmin && (username != p.Username || in.Role != nil) {
		return nil, driverhub.Errorf(driverhub.EPermissionDenied, "only admins may change roles or other users")
	}
	text.Normalize(in.Username)
	var problems driverhub.FieldErrors
	if in.Username != nil && *in.Username != username {
		problems.Add(driverhub.Invalid("username", "cannot be changed"))
	}
	problems.AppendNew(in.Check(false))
	if err := problems.Err(); err != nil {
		return nil, err
	}
	var checked string // the hash the current password matched
	if in.Password != nil && username == p.Username {
		if checked, err = s.checkCurrentPassword(ctx, p, in.CurrentPassword); err != nil {
			return nil, err
		}
	}
	var hash []byte
	if in.Password != nil {
		if hash, err = bcrypt.GenerateFromPassword([]byte(*in.Password), s.cost); err != nil {
			return nil, err
		}
	}
	var u *driverhub.User
	err = s.store.Update(ctx, func(tx driverhub.Tx) error {
		if u, err = tx.UserByName(ctx, p.TenantID, username); err != nil {
			return notFound(err, "user", username)
		}
		if checked != "" && u.PasswordHash != checked {
			return driverhub.Errorf(driverhub.EConflict, "your password changed meanwhile: give the new one as current_password")
		}
		roleChanged := in.Role != nil && *in.Role != u.Role
		if roleChanged && u.Role == driverhub.RoleAdmin {
			if err := s.keepOneAdmin(ctx, tx, p.TenantID); err != nil {
				return err
			}
		}
		if in.Role != nil {
			u.Role = *in.Role
		}
		if hash != nil {
			u.PasswordHash = string(hash)
		}
		u.UpdatedAt = s.timestamp()
		if err := tx.UpdateUser(ctx, u); err != nil {
			return err
		}
		if hash != nil || roleChanged {
			return endSessions(ctx, tx, u, p.TokenID)
		}
		return nil
	})
	return u, err
}

// DeleteUser removes a user and its tokens (admins only).
func (s *Service) DeleteUser(ctx context.Context, username string) error {
	p, err := authorize(ctx, driverhub.RoleAdmin)
	if err != nil {
		return err
	}
	return s.store.Update(ctx, func(tx driverhub.Tx) error {
		u, err := tx.UserByName(ctx, p.TenantID, username)
		if err != nil {
			return notFound(err, "user", username)
		}
		if u.Role == driverhub.RoleAdmin {
			if err := s.keepOneAdmin(ctx, tx, p.TenantID); err != nil {
				return err
			}
		}
		if err := tx.DeleteTokensOfUser(ctx, u.ID); err != nil {
			return err
		}
		return tx.DeleteUser(ctx, u.ID)
	})
}

func (s *Service) keepOneAdmin(ctx context.Context, tx driverhub.Tx, tenantID string) error {
	n, err := tx.CountAdmins(ctx, tenantID)
	if err != nil {
		return err
	}
	if n <= 1 {
		return driverhub.Errorf(driverhub.EConflict, "a tenant keeps at least one admin")
	}
	return nil
}

// CreateToken makes an API token for the caller, with a role no higher than its own.
func (s *Service) CreateToken(ctx context.Context, name string, role driverhub.Role) (*driverhub.Token, error) {
	p, err := authorize(ctx, driverhub.RoleViewer)
	if err != nil {
		return nil, err
	}
	name = text.Normal(name)
	if err := driverhub.CheckToken(name, role).Err(); err != nil {
		return nil, err
	}
	if !p.Role.AtLeast(role) {
		return nil, driverhub.Errorf(driverhub.EPermissionDenied, "a token's role cannot be higher than yours (%s)", p.Role)
	}
	secret := driverhub.NewSecret(driverhub.TokenPrefix, 32)
	k := &driverhub.Token{ID: driverhub.NewID(), TenantID: p.TenantID, UserID: p.UserID, Name: name, Role: role,
		Hash: hashSecret(secret), CreatedAt: s.timestamp()}
	if err := s.store.Update(ctx, func(tx driverhub.Tx) error { return tx.CreateToken(ctx, k) }); err != nil {
		return nil, err
	}
	k.Token = secret
	return k, nil
}

// CreateSession makes a token for a console session of the caller, ending after ttl.
func (s *Service) CreateSession(ctx context.Context, ttl time.Duration) (*driverhub.Token, error) {
	p, err := authorize(ctx, driverhub.RoleViewer)
	if err != nil {
		return nil, err
	}
	secret := driverhub.NewSecret(driverhub.TokenPrefix, 32)
	now := s.timestamp()
	expires := now.Add(ttl)
	k := &driverhub.Token{ID: driverhub.NewID(), TenantID: p.TenantID, UserID: p.UserID, Name: sessionTokenName, Role: p.Role,
		Hash: hashSecret(secret), CreatedAt: now, ExpiresAt: &expires}
	if err := s.store.Update(ctx, func(tx driverhub.Tx) error { return tx.CreateToken(ctx, k) }); err != nil {
		return nil, err
	}
	k.Token = secret
	return k, nil
}

// ListTokens lists the tenant's tokens for admins, and one's own for others.
func (s *Service) ListTokens(ctx context.Context, page driverhub.Page) (driverhub.List[*driverhub.Token], error) {
	var out driverhub.List[*driverhub.Token]
	p, err := authorize(ctx, driverhub.RoleViewer)
	if err != nil {
		return out, err
	}
	user := p.UserID // others' tokens are not visible to non-admins
	if p.Role.AtLeast(driverhub.RoleAdmin) {
		user = ""
	}
	err = s.store.View(ctx, func(tx driverhub.Tx) error {
		out, err = tx.ListTokens(ctx, p.TenantID, user, page)
		return err
	})
	return out, err
}

// RevokeToken deletes a token: one's own, or any of the tenant's for admins.
func (s *Service) RevokeToken(ctx context.Context, id string) error {
	p, err := authorize(ctx, driverhub.RoleViewer)
	if err != nil {
		return err
	}
	return s.store.Update(ctx, func(tx driverhub.Tx) error {
		k, err := tx.TokenByID(ctx, p.TenantID, id)
		if err == nil && k.UserID != p.UserID && !p.Role.AtLeast(driverhub.RoleAdmin) {
			err = driverhub.ErrNotFound // others' tokens are not visible to non-admins
		}
		if err != nil {
			return notFound(err, "token", id)
		}
		return tx.DeleteToken(ctx, k.ID)
	})
}
