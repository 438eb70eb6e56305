package driverhub

import (
	"context"
	"time"
)

// Store is the database. Every state change runs in one transaction through
// Update, so a crash leaves either the old state or the new one.
type Store interface {
	// Update runs fn in a read-write transaction, committed when fn returns
	// nil and ctx has not ended meanwhile (its caller gave up: nothing is
	// committed, and the error is ctx's). A statement may run to its end
	// after ctx ends (SQLite); the transaction is then undone.
	Update(ctx context.Context, fn func(Tx) error) error
	// UpdateFirst is Update for work that others wait on (a rollout's
	// batch, whose gateways wait for its commit): the store may run it
	// ahead of updates queued before it.
	UpdateFirst(ctx context.Context, fn func(Tx) error) error
	// UpdateRows is Update for a transaction that decides its writes on
	// rows it names by key (a gateway's report on its own instance,
	// deployment and bindings), not on what a search found or did not
	// find. The store may run it at an isolation that is weaker but still
	// never loses a concurrent write to a row it writes (PostgreSQL:
	// Repeatable Read), so that a fleet's reports fail only on a true
	// conflict, not on whichever index pages their reads shared.
	UpdateRows(ctx context.Context, fn func(Tx) error) error
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
	UploadTx
	InstanceTx
	DeploymentTx
	MarketTx
	TUFTx
	BlobTx
	RolloutTx
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
	// ListTokens lists a tenant's tokens, newest first: all of them, or
	// those of one user when userID is not "".
	ListTokens(ctx context.Context, tenantID, userID string, p Page) (List[*Token], error)
	DeleteToken(ctx context.Context, id string) error
	DeleteTokensOfUser(ctx context.Context, userID string) error
}

// DriverFilter narrows a list of drivers. Empty fields match everything; Q
// matches a substring of the name or description, case-insensitively.
type DriverFilter struct {
	Protocol string
	Runtime  Runtime
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
	// BlobReferenced reports whether any version, config, deployment or
	// staged upload refers to the digest. Staged uploads count until
	// DeleteExpiredUploads removes them. Every reference BlobTx considers
	// is one this counts.
	BlobReferenced(ctx context.Context, sha256 string) (bool, error)
}

// BlobTx keeps the registry of stored blobs, one row a digest, that the
// collector of unreferenced blobs and the tenants' quotas work from; the
// references themselves are the rows BlobReferenced looks at. See
// internal/service/blobgc.go for how the collector and uploads use it.
type BlobTx interface {
	// ClaimBlob records that an upload is committing the blob (size bytes)
	// now: it creates the blob's row, or renews its claim, unless a
	// collector is deleting the blob (a deletion started before
	// staleDeletion counts as abandoned and is taken over). It reports
	// whether it claimed the blob.
	ClaimBlob(ctx context.Context, sha256 string, size int64, now, staleDeletion time.Time) (bool, error)
	// TouchBlob renews the claim of a blob a transaction is about to refer
	// to; false when no row claims it or a collector is deleting it.
	TouchBlob(ctx context.Context, sha256 string, now time.Time) (bool, error)
	// AddBlobs records the blobs, found in the blob store, that have no row
	// yet, claimed now, and returns how many it added.
	AddBlobs(ctx context.Context, blobs []BlobInfo, now time.Time) (int, error)
	// MarkUnreferencedBlobs stamps with now the rows nothing refers to that
	// have no stamp yet, and clears the stamp of those something refers to.
	MarkUnreferencedBlobs(ctx context.Context, now time.Time) error
	// CollectableBlobs lists, by digest after after, up to limit blobs
	// unreferenced since before cutoff, unclaimed since before cutoff, and
	// not being deleted (or since before staleDeletion).
	CollectableBlobs(ctx context.Context, cutoff, staleDeletion time.Time, after string, limit int) ([]string, error)
	// StartBlobDeletion marks a blob as being deleted from now if it is
	// still collectable (as CollectableBlobs says) and nothing refers to it.
	StartBlobDeletion(ctx context.Context, sha256 string, cutoff, staleDeletion, now time.Time) (bool, error)
	// FinishBlobDeletion removes the row of a blob whose deletion started at
	// started (and was not taken over since).
	FinishBlobDeletion(ctx context.Context, sha256 string, started time.Time) error
	// ReferencedBlobs lists, by digest after after, up to limit digests
	// that something refers to (whether stored or not).
	ReferencedBlobs(ctx context.Context, after string, limit int) ([]string, error)
	// TenantBlobUsage returns the bytes of the distinct blobs the tenant's
	// versions, bindings and staged uploads refer to.
	TenantBlobUsage(ctx context.Context, tenantID string) (int64, error)
	// TenantRefersToBlob reports whether the tenant's versions, bindings
	// or staged uploads refer to the blob.
	TenantRefersToBlob(ctx context.Context, tenantID, sha256 string) (bool, error)
}

