package driverhub

import (
	"context"
	"io"
	"net/url"
	"strings"
)

// BlobStore keeps package and config files, content-addressed by the
// lower-case hex SHA-256 of their bytes.
type BlobStore interface {
	// Put stores exactly size bytes from r under key. It verifies that their
	// SHA-256 is key and fails with ErrBlobCheck otherwise. A reader of key
	// sees the whole blob or nothing: never a partial one. Putting a key that
	// exists already succeeds without rewriting it.
	Put(ctx context.Context, key string, r io.Reader, size int64) error
	// Open returns the blob and its size; ErrNotFound when absent. The reader
	// may be an *os.File, so that servers can send it with sendfile.
	Open(ctx context.Context, key string) (io.ReadSeekCloser, int64, error)
	// Stat returns the blob's size; ErrNotFound when absent.
	Stat(ctx context.Context, key string) (int64, error)
	// Delete removes the blob; deleting an absent blob is no error.
	Delete(ctx context.Context, key string) error
	// Ping reports whether the store is reachable.
	Ping(ctx context.Context) error
}

// BlobFileAdopter is a BlobStore that can take over a local file whose
// digest the caller has already computed, without copying it (a rename on
// the same filesystem). The file is gone from path on success.
type BlobFileAdopter interface {
	AdoptFile(ctx context.Context, key, path string) error
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
