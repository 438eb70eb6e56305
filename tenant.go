package driverhub

import "context"

// TenantView is the caller's own tenant as GET /api/v1/tenant shows it:
// its name, its use of storage and its settings. Settings of the tenant
// join it as they come, each a field of its own.
type TenantView struct {
	Name  string       `json:"name"`
	Quota StorageQuota `json:"quota"`
	// RequireSignedDrivers makes deployments of packages that are not
	// current signed targets fail (problem signature_missing, SPEC §11).
	RequireSignedDrivers bool `json:"require_signed_drivers"`
}

// StorageQuota is a tenant's use of storage: the bytes of the distinct
// blobs its versions, bindings and staged uploads refer to (a blob two of
// them share counts once; deployments, which keep what they ran, do not
// count), against the server's per-tenant limit, nil when there is none.
type StorageQuota struct {
	LimitBytes *int64 `json:"limit_bytes"`
	UsedBytes  int64  `json:"used_bytes"`
}

// TenantSettings changes the caller's tenant; nil fields are kept.
type TenantSettings struct {
	RequireSignedDrivers *bool `json:"require_signed_drivers"`
}

// TenantService changes the caller's own tenant (admins).
type TenantService interface {
	UpdateTenant(ctx context.Context, in TenantSettings) (*TenantView, error)
}
