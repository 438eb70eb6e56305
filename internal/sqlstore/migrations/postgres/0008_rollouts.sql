-- 8: fleet rollouts (SPEC §10): a rollout, its targets (one row per
-- instance it selected, skipped ones included, keyed by instance name:
-- targets are ordered and paged by it) and its event log.
--
-- Instances, drivers and deployments are referred to by id without a
-- foreign key: a rollout is a record that outlives them (an instance may be
-- deleted once unbound). rollouts.step counts the rollout's writes: every
-- step is a conditional UPDATE on it, so replicas take each step once.
-- lease_owner and lease_until say which server deploys (or rolls back) a
-- rollout's targets, in batches, until when: one at a time, so that
-- replicas do not collide on the same targets.
-- rollout_targets.deployment_id is '' until the target is deployed; its
-- index is the one lookup a gateway's report makes to tell whether its
-- deployment belongs to a rollout.
--
-- Every TEXT column is COLLATE "C": text compares and sorts byte-wise, as
-- in SQLite, whatever the locale of the database.

CREATE TABLE rollouts (
	id                TEXT COLLATE "C" PRIMARY KEY,
	tenant_id         TEXT COLLATE "C" NOT NULL REFERENCES tenants(id),
	name              TEXT COLLATE "C" NOT NULL,
	driver_id         TEXT COLLATE "C" NOT NULL,
	driver_name       TEXT COLLATE "C" NOT NULL,
	publisher_id      TEXT COLLATE "C" NOT NULL,
	publisher         TEXT COLLATE "C" NOT NULL,
	version           TEXT COLLATE "C" NOT NULL,
	selector          TEXT COLLATE "C" NOT NULL,
	waves             TEXT COLLATE "C" NOT NULL,
	success_threshold INTEGER NOT NULL,
	failure_threshold INTEGER NOT NULL,
	wave_timeout_ms   BIGINT NOT NULL,
	on_abort          TEXT COLLATE "C" NOT NULL,
	state             TEXT COLLATE "C" NOT NULL,
	wave              INTEGER NOT NULL,
	wave_started_at   BIGINT,
	rollback          TEXT COLLATE "C" NOT NULL,
	reason            TEXT COLLATE "C" NOT NULL,
	created_by        TEXT COLLATE "C" NOT NULL,
	step              BIGINT NOT NULL,
	lease_owner       TEXT COLLATE "C" NOT NULL,
	lease_until       BIGINT NOT NULL,
	created_at        BIGINT NOT NULL,
	updated_at        BIGINT NOT NULL,
	finished_at       BIGINT
);
CREATE INDEX rollouts_by_tenant ON rollouts (tenant_id, id);
CREATE INDEX rollouts_by_state ON rollouts (state, rollback);
CREATE INDEX rollouts_by_driver ON rollouts (tenant_id, driver_id, state);
CREATE TABLE rollout_targets (
	rollout_id             TEXT COLLATE "C" NOT NULL REFERENCES rollouts(id),
	instance_name          TEXT COLLATE "C" NOT NULL,
	instance_id            TEXT COLLATE "C" NOT NULL,
	wave                   INTEGER NOT NULL,
	state                  TEXT COLLATE "C" NOT NULL,
	deployment_id          TEXT COLLATE "C" NOT NULL,
	previous_version       TEXT COLLATE "C" NOT NULL,
	rollback               TEXT COLLATE "C" NOT NULL,
	rollback_deployment_id TEXT COLLATE "C" NOT NULL,
	problems               TEXT COLLATE "C" NOT NULL,
	updated_at             BIGINT NOT NULL,
	PRIMARY KEY (rollout_id, instance_name)
);
CREATE INDEX rollout_targets_by_deployment ON rollout_targets (deployment_id);
CREATE INDEX rollout_targets_by_state ON rollout_targets (rollout_id, state, instance_name);
CREATE INDEX rollout_targets_by_wave ON rollout_targets (rollout_id, wave, state);
CREATE INDEX rollout_targets_by_instance ON rollout_targets (instance_id, state);
CREATE TABLE rollout_events (
	id         TEXT COLLATE "C" PRIMARY KEY,
	rollout_id TEXT COLLATE "C" NOT NULL REFERENCES rollouts(id),
	time       BIGINT NOT NULL,
	type       TEXT COLLATE "C" NOT NULL,
	wave       INTEGER NOT NULL,
	message    TEXT COLLATE "C" NOT NULL
);
CREATE INDEX rollout_events_by_rollout ON rollout_events (rollout_id, time, id);
