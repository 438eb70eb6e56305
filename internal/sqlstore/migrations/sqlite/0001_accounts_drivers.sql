-- 1: accounts, drivers and versions.

CREATE TABLE tenants (
	id         TEXT PRIMARY KEY,
	name       TEXT NOT NULL UNIQUE,
	created_at BIGINT NOT NULL
);
CREATE TABLE users (
	id            TEXT PRIMARY KEY,
	tenant_id     TEXT NOT NULL REFERENCES tenants(id),
	username      TEXT NOT NULL,
	role          TEXT NOT NULL,
	system_admin  BOOLEAN NOT NULL,
	password_hash TEXT NOT NULL,
	created_at    BIGINT NOT NULL,
	updated_at    BIGINT NOT NULL,
	UNIQUE (tenant_id, username)
);
CREATE TABLE tokens (
	id         TEXT PRIMARY KEY,
	tenant_id  TEXT NOT NULL REFERENCES tenants(id),
	user_id    TEXT NOT NULL REFERENCES users(id),
	name       TEXT NOT NULL,
	role       TEXT NOT NULL,
	hash       TEXT NOT NULL UNIQUE,
	created_at BIGINT NOT NULL
);
CREATE INDEX tokens_by_tenant ON tokens (tenant_id, id);
CREATE INDEX tokens_by_user ON tokens (user_id);
CREATE TABLE drivers (
	id          TEXT PRIMARY KEY,
	tenant_id   TEXT NOT NULL REFERENCES tenants(id),
	name        TEXT NOT NULL,
	protocol    TEXT NOT NULL,
	runtime     TEXT NOT NULL,
	cpu_arch    TEXT NOT NULL,
	builtin     BOOLEAN NOT NULL,
	description TEXT NOT NULL,
	created_at  BIGINT NOT NULL,
	updated_at  BIGINT NOT NULL,
	UNIQUE (tenant_id, name)
);
CREATE TABLE driver_versions (
	id                 TEXT PRIMARY KEY,
	driver_id          TEXT NOT NULL REFERENCES drivers(id),
	version            TEXT NOT NULL,
	min_edge_version   TEXT NOT NULL,
	description        TEXT NOT NULL,
	package_filename   TEXT,
	package_size       BIGINT,
	package_sha256     TEXT,
	driver_config      TEXT,
	config_file_sha256 TEXT,
	container          TEXT NOT NULL,
	driver_config_required BOOLEAN NOT NULL,
	device_config_required BOOLEAN NOT NULL,
	jvm_args           TEXT NOT NULL,
	status             TEXT NOT NULL,
	created_at         BIGINT NOT NULL,
	updated_at         BIGINT NOT NULL,
	published_at       BIGINT,
	UNIQUE (driver_id, version)
);
CREATE INDEX driver_versions_by_driver ON driver_versions (driver_id, id);
CREATE INDEX driver_versions_by_published ON driver_versions (driver_id, published_at);
CREATE INDEX driver_versions_by_package ON driver_versions (package_sha256);
CREATE INDEX driver_versions_by_config_file ON driver_versions (config_file_sha256);