// UploadTx stores staged uploads: files checked and stored ahead of the
// draft version that will use them.
type UploadTx interface {
	CreateUpload(ctx context.Context, u *StagedUpload) error
	UploadByID(ctx context.Context, id string) (*StagedUpload, error)
	DeleteUpload(ctx context.Context, id string) error
	// DeleteExpiredUploads deletes the uploads whose ExpiresAt is not after
	// now and returns how many it deleted.
	DeleteExpiredUploads(ctx context.Context, now time.Time) (int, error)
}

// DeviceFilter narrows a list of devices. InstanceID "" matches all.
type DeviceFilter struct {
	InstanceID string
}

// InstanceTx stores edge instances, their gateways, devices, bindings and
// driver logs.
type InstanceTx interface {
	CreateInstance(ctx context.Context, i *Instance) error
	InstanceByName(ctx context.Context, tenantID, name string) (*Instance, error)
	InstanceByID(ctx context.Context, id string) (*Instance, error)
	InstanceBySecretHash(ctx context.Context, hash string) (*Instance, error)
	// InstancesByIDs returns those of the instances that exist, in no
	// particular order: a rollout's batch reads its targets' at once.
	InstancesByIDs(ctx context.Context, ids []string) ([]*Instance, error)
	// CurrentDeploymentOf returns the id of the instance's current
	// deployment ("" for none): what a long-poll reads before it waits.
	CurrentDeploymentOf(ctx context.Context, instanceID string) (string, error)
	// ListInstances lists a tenant's instances by name.
	ListInstances(ctx context.Context, tenantID string, p Page) (List[*Instance], error)
	// UpdateInstance writes name, description, tags, secret hash and current deployment.
	UpdateInstance(ctx context.Context, i *Instance) error
	// UpdateGateway writes the observed gateway state (all of Gateway but Online).
	UpdateGateway(ctx context.Context, instanceID string, g Gateway) error
	// TouchGateways writes each instance's last sync time, unless the one
	// stored is as late or later; an instance that is gone is skipped.
	TouchGateways(ctx context.Context, syncs []GatewaySync) error
	DeleteInstance(ctx context.Context, id string) error

	CreateDevice(ctx context.Context, d *Device) error
	DeviceByName(ctx context.Context, tenantID, product, name string) (*Device, error)
	// ListDevices lists a tenant's devices by product, then name, with the
	// names of their instance and driver filled in.
	ListDevices(ctx context.Context, tenantID string, f DeviceFilter, p Page) (List[*Device], error)
	// DevicesOfBinding lists the devices associated with a binding.
	DevicesOfBinding(ctx context.Context, bindingID string) ([]*Device, error)
	// DevicesOfBindings lists the devices of the bindings, each binding's
	// as DevicesOfBinding does: a rollout's batch reads them at once.
	DevicesOfBindings(ctx context.Context, bindingIDs []string) ([]*Device, error)
	CountDevicesOfInstance(ctx context.Context, instanceID string) (int, error)
	// UpdateDevice writes description, instance, binding and config.
	UpdateDevice(ctx context.Context, d *Device) error
	DeleteDevice(ctx context.Context, id string) error

	CreateBinding(ctx context.Context, b *Binding) error
	BindingByName(ctx context.Context, instanceID, driver string) (*Binding, error)
	// ListBindings lists an instance's bindings by driver name, with Devices counted.
	ListBindings(ctx context.Context, instanceID string) ([]*Binding, error)
	// BindingsOfInstances lists the bindings of the instances, each
	// instance's by driver name, with Devices counted.
	BindingsOfInstances(ctx context.Context, instanceIDs []string) ([]*Binding, error)
	// UpdateBinding writes driver, publisher, version, config and runtime.
	UpdateBinding(ctx context.Context, b *Binding) error
	DeleteBinding(ctx context.Context, id string) error
	CountBindingsOfDriver(ctx context.Context, driverID string) (int, error)

	// AppendDriverLogs adds lines to a binding's log, keeping the newest keep lines.
	AppendDriverLogs(ctx context.Context, bindingID string, lines []LogLine, keep int) error
	// TailDriverLogs returns the newest n lines, oldest first.
	TailDriverLogs(ctx context.Context, bindingID string, n int) ([]LogLine, error)
	DeleteDriverLogs(ctx context.Context, bindingID string) error
}

