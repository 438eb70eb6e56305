-- 2: instances, devices, bindings, driver logs, deployments, marketplace.
--
-- instances.current_deployment_id has no foreign key: deployments refer to
-- instances, and PostgreSQL cannot create the cycle without ALTER TABLE,
-- which SQLite lacks (both dialects then ran one schema). Sort keys join two
-- names with a space, which sorts below every character either name may
-- hold, so that the order of the key is the order of the pair.
--
-- Every TEXT column is COLLATE "C": text compares and sorts byte-wise, as
-- in SQLite, whatever the locale of the database.

CREATE TABLE instances (
	id                    TEXT COLLATE "C" PRIMARY KEY,
	tenant_id             TEXT COLLATE "C" NOT NULL REFERENCES tenants(id),
	name                  TEXT COLLATE "C" NOT NULL,
	description           TEXT COLLATE "C" NOT NULL,
	tags                  TEXT COLLATE "C" NOT NULL,
	secret_hash           TEXT COLLATE "C" NOT NULL UNIQUE,
	last_seen_at          BIGINT,
	edge_version          TEXT COLLATE "C" NOT NULL,
	arch                  TEXT COLLATE "C" NOT NULL,
	builtin_drivers       TEXT COLLATE "C",
	current_deployment_id TEXT COLLATE "C",
	created_at            BIGINT NOT NULL,
	updated_at            BIGINT NOT NULL,
	UNIQUE (tenant_id, name)
);
CREATE TABLE bindings (
	id                 TEXT COLLATE "C" PRIMARY KEY,
	instance_id        TEXT COLLATE "C" NOT NULL REFERENCES instances(id),
	driver_id          TEXT COLLATE "C" NOT NULL REFERENCES drivers(id),
	driver_name        TEXT COLLATE "C" NOT NULL,
	version            TEXT COLLATE "C" NOT NULL,
	config             TEXT COLLATE "C",
	config_file_sha256 TEXT COLLATE "C",
	runtime            TEXT COLLATE "C",
	created_at         BIGINT NOT NULL,
	updated_at         BIGINT NOT NULL,
	UNIQUE (instance_id, driver_name)
);
CREATE INDEX bindings_by_driver ON bindings (driver_id);
CREATE INDEX bindings_by_config_file ON bindings (config_file_sha256);
CREATE TABLE devices (
	id          TEXT COLLATE "C" PRIMARY KEY,
	tenant_id   TEXT COLLATE "C" NOT NULL REFERENCES tenants(id),
	product     TEXT COLLATE "C" NOT NULL,
	name        TEXT COLLATE "C" NOT NULL,
	sort_key    TEXT COLLATE "C" NOT NULL,
	description TEXT COLLATE "C" NOT NULL,
	instance_id TEXT COLLATE "C" REFERENCES instances(id),
	binding_id  TEXT COLLATE "C" REFERENCES bindings(id),
	config      TEXT COLLATE "C",
	created_at  BIGINT NOT NULL,
	updated_at  BIGINT NOT NULL,
	UNIQUE (tenant_id, product, name),
	UNIQUE (tenant_id, sort_key)
);
CREATE INDEX devices_by_instance ON devices (instance_id, sort_key);
CREATE INDEX devices_by_binding ON devices (binding_id, sort_key);
CREATE TABLE driver_logs (
	id         TEXT COLLATE "C" PRIMARY KEY,
	binding_id TEXT COLLATE "C" NOT NULL REFERENCES bindings(id) ON DELETE CASCADE,
	time       BIGINT NOT NULL,
	stream     TEXT COLLATE "C" NOT NULL,
	text       TEXT COLLATE "C" NOT NULL
);
CREATE INDEX driver_logs_by_binding ON driver_logs (binding_id, id);
CREATE TABLE deployments (
	id          TEXT COLLATE "C" PRIMARY KEY,
	instance_id TEXT COLLATE "C" NOT NULL REFERENCES instances(id),
	type        TEXT COLLATE "C" NOT NULL,
	status      TEXT COLLATE "C" NOT NULL,
	reason      TEXT COLLATE "C" NOT NULL,
	created_at  BIGINT NOT NULL,
	started_at  BIGINT,
	finished_at BIGINT,
	manifest    TEXT COLLATE "C",
	resources   TEXT COLLATE "C" NOT NULL
);
CREATE INDEX deployments_by_instance ON deployments (instance_id, id);
CREATE INDEX deployments_by_status ON deployments (status, started_at);
CREATE TABLE deployment_blobs (
	deployment_id TEXT COLLATE "C" NOT NULL REFERENCES deployments(id),
	instance_id   TEXT COLLATE "C" NOT NULL REFERENCES instances(id),
	sha256        TEXT COLLATE "C" NOT NULL,
	PRIMARY KEY (deployment_id, sha256)
);
CREATE INDEX deployment_blobs_by_instance ON deployment_blobs (instance_id, sha256);
CREATE INDEX deployment_blobs_by_sha256 ON deployment_blobs (sha256);
CREATE TABLE listings (
	driver_id TEXT COLLATE "C" PRIMARY KEY REFERENCES drivers(id) ON DELETE CASCADE,
	title     TEXT COLLATE "C" NOT NULL,
	summary   TEXT COLLATE "C" NOT NULL,
	sort_key  TEXT COLLATE "C" NOT NULL UNIQUE,
	listed_at BIGINT NOT NULL
);
CREATE TABLE acquisitions (
	tenant_id   TEXT COLLATE "C" NOT NULL REFERENCES tenants(id),
	driver_id   TEXT COLLATE "C" NOT NULL REFERENCES drivers(id) ON DELETE CASCADE,
	sort_key    TEXT COLLATE "C" NOT NULL,
	acquired_at BIGINT NOT NULL,
	PRIMARY KEY (tenant_id, driver_id),
	UNIQUE (tenant_id, sort_key)
);
CREATE INDEX acquisitions_by_driver ON acquisitions (driver_id);
