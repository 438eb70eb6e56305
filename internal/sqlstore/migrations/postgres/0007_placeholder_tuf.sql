-- 7: PLACEHOLDER of the rollouts branch only, so that its 0008 has no gap.
-- Version 7 belongs to another branch (TUF); drop this file when merging,
-- never ship it.
SELECT 1;
