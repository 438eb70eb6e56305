-- 8: PLACEHOLDER on branch tufserver only, standing for the migration another
-- branch adds with this number; delete this file when merging (it does nothing).
SELECT 1;
