-- 3: driver search text folded to lower case (by Go from now on: SQL's
-- LOWER knows only ASCII); API token expiry (console sessions expire).
--
-- Every TEXT column is COLLATE "C": text compares and sorts byte-wise, as
-- in SQLite, whatever the locale of the database.

ALTER TABLE drivers ADD COLUMN search TEXT COLLATE "C" NOT NULL DEFAULT '';
UPDATE drivers SET search = LOWER(name) || ' ' || LOWER(description);
ALTER TABLE tokens ADD COLUMN expires_at BIGINT;
