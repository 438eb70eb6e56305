-- 7: the blobs the blob store holds, by digest: what the collector of
-- unreferenced blobs and the tenants' quotas work from (the references
-- themselves stay where they are). claimed_at is when an upload last
-- committed the blob, or the collector first saw it; unreferenced_since,
-- when a sweep first found nothing referring to it; deleting_at, when a
-- collector started deleting it. Blobs already stored are recorded from
-- the rows that name them with their size.
CREATE TABLE blobs (
	sha256             TEXT COLLATE "C" PRIMARY KEY,
	size               BIGINT NOT NULL,
	claimed_at         BIGINT NOT NULL,
	unreferenced_since BIGINT,
	deleting_at        BIGINT
);
CREATE INDEX blobs_by_unreferenced ON blobs (unreferenced_since);
INSERT INTO blobs (sha256, size, claimed_at)
	SELECT package_sha256, MAX(package_size), 0 FROM driver_versions
	WHERE package_sha256 IS NOT NULL GROUP BY package_sha256;
INSERT INTO blobs (sha256, size, claimed_at)
	SELECT config_file_sha256, MAX((driver_config::jsonb #>> '{file,size}')::BIGINT), 0 FROM driver_versions
	WHERE config_file_sha256 IS NOT NULL AND config_file_sha256 NOT IN (SELECT sha256 FROM blobs) GROUP BY config_file_sha256;
INSERT INTO blobs (sha256, size, claimed_at)
	SELECT config_file_sha256, MAX((config::jsonb #>> '{file,size}')::BIGINT), 0 FROM bindings
	WHERE config_file_sha256 IS NOT NULL AND config_file_sha256 NOT IN (SELECT sha256 FROM blobs) GROUP BY config_file_sha256;
INSERT INTO blobs (sha256, size, claimed_at)
	SELECT sha256, MAX(size), 0 FROM uploads
	WHERE sha256 NOT IN (SELECT sha256 FROM blobs) GROUP BY sha256;
