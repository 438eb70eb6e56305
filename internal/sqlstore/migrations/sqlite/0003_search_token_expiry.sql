-- 3: driver search text folded to lower case (by Go from now on: SQL's
-- LOWER knows only ASCII); API token expiry (console sessions expire).

ALTER TABLE drivers ADD COLUMN search TEXT NOT NULL DEFAULT '';
UPDATE drivers SET search = LOWER(name) || ' ' || LOWER(description);
ALTER TABLE tokens ADD COLUMN expires_at BIGINT;
