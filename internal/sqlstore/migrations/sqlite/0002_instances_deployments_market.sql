-- 2: instances, devices, bindings, driver logs, deployments, marketplace.
--
-- instances.current_deployment_id has no foreign key: deployments refer to
-- instances, and PostgreSQL cannot create the cycle without ALTER TABLE,
-- which SQLite lacks (both dialects then ran one schema). Sort keys join two
-- names with a space, which sorts below every character either name may
-- hold, so that the order of the key is the order of the pair.

CREATE TABLE instances (
	id                    TEXT PRIMARY KEY,
	tenant_id             TEXT NOT NULL REFERENCES tenants(id),
	name                  TEXT NOT NULL,
	description           TEXT NOT NULL,
	tags                  TEXT NOT NULL,
	secret_hash           TEXT NOT NULL UNIQUE,
	last_seen_at          BIGINT,
	edge_version          TEXT NOT NULL,
	arch                  TEXT NOT NULL,
	builtin_drivers       TEXT,
	current_deployment_id TEXT,
	created_at            BIGINT NOT NULL,
	updated_at            BIGINT NOT NULL,
	UNIQUE (tenant_id, name)
);
CREATE TABLE bindings (
	id                 TEXT PRIMARY KEY,
	instance_id        TEXT NOT NULL REFERENCES instances(id),
	driver_id          TEXT NOT NULL REFERENCES drivers(id),
	driver_name        TEXT NOT NULL,
	version            TEXT NOT NULL,
	config             TEXT,
	config_file_sha256 TEXT,
	runtime            TEXT,
	created_at         BIGINT NOT NULL,
	updated_at         BIGINT NOT NULL,
	UNIQUE (instance_id, driver_name)
);
CREATE INDEX bindings_by_driver ON bindings (driver_id);
CREATE INDEX bindings_by_config_file ON bindings (config_file_sha256);
CREATE TABLE devices (
	id          TEXT PRIMARY KEY,
	tenant_id   TEXT NOT NULL REFERENCES tenants(id),
	product     TEXT NOT NULL,
	name        TEXT NOT NULL,
	sort_key    TEXT NOT NULL,
	description TEXT NOT NULL,
	instance_id TEXT REFERENCES instances(id),
	binding_id  TEXT REFERENCES bindings(id),
	config      TEXT,
	created_at  BIGINT NOT NULL,
	updated_at  BIGINT NOT NULL,
	UNIQUE (tenant_id, product, name),
	UNIQUE (tenant_id, sort_key)
);
CREATE INDEX devices_by_instance ON devices (instance_id, sort_key);
CREATE INDEX devices_by_binding ON devices (binding_id, sort_key);
CREATE TABLE driver_logs (
	id         TEXT PRIMARY KEY,
	binding_id TEXT NOT NULL REFERENCES bindings(id) ON DELETE CASCADE,
	time       BIGINT NOT NULL,
	stream     TEXT NOT NULL,
	text       TEXT NOT NULL
);
CREATE INDEX driver_logs_by_binding ON driver_logs (binding_id, id);
CREATE TABLE deployments (
	id          TEXT PRIMARY KEY,
	instance_id TEXT NOT NULL REFERENCES instances(id),
	type        TEXT NOT NULL,
	status      TEXT NOT NULL,
	reason      TEXT NOT NULL,
	created_at  BIGINT NOT NULL,
	started_at  BIGINT,
	finished_at BIGINT,
	manifest    TEXT,
	resources   TEXT NOT NULL
);
CREATE INDEX deployments_by_instance ON deployments (instance_id, id);
CREATE INDEX deployments_by_status ON deployments (status, started_at);
CREATE TABLE deployment_blobs (
	deployment_id TEXT NOT NULL REFERENCES deployments(id),
	instance_id   TEXT NOT NULL REFERENCES instances(id),
	sha256        TEXT NOT NULL,
	PRIMARY KEY (deployment_id, sha256)
);
CREATE INDEX deployment_blobs_by_instance ON deployment_blobs (instance_id, sha256);
CREATE INDEX deployment_blobs_by_sha256 ON deployment_blobs (sha256);
CREATE TABLE listings (
	driver_id TEXT PRIMARY KEY REFERENCES drivers(id) ON DELETE CASCADE,
	title     TEXT NOT NULL,
	summary   TEXT NOT NULL,
	sort_key  TEXT NOT NULL UNIQUE,
	listed_at BIGINT NOT NULL
);
CREATE TABLE acquisitions (
	tenant_id   TEXT NOT NULL REFERENCES tenants(id),
	driver_id   TEXT NOT NULL REFERENCES drivers(id) ON DELETE CASCADE,
	sort_key    TEXT NOT NULL,
	acquired_at BIGINT NOT NULL,
	PRIMARY KEY (tenant_id, driver_id),
	UNIQUE (tenant_id, sort_key)
);
CREATE INDEX acquisitions_by_driver ON acquisitions (driver_id);
