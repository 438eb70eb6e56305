package fsblob

import (
	"io"
	"io/fs"
	"os"
	"sync"

	"github.com/driverhub/driverhub/internal/blobverify"
)

// A blob is verified (hashed whole against its key) the first time it is
// read after it changed, then sent as the *os.File itself, with sendfile,
// while its file stays the same: same inode, size, modification and
// change times. The change time cannot be set back by hand, so any write
// through the filesystem, even one that restores the modification time,
// means a new check. What this cannot see is the disk changing bytes
// under the filesystem; `driverhub fsck` reads every blob for that.
//
// Marks live in memory: a restarted server checks each blob once more.

// maxMarks bounds the memory marks take (about 150 bytes each).
const maxMarks = 100_000

// marks remembers which blob files were verified, by file identity.
type marks struct {
	mu sync.Mutex
	m  map[string]fileID
}

func (m *marks) ok(key string, id fileID) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	got, ok := m.m[key]
	return ok && got == id
}

func (m *marks) set(key string, id fileID) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.m == nil {
		m.m = map[string]fileID{}
	}
	if _, ok := m.m[key]; !ok && len(m.m) >= maxMarks {
		for k := range m.m { // drop any one: it is only checked again
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

// reader returns what Open hands out for the open blob file f: f itself
// when it is marked verified, else a reader that verifies it and marks it.
func (s *Store) reader(key string, f *os.File, info fs.FileInfo) io.ReadSeekCloser {
	id := idOf(info)
	if s.marks.ok(key, id) {
		return f
	}
	return blobverify.New(f, info.Size(), key, func() { s.marks.set(key, id) })
}

// intact reports whether the blob at key is marked verified as it is now.
func (s *Store) intact(key string) bool {
	info, err := os.Lstat(s.path(key))
	return err == nil && info.Mode().IsRegular() && s.marks.ok(key, idOf(info))
}

// markInstalled marks a blob just committed from bytes hashed on the way.
func (s *Store) markInstalled(key string) {
	if info, err := os.Lstat(s.path(key)); err == nil {
		s.marks.set(key, idOf(info))
	}
}
