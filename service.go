package driverhub

import (
	"context"
	"io"
)

// AccountService manages tenants, users and API tokens, and tells who a
// caller is. Methods read the caller from the context (WithPrincipal).
type AccountService interface {
	Bootstrap(ctx context.Context, password, token string) (*InitialAdmin, error)
	Authenticate(ctx context.Context, token string) (*Principal, error)
	Login(ctx context.Context, username, password string) (*Principal, error)
	CreateTenant(ctx context.Context, name string) (*NewTenant, error)

	ListUsers(ctx context.Context, p Page) (List[*User], error)
	GetUser(ctx context.Context, username string) (*User, error)
	CreateUser(ctx context.Context, in UserInput) (*User, error)
	UpdateUser(ctx context.Context, username string, in UserInput) (*User, error)
	DeleteUser(ctx context.Context, username string) error

	CreateToken(ctx context.Context, name string, role Role) (*Token, error)
	ListTokens(ctx context.Context, p Page) (List[*Token], error)
	RevokeToken(ctx context.Context, id string) error
}

// DriverService manages drivers, their versions, packages and configs.
type DriverService interface {
	CreateDriver(ctx context.Context, in DriverInput) (*Driver, error)
	GetDriver(ctx context.Context, name string) (*Driver, error)
	ListDrivers(ctx context.Context, f DriverFilter, p Page) (List[*Driver], error)
	UpdateDriver(ctx context.Context, name string, in DriverInput) (*Driver, error)
	DeleteDriver(ctx context.Context, name string) error

	CreateVersion(ctx context.Context, driver string, in VersionInput) (*DriverVersion, error)
	GetVersion(ctx context.Context, driver, version string) (*DriverVersion, error)
	ListVersions(ctx context.Context, driver, status string, p Page) (List[*DriverVersion], error)
	UpdateVersion(ctx context.Context, driver, version string, in VersionInput) (*DriverVersion, error)
	DeleteVersion(ctx context.Context, driver, version string) error
	PublishVersion(ctx context.Context, driver, version string) (*DriverVersion, error)

	PutPackage(ctx context.Context, driver, version, filename string, body io.Reader) (*DriverVersion, error)
	OpenPackage(ctx context.Context, driver, version string) (*Download, error)
	PutConfigFile(ctx context.Context, driver, version, name string, body io.Reader) (*DriverVersion, error)
	OpenConfigFile(ctx context.Context, driver, version string) (*Download, error)
}
