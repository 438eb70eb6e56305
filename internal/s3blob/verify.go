package s3blob

import (
	"context"
	"io"
	"sync"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/driverhub/driverhub/internal/blobverify"
)

// An object is verified (hashed whole against its key) the first time this
// server reads it after it changed, which its ETag, size and modification
// time tell; a reader of a verified object is the object itself. Reads
// always go through this server (or a presigned URL, whose client checks
// the digest it was given), so verifying costs CPU only, not a second
// transfer. Marks live in memory: a restarted server checks once more.

// maxMarks bounds the memory marks take.
const maxMarks = 100_000

// objectID tells one state of an object from another.
type objectID struct {
	etag     string
	size     int64
	modified time.Time
}

func idOf(info minio.ObjectInfo) objectID {
	return objectID{etag: info.ETag, size: info.Size, modified: info.LastModified}
}

// marks remembers which objects were verified.
type marks struct {
	mu sync.Mutex
	m  map[string]objectID
}

func (m *marks) ok(key string, id objectID) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	got, ok := m.m[key]
	return ok && got == id
}

func (m *marks) set(key string, id objectID) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.m == nil {
		m.m = map[string]objectID{}
	}
	if _, ok := m.m[key]; !ok && len(m.m) >= maxMarks {
		for k := range m.m {
			delete(m.m, k)
			break
		}
	}
	m.m[key] = id
}

func (m *marks) drop(key string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.m, key)
}

// Open returns the blob as a minio Object (reads fetch ranges lazily, and
// Seek is cheap, as Range downloads need), the very version it stat'ed,
// wrapped in a verifying reader unless it is marked verified.
func (s *Store) Open(ctx context.Context, key string) (io.ReadSeekCloser, int64, error) {
	info, err := s.stat(ctx, key)
	if err != nil {
		return nil, 0, err
	}
	opts := minio.GetObjectOptions{}
	if err := opts.SetMatchETag(info.ETag); err != nil {
		return nil, 0, s.wrap("open", key, err)
	}
	obj, err := s.c.GetObject(ctx, s.cfg.Bucket, s.object(key), opts)
	if err != nil {
		return nil, 0, s.wrap("open", key, err)
	}
	id := idOf(info)
	if s.marks.ok(key, id) {
		return obj, info.Size, nil
	}
	return blobverify.New(obj, info.Size, key, func() { s.marks.set(key, id) }), info.Size, nil
}

// intact reports whether the object under key is marked verified as it
// is now.
func (s *Store) intact(ctx context.Context, key string) (exists, ok bool, err error) {
	info, err := s.stat(ctx, key)
	if err != nil {
		return false, false, err
	}
	return true, s.marks.ok(key, idOf(info)), nil
}

// markInstalled marks an object just copied into place from bytes hashed
// on the way.
func (s *Store) markInstalled(ctx context.Context, key string) {
	if info, err := s.stat(ctx, key); err == nil {
		s.marks.set(key, idOf(info))
	}
}
