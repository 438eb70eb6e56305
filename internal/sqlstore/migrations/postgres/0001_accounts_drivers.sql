-- 1: accounts, drivers and versions.
--
-- Every TEXT column is COLLATE "C": text compares and sorts byte-wise, as
-- in SQLite, whatever the locale of the database.

CREATE TABLE tenants (
	id         TEXT COLLATE "C" PRIMARY KEY,
	name       TEXT COLLATE "C" NOT NULL UNIQUE,
	created_at BIGINT NOT NULL
);
CREATE TABLE users (
	id            TEXT COLLATE "C" PRIMARY KEY,
	tenant_id     TEXT COLLATE "C" NOT NULL REFERENCES tenants(id),
	username      TEXT COLLATE "C" NOT NULL,
	role          TEXT COLLATE "C" NOT NULL,
	system_admin  BOOLEAN NOT NULL,
	password_hash TEXT COLLATE "C" NOT NULL,
	created_at    BIGINT NOT NULL,
	updated_at    BIGINT NOT NULL,
	UNIQUE (tenant_id, username)
);
CREATE TABLE tokens (
	id         TEXT COLLATE "C" PRIMARY KEY,
	tenant_id  TEXT COLLATE "C" NOT NULL REFERENCES tenants(id),
	user_id    TEXT COLLATE "C" NOT NULL REFERENCES users(id),
	name       TEXT COLLATE "C" NOT NULL,
	role       TEXT COLLATE "C" NOT NULL,
	hash       TEXT COLLATE "C" NOT NULL UNIQUE,
	created_at BIGINT NOT NULL
);
CREATE INDEX tokens_by_tenant ON tokens (tenant_id, id);
CREATE INDEX tokens_by_user ON tokens (user_id);
CREATE TABLE drivers (
	id          TEXT COLLATE "C" PRIMARY KEY,
	tenant_id   TEXT COLLATE "C" NOT NULL REFERENCES tenants(id),
	name        TEXT COLLATE "C" NOT NULL,
	protocol    TEXT COLLATE "C" NOT NULL,
	runtime     TEXT COLLATE "C" NOT NULL,
	cpu_arch    TEXT COLLATE "C" NOT NULL,
	builtin     BOOLEAN NOT NULL,
	description TEXT COLLATE "C" NOT NULL,
	created_at  BIGINT NOT NULL,
	updated_at  BIGINT NOT NULL,
	UNIQUE (tenant_id, name)
);
CREATE TABLE driver_versions (
	id                 TEXT COLLATE "C" PRIMARY KEY,
	driver_id          TEXT COLLATE "C" NOT NULL REFERENCES drivers(id),
	version            TEXT COLLATE "C" NOT NULL,
	min_edge_version   TEXT COLLATE "C" NOT NULL,
	description        TEXT COLLATE "C" NOT NULL,
	package_filename   TEXT COLLATE "C",
	package_size       BIGINT,
	package_sha256     TEXT COLLATE "C",
	driver_config      TEXT COLLATE "C",
	config_file_sha256 TEXT COLLATE "C",
	container          TEXT COLLATE "C" NOT NULL,
	driver_config_required BOOLEAN NOT NULL,
	device_config_required BOOLEAN NOT NULL,
	jvm_args           TEXT COLLATE "C" NOT NULL,
	status             TEXT COLLATE "C" NOT NULL,
	created_at         BIGINT NOT NULL,
	updated_at         BIGINT NOT NULL,
	published_at       BIGINT,
	UNIQUE (driver_id, version)
);
CREATE INDEX driver_versions_by_driver ON driver_versions (driver_id, id);
CREATE INDEX driver_versions_by_published ON driver_versions (driver_id, published_at);
CREATE INDEX driver_versions_by_package ON driver_versions (package_sha256);
CREATE INDEX driver_versions_by_config_file ON driver_versions (config_file_sha256);