// DeploymentTx stores deployments.
type DeploymentTx interface {
	// CreateDeployment stores a deployment with its manifest, and records
	// the blobs the manifest names as reachable by the instance's gateway.
	CreateDeployment(ctx context.Context, d *Deployment) error
	// DeploymentByID returns one of an instance's deployments, with its manifest.
	DeploymentByID(ctx context.Context, instanceID, id string) (*Deployment, error)
	// DeploymentProgress is DeploymentByID without the manifest: what a
	// report, a view or a close reads (a manifest is a gateway's only).
	DeploymentProgress(ctx context.Context, instanceID, id string) (*Deployment, error)
	// ListDeployments lists an instance's deployments, newest first, without manifests.
	ListDeployments(ctx context.Context, instanceID string, p Page) (List[*Deployment], error)
	// UnfinishedDeployments lists an instance's pending and processing
	// deployments, newest first, without their manifests (superseding them
	// needs their progress only).
	UnfinishedDeployments(ctx context.Context, instanceID string) ([]*Deployment, error)
	// UnfinishedDeploymentsOf lists the unfinished deployments of the
	// instances, each instance's as UnfinishedDeployments does.
	UnfinishedDeploymentsOf(ctx context.Context, instanceIDs []string) ([]*Deployment, error)
	// UpdateDeployment writes status, reason, times and resources.
	UpdateDeployment(ctx context.Context, d *Deployment) error
	// StartDeployment moves one of an instance's deployments from pending
	// to processing, started at, and reports whether it did (false: it
	// is not pending, or not there). One conditional statement: the first
	// fetch of each of a wave's deployments makes one.
	StartDeployment(ctx context.Context, instanceID, id string, at time.Time) (bool, error)
	// FailStaleDeployments fails every deployment processing since before
	// startedBefore, in one statement (so replicas never both fail one),
	// and returns the ids of their instances.
	FailStaleDeployments(ctx context.Context, startedBefore, now time.Time, reason string) ([]string, error)
	// InstanceCanFetchBlob reports whether a deployment of the instance names the blob.
	InstanceCanFetchBlob(ctx context.Context, instanceID, sha256 string) (bool, error)
}

// MarketTx stores listings and acquisitions.
type MarketTx interface {
	// PutListing creates or updates the listing of l.DriverID.
	PutListing(ctx context.Context, l *Listing) error
	ListingOf(ctx context.Context, driverID string) (*Listing, error)
	DeleteListing(ctx context.Context, driverID string) error
	// ListingByName finds a listing by publisher (tenant) name and driver
	// name, marking whether tenant acquirerID has acquired it.
	ListingByName(ctx context.Context, publisher, driver, acquirerID string) (*Listing, error)
	// ListListings lists every tenant's listings by publisher and driver,
	// marking those acquirerID has acquired.
	ListListings(ctx context.Context, acquirerID string, p Page) (List[*Listing], error)

	CreateAcquisition(ctx context.Context, a *Acquisition) error
	AcquisitionOf(ctx context.Context, tenantID, driverID string) (*Acquisition, error)
	ListAcquisitions(ctx context.Context, tenantID string, p Page) (List[*Acquisition], error)
}

// TUFTx stores tenants' TUF repositories (SPEC §11): metadata by tenant,
// role and version, the online keys, and the tenant's signing policy.
type TUFTx interface {
	// PutTUFMetadata stores one version of a role; ErrConflict when the
	// tenant has that version of the role already, so that of two
	// replicas re-signing the same version only one succeeds.
	PutTUFMetadata(ctx context.Context, m *TUFMetadata) error
	// TUFMetadataVersion returns one version of a tenant's role.
	TUFMetadataVersion(ctx context.Context, tenantID, role string, version int64) (*TUFMetadata, error)
	// LatestTUFMetadata returns the highest version of a tenant's role.
	LatestTUFMetadata(ctx context.Context, tenantID, role string) (*TUFMetadata, error)
	// DeleteTUFMetadataBelow deletes the versions of a role below version.
	DeleteTUFMetadataBelow(ctx context.Context, tenantID, role string, version int64) error
	// TUFRefreshDue lists, sorted, the tenants whose highest version of
	// role has a RefreshAt not after now.
	TUFRefreshDue(ctx context.Context, role string, now time.Time) ([]string, error)

	// PutTUFKey stores an online key; ErrConflict when the tenant has a
	// key for the role already.
	PutTUFKey(ctx context.Context, k *TUFKey) error
	// TUFKeys returns a tenant's online keys, by role.
	TUFKeys(ctx context.Context, tenantID string) ([]*TUFKey, error)

	// RequireSignedDrivers reports the tenant's policy (false by default).
	RequireSignedDrivers(ctx context.Context, tenantID string) (bool, error)
	SetRequireSignedDrivers(ctx context.Context, tenantID string, on bool) error
}

