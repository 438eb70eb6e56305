-- 9: a rollout keeps the format and arguments of its texts (the reason
-- it ended, each event's message), as its targets' problems keep theirs
-- in their JSON, so that the console shows them in its reader's language.
-- args is a JSON array of typed arguments (driverhub.MarshalMessageArgs).
-- Rows from before, and those servers of version 8 still write, have no
-- format and no arguments: they read as their English text.
--
-- Every TEXT column is COLLATE "C": text compares and sorts byte-wise, as
-- in SQLite, whatever the locale of the database.

ALTER TABLE rollouts ADD COLUMN reason_format TEXT COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE rollouts ADD COLUMN reason_args TEXT COLLATE "C" NOT NULL DEFAULT '[]';
ALTER TABLE rollout_events ADD COLUMN format TEXT COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE rollout_events ADD COLUMN args TEXT COLLATE "C" NOT NULL DEFAULT '[]';
