-- 6: signed drivers (SPEC §11). Each tenant's TUF repository: every
-- version of each role's signed metadata, as served (old timestamps are
-- deleted as they are replaced); the server's online snapshot and
-- timestamp keys, sealed under its secret key; and whether the tenant
-- deploys only signed packages. refresh_at is when the server re-signs a
-- snapshot or timestamp (half its life).
CREATE TABLE tuf_metadata (
	tenant_id  TEXT NOT NULL REFERENCES tenants(id),
	role       TEXT NOT NULL,
	version    BIGINT NOT NULL,
	body       TEXT NOT NULL,
	expires_at BIGINT NOT NULL,
	refresh_at BIGINT NOT NULL,
	created_at BIGINT NOT NULL,
	PRIMARY KEY (tenant_id, role, version)
);
CREATE INDEX tuf_metadata_by_refresh ON tuf_metadata (role, refresh_at);
CREATE TABLE tuf_keys (
	tenant_id  TEXT NOT NULL REFERENCES tenants(id),
	role       TEXT NOT NULL,
	key_id     TEXT NOT NULL,
	public_key TEXT NOT NULL,
	sealed     TEXT NOT NULL,
	created_at BIGINT NOT NULL,
	PRIMARY KEY (tenant_id, role)
);
ALTER TABLE tenants ADD COLUMN require_signed_drivers BOOLEAN NOT NULL DEFAULT false;
