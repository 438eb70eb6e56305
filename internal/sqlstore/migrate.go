package sqlstore

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// migrations are applied in order, each in its own transaction, and never
// edited once released: a schema change is a new entry. The SQL is the
// common subset of SQLite and PostgreSQL.
var migrations = []string{
	// 1: accounts, drivers and versions.
	`
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
`,
	// 2: instances, devices, bindings, driver logs, deployments, marketplace.
	//
	// instances.current_deployment_id has no foreign key: deployments refer
	// to instances, and PostgreSQL cannot create the cycle without ALTER
	// TABLE, which SQLite lacks. Sort keys join two names with a space,
	// which sorts below every character either name may hold, so that the
	// order of the key is the order of the pair.
	`
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
`,
	// 3: driver search text folded to lower case by Go (SQL's LOWER knows
	// only ASCII); API token expiry (console sessions expire).
	`
ALTER TABLE drivers ADD COLUMN search TEXT NOT NULL DEFAULT '';
UPDATE drivers SET search = LOWER(name) || ' ' || LOWER(description);
ALTER TABLE tokens ADD COLUMN expires_at BIGINT;
`,
	// ---- staged uploads (branch draftsvc; to move into its own .sql file at merge) ----
	// 4: staged uploads: files checked and stored ahead of the draft that
	// uses them. A deleted user's uploads go with the user.
	`
CREATE TABLE uploads (
	id         TEXT PRIMARY KEY,
	tenant_id  TEXT NOT NULL REFERENCES tenants(id),
	user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
	kind       TEXT NOT NULL,
	filename   TEXT NOT NULL,
	size       BIGINT NOT NULL,
	sha256     TEXT NOT NULL,
	runtime    TEXT NOT NULL,
	created_at BIGINT NOT NULL,
	expires_at BIGINT NOT NULL
);
CREATE INDEX uploads_by_expiry ON uploads (expires_at);
CREATE INDEX uploads_by_sha256 ON uploads (sha256);
`,
	// ---- end of staged uploads ----
}

// SchemaVersion is the number of migrations this build knows.
func SchemaVersion() int { return len(migrations) }

// Migrate applies every migration not applied yet, under the dialect's lock.
func (s *Store) Migrate(ctx context.Context) error {
	conn, err := s.write.Conn(ctx)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	defer conn.Close()
	if s.dialect.LockMigrations != nil {
		unlock, err := s.dialect.LockMigrations(ctx, conn)
		if err != nil {
			return fmt.Errorf("migrate: lock: %w", err)
		}
		defer unlock()
	}
	if _, err := conn.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)`); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	var current int
	if err := conn.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&current); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if current > len(migrations) {
		return fmt.Errorf("migrate: the database is at schema version %d, newer than this build's %d", current, len(migrations))
	}
	for v := current + 1; v <= len(migrations); v++ {
		tx, err := conn.BeginTx(ctx, nil)
		if err != nil {
			return fmt.Errorf("migrate %d: %w", v, err)
		}
		for _, stmt := range strings.Split(migrations[v-1], ";") {
			if strings.TrimSpace(stmt) == "" {
				continue
			}
			if s.dialect.RewriteDDL != nil {
				stmt = s.dialect.RewriteDDL(stmt)
			}
			if _, err := tx.ExecContext(ctx, stmt); err != nil {
				_ = tx.Rollback()
				return fmt.Errorf("migrate %d: %w", v, err)
			}
		}
		q := `INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`
		if s.dialect.NumberedParams {
			q = `INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)`
		}
		if _, err := tx.ExecContext(ctx, q, v, toDB(time.Now())); err != nil {
			_ = tx.Rollback()
			return fmt.Errorf("migrate %d: %w", v, err)
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("migrate %d: %w", v, err)
		}
	}
	return nil
}
