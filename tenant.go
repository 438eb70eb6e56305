package driverhub

import "context"

// TenantView is the caller's own tenant as GET /api/v1/tenant shows it.
// Settings of the tenant join it as they come, each a field of its own.
type TenantView struct {
	Name string `json:"name"`
	// RequireSignedDrivers makes deployments of packages that are not
	// current signed targets fail (problem signature_missing, SPEC §11).
	RequireSignedDrivers bool `json:"require_signed_drivers"`
}

// TenantSettings changes the caller's tenant; nil fields are kept.
type TenantSettings struct {
	RequireSignedDrivers *bool `json:"require_signed_drivers"`
}

// TenantService changes the caller's own tenant (admins).
type TenantService interface {
	UpdateTenant(ctx context.Context, in TenantSettings) (*TenantView, error)
}
