-- 5: what a gateway's agent can enforce of the container settings
-- (SPEC §12: {"runtimes", "isolation", "cgroup"}) and the language runtimes
-- it found ({"python3": "3.11.2", …}), each as JSON text; NULL before its
-- agent reported them.
ALTER TABLE instances ADD COLUMN capabilities TEXT COLLATE "C";
ALTER TABLE instances ADD COLUMN runtime_versions TEXT COLLATE "C";
