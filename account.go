package driverhub

import (
	"context"
	"regexp"
	"time"
)

// Role is what a user or token may do. Each role includes the ones below it.
type Role string

const (
	RoleViewer    Role = "viewer"
	RoleDeveloper Role = "developer"
	RoleAdmin     Role = "admin"
)

func (r Role) rank() int {
	switch r {
	case RoleViewer:
		return 1
	case RoleDeveloper:
		return 2
	case RoleAdmin:
		return 3
	}
	return 0
}

// Valid reports whether r is one of the three roles.
func (r Role) Valid() bool { return r.rank() > 0 }

// AtLeast reports whether r includes every right of min.
func (r Role) AtLeast(min Role) bool { return r.Valid() && min.Valid() && r.rank() >= min.rank() }

// Tenant is an account. Nothing of one tenant is visible to another.
type Tenant struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
}

// User is a person who signs in to the console or owns tokens.
type User struct {
	ID           string    `json:"id"`
	TenantID     string    `json:"-"`
	Username     string    `json:"username"`
	Role         Role      `json:"role"`
	SystemAdmin  bool      `json:"system_admin"`
	PasswordHash string    `json:"-"`
	CreatedAt    time.Time `json:"created_at"`
	UpdatedAt    time.Time `json:"updated_at"`
}

// Token is an API token. Only its SHA-256 is stored; the secret is shown once.
type Token struct {
	ID        string    `json:"id"`
	TenantID  string    `json:"-"`
	UserID    string    `json:"-"`
	Name      string    `json:"name"`
	Role      Role      `json:"role"`
	Hash      string    `json:"-"`
	CreatedAt time.Time `json:"created_at"`
	// ExpiresAt ends a token's life (console sessions); nil never expires.
	ExpiresAt *time.Time `json:"expires_at"`
	Token     string     `json:"token,omitempty"` // the secret, only in the answer to its creation
}

// Principal is who is calling: a user (by session or token) of a tenant.
type Principal struct {
	TenantID    string
	TenantName  string
	UserID      string
	Username    string
	Role        Role
	SystemAdmin bool
	TokenID     string // set when authenticated by an API token
}

type principalKey struct{}

// WithPrincipal returns a context carrying p.
func WithPrincipal(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFrom returns the caller stored in ctx, or nil.
func PrincipalFrom(ctx context.Context) *Principal {
	p, _ := ctx.Value(principalKey{}).(*Principal)
	return p
}

var (
	usernamePattern   = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$`)
	tenantNamePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,39}$`)
)

// ValidateUsername checks a username: 1–64 of letters, digits, _ . @ -, not starting with a symbol.
func ValidateUsername(name string) error {
	if !usernamePattern.MatchString(name) {
		return Invalid("username", "must be 1-%d letters, digits, '_', '.', '@' or '-', starting with a letter or digit", MaxUsernameLen)
	}
	return nil
}

// ValidatePassword checks a new password's length.
func ValidatePassword(pw string) error {
	if len(pw) < MinPasswordLen || len(pw) > MaxPasswordLen {
		return Invalid("password", "must be %d-%d bytes long", MinPasswordLen, MaxPasswordLen)
	}
	return nil
}

// ValidateTenantName checks a tenant name: 1–40 of lower-case letters, digits and '-'.
func ValidateTenantName(name string) error {
	if !tenantNamePattern.MatchString(name) {
		return Invalid("name", "must be 1-%d lower-case letters, digits or '-', starting with a letter or digit", MaxTenantNameLen)
	}
	return nil
}

// ValidateRole checks a role name in the given field.
func ValidateRole(field string, r Role) error {
	if !r.Valid() {
		return Invalid(field, "must be one of admin, developer, viewer")
	}
	return nil
}

// ValidateTokenName checks an API token's name: 1–64 bytes of one line of
// text without invisible characters.
func ValidateTokenName(name string) error {
	if name == "" || len(name) > MaxTokenNameLen {
		return Invalid("name", "must be 1-%d bytes", MaxTokenNameLen)
	}
	return checkText("name", name, textKindLabel)
}

// CheckToken returns a problem for each field of a new API token that is wrong.
func CheckToken(name string, role Role) FieldErrors {
	var l FieldErrors
	l.Add(ValidateTokenName(name), ValidateRole("role", role))
	return l
}

// TokenPrefix starts every API token, so that a leaked one is recognisable
// (and secret scanners can find it).
const TokenPrefix = "dht_"

// InitialAdmin holds the credentials made for a new tenant's admin.
type InitialAdmin struct {
	Username string `json:"username"`
	Password string `json:"password"`
	Token    string `json:"token,omitempty"`
}

// NewTenant is the answer to creating a tenant: its admin's credentials, shown once.
type NewTenant struct {
	Name  string       `json:"name"`
	Admin InitialAdmin `json:"admin"`
	Token string       `json:"token"`
}

// UserInput creates or changes a user; nil fields are absent. A user
// changing their own password gives the current one too.
type UserInput struct {
	Username        *string `json:"username"`
	Password        *string `json:"password"`
	Role            *Role   `json:"role"`
	CurrentPassword *string `json:"current_password"`
}

// Check returns a problem for each field of the input that is wrong; a new
// user (creating) needs all three.
func (in UserInput) Check(creating bool) FieldErrors {
	var l FieldErrors
	for _, f := range []struct {
		name  string
		check func() error
		unset bool
	}{
		{"username", func() error { return ValidateUsername(*in.Username) }, in.Username == nil},
		{"password", func() error { return ValidatePassword(*in.Password) }, in.Password == nil},
		{"role", func() error { return ValidateRole("role", *in.Role) }, in.Role == nil},
	} {
		switch {
		case f.unset && creating:
			l.Add(Invalid(f.name, "is required"))
		case !f.unset:
			l.Add(f.check())
		}
	}
	return l
}
