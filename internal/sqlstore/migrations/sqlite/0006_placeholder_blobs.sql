-- 6: PLACEHOLDER of the rollouts branch only, so that its 0008 has no gap.
-- Version 6 belongs to another branch (limitsblobs: 0006_blobs.sql); drop
-- this file when merging, never ship it.
SELECT 1;
