package driverhub

import "context"

// Store is the database. Every state change runs in one transaction through
// Update, so a crash leaves either the old state or the new one.
type Store interface {
	// Update runs fn in a read-write transaction, committed when fn returns nil.
	Update(ctx context.Context, fn func(Tx) error) error
	// View runs fn in a read-only transaction.
	View(ctx context.Context, fn func(Tx) error) error
	// Ping reports whether the database is reachable.
	Ping(ctx context.Context) error
	Close() error
}

// Tx is what a transaction can do. Lookups of absent rows return an error
// for which errors.Is(err, ErrNotFound) holds; inserts that break a
// uniqueness rule return one for which errors.Is(err, ErrConflict) holds.
// Adapters map their drivers' errors to these; services turn them into
// messages that name the resource.
type Tx interface {
	AccountTx
	DriverTx
}

// AccountTx stores tenants, users and API tokens.
type AccountTx interface {
	CreateTenant(ctx context.Context, t *Tenant) error
	TenantByName(ctx context.Context, name string) (*Tenant, error)
	TenantByID(ctx context.Context, id string) (*Tenant, error)
	CountTenants(ctx context.Context) (int, error)

	CreateUser(ctx context.Context, u *User) error
	UserByName(ctx context.Context, tenantID, username string) (*User, error)
	UserByID(ctx context.Context, id string) (*User, error)
	// ListUsers lists a tenant's users by username.
	ListUsers(ctx context.Context, tenantID string, p Page) (List[*User], error)
	UpdateUser(ctx context.Context, u *User) error
	DeleteUser(ctx context.Context, id string) error
	CountAdmins(ctx context.Context, tenantID string) (int, error)

	CreateToken(ctx context.Context, t *Token) error
	TokenByHash(ctx context.Context, hash string) (*Token, error)
	TokenByID(ctx context.Context, tenantID, id string) (*Token, error)
	// ListTokens lists a tenant's tokens, newest first.
	ListTokens(ctx context.Context, tenantID string, p Page) (List[*Token], error)
	DeleteToken(ctx context.Context, id string) error
	DeleteTokensOfUser(ctx context.Context, userID string) error
}

// DriverFilter narrows a list of drivers. Empty fields match everything; Q
// matches a substring of the name or description, case-insensitively.
type DriverFilter struct {
	Protocol string
	Runtime  string
	Q        string
}

// DriverTx stores drivers and their versions.
type DriverTx interface {
	CreateDriver(ctx context.Context, d *Driver) error
	DriverByName(ctx context.Context, tenantID, name string) (*Driver, error)
	DriverByID(ctx context.Context, id string) (*Driver, error)
	// ListDrivers lists a tenant's drivers by name.
	ListDrivers(ctx context.Context, tenantID string, f DriverFilter, p Page) (List[*Driver], error)
	UpdateDriver(ctx context.Context, d *Driver) error
	DeleteDriver(ctx context.Context, id string) error

	CreateVersion(ctx context.Context, v *DriverVersion) error
	VersionByName(ctx context.Context, driverID, version string) (*DriverVersion, error)
	// ListVersions lists a driver's versions, newest first; status "" means all.
	ListVersions(ctx context.Context, driverID, status string, p Page) (List[*DriverVersion], error)
	// LatestPublished returns the most recently published version.
	LatestPublished(ctx context.Context, driverID string) (*DriverVersion, error)
	CountVersions(ctx context.Context, driverID, status string) (int, error)
	UpdateVersion(ctx context.Context, v *DriverVersion) error
	DeleteVersion(ctx context.Context, id string) error
	// BlobReferenced reports whether any version or config refers to the digest.
	BlobReferenced(ctx context.Context, sha256 string) (bool, error)
}
