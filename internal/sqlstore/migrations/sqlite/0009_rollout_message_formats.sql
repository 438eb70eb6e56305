-- 9: a rollout keeps the format and arguments of its texts (the reason
-- it ended, each event's message), as its targets' problems keep theirs
-- in their JSON, so that the console shows them in its reader's language.
-- args is a JSON array of typed arguments (driverhub.MarshalMessageArgs).
-- Rows from before, and those servers of version 8 still write, have no
-- format and no arguments: they read as their English text.

ALTER TABLE rollouts ADD COLUMN reason_format TEXT NOT NULL DEFAULT '';
ALTER TABLE rollouts ADD COLUMN reason_args TEXT NOT NULL DEFAULT '[]';
ALTER TABLE rollout_events ADD COLUMN format TEXT NOT NULL DEFAULT '';
ALTER TABLE rollout_events ADD COLUMN args TEXT NOT NULL DEFAULT '[]';
