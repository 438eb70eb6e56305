package driverhub

import (
	"context"
	"io"
	"time"
)

// AccountService manages tenants, users and API tokens, and tells who a
// caller is. Methods read the caller from the context (WithPrincipal).
type AccountService interface {
	Bootstrap(ctx context.Context, password, token string) (*InitialAdmin, error)
	Authenticate(ctx context.Context, token string) (*Principal, error)
	Login(ctx context.Context, username, password string) (*Principal, error)
	CreateTenant(ctx context.Context, name string) (*NewTenant, error)
	// GetTenant shows the caller's own tenant.
	GetTenant(ctx context.Context) (*TenantView, error)

	ListUsers(ctx context.Context, p Page) (List[*User], error)
	GetUser(ctx context.Context, username string) (*User, error)
	CreateUser(ctx context.Context, in UserInput) (*User, error)
	UpdateUser(ctx context.Context, username string, in UserInput) (*User, error)
	DeleteUser(ctx context.Context, username string) error

	CreateToken(ctx context.Context, name string, role Role) (*Token, error)
	// CreateSession makes a token for the caller's console session, ending after ttl.
	CreateSession(ctx context.Context, ttl time.Duration) (*Token, error)
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

	// StageUpload receives a package or config file ahead of the SaveDraft
	// that uses it, checked and stored until StagedUploadTTL has passed.
	StageUpload(ctx context.Context, in UploadInput, body io.Reader) (*StagedUpload, error)
	// SaveDraft saves a draft version (and a new driver, and staged uploads)
	// in one operation, reporting every field problem at once.
	SaveDraft(ctx context.Context, in DraftInput) (*DriverVersion, error)
	// GetUpload returns a staged upload of the caller's tenant that a draft
	// can still use, so that a form can show what it holds before saving.
	GetUpload(ctx context.Context, id string) (*StagedUpload, error)
	// ListDriverSummaries is ListDrivers with each driver's newest version
	// and whether it is in the marketplace.
	ListDriverSummaries(ctx context.Context, f DriverFilter, p Page) (List[*DriverSummary], error)
}

// InstanceService manages edge instances, devices and bindings.
type InstanceService interface {
	CreateInstance(ctx context.Context, in InstanceInput) (*Instance, error)
	GetInstance(ctx context.Context, name string) (*Instance, error)
	ListInstances(ctx context.Context, p Page) (List[*Instance], error)
	UpdateInstance(ctx context.Context, name string, in InstanceInput) (*Instance, error)
	DeleteInstance(ctx context.Context, name string) error
	RotateGatewaySecret(ctx context.Context, name string) (*Instance, error)

	CreateDevice(ctx context.Context, in DeviceInput) (*Device, error)
	GetDevice(ctx context.Context, product, name string) (*Device, error)
	// ListDevices lists all devices, or those of one instance.
	ListDevices(ctx context.Context, instance string, p Page) (List[*Device], error)
	DeleteDevice(ctx context.Context, product, name string) error
	AssociateDevice(ctx context.Context, instance, product, name string, in DeviceAssociation) (*Device, error)
	DissociateDevice(ctx context.Context, instance, product, name string) error

	Bind(ctx context.Context, instance, driver string, in BindingInput) (*Binding, error)
	GetBinding(ctx context.Context, instance, driver string) (*Binding, error)
	ListBindings(ctx context.Context, instance string) (List[*Binding], error)
	Unbind(ctx context.Context, instance, driver string) error
	SetBindingConfig(ctx context.Context, instance, driver string, cfg DriverConfig) (*Binding, error)
	DeleteBindingConfig(ctx context.Context, instance, driver string) error
	PutBindingConfigFile(ctx context.Context, instance, driver, name string, body io.Reader) (*Binding, error)
	OpenBindingConfigFile(ctx context.Context, instance, driver string) (*Download, error)
	DriverLogs(ctx context.Context, instance, driver string, tail int) ([]LogLine, error)

	// EdgeVersions lists the distinct edge versions the caller's gateways
	// reported, newest first.
	EdgeVersions(ctx context.Context) ([]string, error)
	// RuntimeVersions lists, per language runtime, the distinct versions
	// the caller's gateways found, newest first.
	RuntimeVersions(ctx context.Context) (map[Runtime][]string, error)
}

// DeploymentService deploys instances to their gateways.
type DeploymentService interface {
	CreateDeployment(ctx context.Context, instance string, typ DeployType) (*Deployment, error)
	GetDeployment(ctx context.Context, instance, id string) (*Deployment, error)
	ListDeployments(ctx context.Context, instance string, p Page) (List[*Deployment], error)
	CloseDeployment(ctx context.Context, instance, id string) (*Deployment, error)
}

// GatewayService is what a gateway's agent calls, as its instance (WithGateway).
type GatewayService interface {
	AuthenticateGateway(ctx context.Context, secret string) (*Instance, error)
	// Desired returns the manifest and its ETag, or a nil manifest when
	// ifNoneMatch is still current at the end of wait.
	Desired(ctx context.Context, ifNoneMatch string, wait time.Duration) (*Manifest, string, error)
	OpenGatewayBlob(ctx context.Context, sha256 string) (*Download, error)
	Report(ctx context.Context, r GatewayReport) error
	PostLogs(ctx context.Context, driver string, lines []LogLine) error
}

// MarketService lists drivers across tenants.
type MarketService interface {
	PutListing(ctx context.Context, driver string, in ListingInput) (*Listing, error)
	DeleteListing(ctx context.Context, driver string) error
	ListMarket(ctx context.Context, p Page) (List[*Listing], error)
	// SearchMarket is ListMarket narrowed to the listings of a protocol
	// and runtime whose title, summary, publisher or driver holds f.Q.
	SearchMarket(ctx context.Context, f DriverFilter, p Page) (List[*Listing], error)
	GetMarketDriver(ctx context.Context, publisher, driver string) (*MarketDriver, error)
	Acquire(ctx context.Context, publisher, driver string) (*Acquisition, error)
	ListAcquisitions(ctx context.Context, p Page) (List[*Acquisition], error)
	OpenMarketPackage(ctx context.Context, publisher, driver, version string) (*Download, error)
}

// RolloutService moves a driver to a version on many instances, in waves
// (SPEC §10). The server drives rollouts on; these are what users ask.
type RolloutService interface {
	CreateRollout(ctx context.Context, in RolloutInput) (*Rollout, error)
	// GetRollout returns a rollout with its waves, counts, selector and events.
	GetRollout(ctx context.Context, id string) (*Rollout, error)
	// ListRollouts lists rollouts, newest first, with their waves and counts.
	ListRollouts(ctx context.Context, p Page) (List[*Rollout], error)
	// ListRolloutTargets lists a rollout's targets by instance name, all or
	// those in one state.
	ListRolloutTargets(ctx context.Context, id string, state TargetState, p Page) (List[*RolloutTarget], error)
	PauseRollout(ctx context.Context, id string) (*Rollout, error)
	ResumeRollout(ctx context.Context, id string) (*Rollout, error)
	CancelRollout(ctx context.Context, id string) (*Rollout, error)
}
