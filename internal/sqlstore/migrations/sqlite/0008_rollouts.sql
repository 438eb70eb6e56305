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

CREATE TABLE rollouts (
	id                TEXT PRIMARY KEY,
	tenant_id         TEXT NOT NULL REFERENCES tenants(id),
	name              TEXT NOT NULL,
	driver_id         TEXT NOT NULL,
	driver_name       TEXT NOT NULL,
	publisher_id      TEXT NOT NULL,
	publisher         TEXT NOT NULL,
	version           TEXT NOT NULL,
	selector          TEXT NOT NULL,
	waves             TEXT NOT NULL,
	success_threshold INTEGER NOT NULL,
	failure_threshold INTEGER NOT NULL,
	wave_timeout_ms   BIGINT NOT NULL,
	on_abort          TEXT NOT NULL,
	state             TEXT NOT NULL,
	wave              INTEGER NOT NULL,
	wave_started_at   BIGINT,
	rollback          TEXT NOT NULL,
	reason            TEXT NOT NULL,
	created_by        TEXT NOT NULL,
	step              BIGINT NOT NULL,
	lease_owner       TEXT NOT NULL,
	lease_until       BIGINT NOT NULL,
	created_at        BIGINT NOT NULL,
	updated_at        BIGINT NOT NULL,
	finished_at       BIGINT
);
CREATE INDEX rollouts_by_tenant ON rollouts (tenant_id, id);
CREATE INDEX rollouts_by_state ON rollouts (state, rollback);
CREATE INDEX rollouts_by_driver ON rollouts (tenant_id, driver_id, state);
CREATE TABLE rollout_targets (
	rollout_id             TEXT NOT NULL REFERENCES rollouts(id),
	instance_name          TEXT NOT NULL,
	instance_id            TEXT NOT NULL,
	wave                   INTEGER NOT NULL,
	state                  TEXT NOT NULL,
	deployment_id          TEXT NOT NULL,
	previous_version       TEXT NOT NULL,
	rollback               TEXT NOT NULL,
	rollback_deployment_id TEXT NOT NULL,
	problems               TEXT NOT NULL,
	updated_at             BIGINT NOT NULL,
	PRIMARY KEY (rollout_id, instance_name)
);
CREATE INDEX rollout_targets_by_deployment ON rollout_targets (deployment_id);
CREATE INDEX rollout_targets_by_state ON rollout_targets (rollout_id, state, instance_name);
CREATE INDEX rollout_targets_by_wave ON rollout_targets (rollout_id, wave, state);
CREATE INDEX rollout_targets_by_instance ON rollout_targets (instance_id, state);
CREATE TABLE rollout_events (
	id         TEXT PRIMARY KEY,
	rollout_id TEXT NOT NULL REFERENCES rollouts(id),
	time       BIGINT NOT NULL,
	type       TEXT NOT NULL,
	wave       INTEGER NOT NULL,
	message    TEXT NOT NULL
);
CREATE INDEX rollout_events_by_rollout ON rollout_events (rollout_id, time, id);
