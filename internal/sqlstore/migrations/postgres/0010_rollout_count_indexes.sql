-- 10: a rollout's targets are counted by wave and state each time the
-- server looks at a wave (many times a second while a wave reports) and
-- each time a rollout is read. A target's state comes from its
-- deployment's status: these two indexes let the count read indexes only,
-- rather than every target's row and every deployment's row (manifest
-- and all, a few per page: ten thousand of them do not stay cached).

CREATE INDEX rollout_targets_by_wave_deployment ON rollout_targets (rollout_id, wave, state, deployment_id);
CREATE INDEX deployments_status_by_id ON deployments (id, status);