// RolloutTx stores rollouts, their targets and their event logs.
type RolloutTx interface {
	// CreateRollout stores a rollout (without its targets).
	CreateRollout(ctx context.Context, r *Rollout) error
	// RolloutByID returns a rollout of the tenant; tenantID "" finds one of any tenant.
	RolloutByID(ctx context.Context, tenantID, id string) (*Rollout, error)
	// ListRollouts lists a tenant's rollouts, newest first.
	ListRollouts(ctx context.Context, tenantID string, p Page) (List[*Rollout], error)
	// RolloutsToDrive lists, across tenants, the rollouts the server still
	// moves: running and paused ones, and aborted ones whose rollback is
	// under way.
	RolloutsToDrive(ctx context.Context) ([]*Rollout, error)
	// UpdateRollout writes r if it is still at step r.Step, and advances
	// r.Step; ErrConflict when another transaction wrote it first.
	UpdateRollout(ctx context.Context, r *Rollout) error
	// LeaseRollout gives owner the lease on the rollout's batch work until
	// until, unless another owner holds it past now, and reports whether
	// owner holds it; until zero releases owner's lease.
	LeaseRollout(ctx context.Context, id, owner string, until, now time.Time) (bool, error)

	// CreateRolloutTargets stores the targets of a rollout.
	CreateRolloutTargets(ctx context.Context, ts []*RolloutTarget) error
	// ListRolloutTargets lists a rollout's targets by instance name: all
	// of them, or those in one state when state is not "". Targets read
	// as RolloutTarget says: a deployed one in the state of its deployment.
	ListRolloutTargets(ctx context.Context, rolloutID string, state TargetState, p Page) (List[*RolloutTarget], error)
	// CountRolloutTargets counts a rollout's targets by wave and state: of
	// every wave (wave 0), or of one.
	CountRolloutTargets(ctx context.Context, rolloutID string, wave int) ([]TargetCount, error)
	// WaitingRolloutTargets returns up to limit waiting targets of the
	// waves up to wave, by instance name.
	WaitingRolloutTargets(ctx context.Context, rolloutID string, wave, limit int) ([]*RolloutTarget, error)
	// RolloutTargetsToRollBack returns up to limit targets whose binding the
	// rollout changed (PreviousVersion set), pending, processing, succeeded
	// or failed, whose rollback was not tried yet.
	RolloutTargetsToRollBack(ctx context.Context, rolloutID string, limit int) ([]*RolloutTarget, error)
	// UpdateRolloutTarget writes t, recording t.State, if its recorded
	// state is still from, and reports whether it did.
	UpdateRolloutTarget(ctx context.Context, t *RolloutTarget, from TargetState) (bool, error)
	// FailUnfinishedTargets records failed, with problems, for every target
	// of one wave that is waiting, pending or processing, and returns how many.
	FailUnfinishedTargets(ctx context.Context, rolloutID string, wave int, problems []Problem, at time.Time) (int, error)
	// RolloutsOfDeployments returns the rollouts whose targets the
	// deployments are, distinct: one lookup on an index, which for
	// deployments of no rollout finds nothing.
	RolloutsOfDeployments(ctx context.Context, deploymentIDs []string) ([]string, error)
	// ActiveRolloutsOn returns the running and paused rollouts that target
	// any of the instances, distinct.
	ActiveRolloutsOn(ctx context.Context, instanceIDs []string) ([]string, error)
	// ActiveRolloutInstances maps every instance targeted (not skipped) by
	// an active rollout of the driver to that rollout.
	ActiveRolloutInstances(ctx context.Context, tenantID, driverID string) (map[string]*Rollout, error)
	// RolloutCandidates lists every instance of the tenant with its tags and
	// its binding of the named driver, if any, by instance name.
	RolloutCandidates(ctx context.Context, tenantID, driver string) ([]RolloutCandidate, error)

	AddRolloutEvent(ctx context.Context, e *RolloutEvent) error
	// RolloutEvents returns a rollout's events, oldest first.
	RolloutEvents(ctx context.Context, rolloutID string) ([]RolloutEvent, error)
	// RolloutStats counts rollouts by state, and the targets of active
	// rollouts by state, across tenants.
	RolloutStats(ctx context.Context) (RolloutStats, error)
}

// TargetCount is how many targets of one wave are in one state.
type TargetCount struct {
	Wave  int
	State TargetState
	N     int
}

// RolloutCandidate is an instance a rollout may target, and its binding
// of the rollout's driver ("" BindingID when the driver is not bound).
type RolloutCandidate struct {
	InstanceID string
	Instance   string
	Tags       map[string]string
	BindingID  string
	DriverID   string
	Version    string
}

// RolloutStats are the rollouts by state and the targets of the active
// ones by state.
type RolloutStats struct {
	Rollouts map[RolloutState]int
	Targets  map[TargetState]int
}
