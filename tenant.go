package driverhub

// TenantView is the caller's own tenant as GET /api/v1/tenant shows it:
// its name and its use of storage. Settings of the tenant join it as they
// come, each a field of its own.
type TenantView struct {
	Name  string       `json:"name"`
	Quota StorageQuota `json:"quota"`
}

// StorageQuota is a tenant's use of storage: the bytes of the distinct
// blobs its versions, bindings and staged uploads refer to (a blob two of
// them share counts once; deployments, which keep what they ran, do not
// count), against the server's per-tenant limit, nil when there is none.
type StorageQuota struct {
	LimitBytes *int64 `json:"limit_bytes"`
	UsedBytes  int64  `json:"used_bytes"`
}
