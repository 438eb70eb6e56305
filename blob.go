package driverhub

import (
	"context"
	"io"
	"net/url"
	"strings"
	"time"
)

// BlobStore keeps package and config files, content-addressed by the
// lower-case hex SHA-256 of their bytes.
type BlobStore interface {
	// Stage starts a blob whose bytes arrive before their digest is known
	// or checked: an upload is written to the stage, read back to check it,
	// then committed under its digest or discarded. The store keeps the
	// bytes where it can commit them cheaply (on a filesystem store, a
	// rename), and nothing is readable under a key until Commit.
	Stage(ctx context.Context) (StagedBlob, error)
	// Open returns the blob and its size; ErrNotFound when absent. Reading
	// never hands out bytes that differ from the key's digest undetected:
	// the reader checks as it goes, and a read that would complete a
	// corrupt blob (or a range of one) fails with ErrBlobCheck instead. A
	// blob the store verified since it last changed may come as the
	// *os.File itself, so that servers can send it with sendfile.
	Open(ctx context.Context, key string) (io.ReadSeekCloser, int64, error)
	// Stat returns the blob's size; ErrNotFound when absent.
	Stat(ctx context.Context, key string) (int64, error)
	// Delete removes the blob; deleting an absent blob is no error.
	Delete(ctx context.Context, key string) error
	// List calls fn for every committed blob, in no particular order,
	// stopping at fn's first error. Blobs committed or deleted meanwhile
	// may or may not be listed.
	List(ctx context.Context, fn func(BlobInfo) error) error
	// Ping reports whether the store is reachable and can take new blobs
	// (ErrNoSpace when its disk is full).
	Ping(ctx context.Context) error
}

// BlobInfo describes a stored blob.
type BlobInfo struct {
	Key      string
	Size     int64
	Modified time.Time
}

// StagedBlob is a blob being received. Writes append to it and are hashed
// as they go; ReadAt, Size and SHA256 see what has been written so far.
// It ends with Commit or Discard. It is not safe for concurrent writes, but
// ReadAt may be called concurrently once writing is done.
type StagedBlob interface {
	io.Writer
	io.ReaderAt
	// Size is the number of bytes written.
	Size() int64
	// SHA256 is the lower-case hex SHA-256 of the bytes written.
	SHA256() string
	// Commit stores the bytes under key, durably, after checking that key
	// is their SHA-256 (ErrBlobCheck otherwise, and nothing is stored).
	// Committing a key that exists already succeeds; unless the store knows
	// the stored blob intact, the staged bytes replace it, so that uploading
	// the same bytes again repairs a corrupt blob. Commit ends the stage,
	// whatever its outcome.
	Commit(ctx context.Context, key string) error
	// Discard drops the bytes unless they were committed. It may be called
	// any number of times, and after Commit: defer it.
	Discard()
}

// ContentDisposition is the attachment header for a download named
// filename: quoted, with an RFC 5987 UTF-8 form when the name is not plain
// ASCII (versions may be written in any script).
func ContentDisposition(filename string) string {
	unsafe := func(c rune) bool { return c < 0x20 || c > 0x7e || c == '"' || c == '\\' }
	if !strings.ContainsFunc(filename, unsafe) {
		return `attachment; filename="` + filename + `"`
	}
	fallback := strings.Map(func(c rune) rune {
		if unsafe(c) {
			return '_'
		}
		return c
	}, filename)
	return `attachment; filename="` + fallback + `"; filename*=UTF-8''` + url.PathEscape(filename)
}

// ValidSHA256 reports whether s is a SHA-256 digest in lower-case hex.
func ValidSHA256(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
