// Package fsblob is the filesystem driverhub.BlobStore, the default store of
// `driverhub server` (under <data>/blobs).
//
// A blob lives at dir/<first 2 hex digits>/<key>. Stage writes to a
// temporary file in dir/.tmp while hashing; Commit checks the digest, fsyncs
// the file, renames it into place and fsyncs the directory, so a crash at
// any point never leaves a partial blob under a key: at worst a temporary
// file, which a later Open removes.
//
// Another process may open the same directory beside the server
// (`driverhub fsck`): commits are atomic renames, and it removes only
// temporary files untouched for a minute.
package fsblob

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/driverhub/driverhub"
	"github.com/driverhub/driverhub/internal/diskfree"
)

const (
	dirMode  = 0o755
	fileMode = 0o644
	tmpName  = ".tmp"
	// staleAge is how long a temporary file must have gone unmodified before
	// Open removes it. It spares a file still being written by another
	// process; files left by a crash go on the next Open after that.
	staleAge = time.Minute
)

// Store is a BlobStore on a local directory. It is safe for concurrent use.
type Store struct {
	dir, tmp string
	minFree  int64
	marks    marks
}

var _ driverhub.BlobStore = (*Store)(nil)

// Options tune a Store.
type Options struct {
	// MinFree is the room the store leaves on its filesystem, for the
	// database beside it: below it, Stage and Ping answer ErrNoSpace.
	// Zero is driverhub.MinFreeDiskBytes; negative, none.
	MinFree int64
}

// Open opens the store in dir with the default Options.
func Open(dir string) (*Store, error) { return OpenWith(dir, Options{}) }

// OpenWith opens the store in dir, creating dir (0755), dir/.tmp and the
// 256 prefix directories as needed, and removes stale temporary files left
// by a crash.
func OpenWith(dir string, o Options) (*Store, error) {
	if dir == "" {
		return nil, errors.New("fsblob: empty directory name")
	}
	if o.MinFree == 0 {
		o.MinFree = driverhub.MinFreeDiskBytes
	}
	s := &Store{dir: dir, tmp: filepath.Join(dir, tmpName), minFree: o.MinFree}
	if err := os.MkdirAll(s.tmp, dirMode); err != nil {
		return nil, fmt.Errorf("fsblob: %w", err)
	}
	// Creating every prefix directory up front spares Commit an fsync of dir
	// for each new one.
	for i := range 256 {
		if err := os.Mkdir(filepath.Join(dir, fmt.Sprintf("%02x", i)), dirMode); err != nil && !errors.Is(err, fs.ErrExist) {
			return nil, fmt.Errorf("fsblob: %w", err)
		}
	}
	if err := syncDir(dir); err != nil {
		return nil, fmt.Errorf("fsblob: %w", err)
	}
	if err := s.removeStale(time.Now().Add(-staleAge)); err != nil {
		return nil, fmt.Errorf("fsblob: removing stale temporary files: %w", err)
	}
	return s, nil
}

// removeStale removes the entries of the temporary directory last modified
// before cutoff.
func (s *Store) removeStale(cutoff time.Time) error {
	entries, err := os.ReadDir(s.tmp)
	if err != nil {
		return err
	}
	for _, e := range entries {
		info, err := e.Info()
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return err
		}
		if info.ModTime().Before(cutoff) {
			if err := os.RemoveAll(filepath.Join(s.tmp, e.Name())); err != nil {
				return err
			}
		}
	}
	return nil
}

// Dir returns the store's directory.
func (s *Store) Dir() string { return s.dir }

func (s *Store) path(key string) string {
	return filepath.Join(s.dir, key[:2], key)
}

func checkKey(key string) error {
	if !driverhub.ValidSHA256(key) {
		return fmt.Errorf("fsblob: %w", driverhub.Invalid("key", "must be 64 lower-case hex digits, got %q", key))
	}
	return nil
}

// exists reports whether a blob is stored under key.
func (s *Store) exists(key string) (bool, error) {
	_, err := os.Lstat(s.path(key))
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, fs.ErrNotExist):
		return false, nil
	default:
		return false, fmt.Errorf("fsblob: %w", err)
	}
}

// install renames the complete, synced file src to key's path and syncs the
// directory. Renaming over an existing blob replaces it with bytes just
// hashed: the same content, or the repair of a corrupt copy.
func (s *Store) install(src, key string) error {
	dst := s.path(key)
	err := os.Rename(src, dst)
	if errors.Is(err, fs.ErrNotExist) {
		if _, serr := os.Lstat(src); serr == nil {
			// The prefix directory went missing since Open: recreate it.
			if err := os.MkdirAll(filepath.Dir(dst), dirMode); err != nil {
				return err
			}
			if err := syncDir(s.dir); err != nil {
				return err
			}
			err = os.Rename(src, dst)
		}
	}
	if err != nil {
		// A concurrent Commit of the same key may have won, on systems where a
		// rename does not replace an open file.
		if ok, _ := s.exists(key); ok {
			os.Remove(src)
			return nil
		}
		return err
	}
	return syncDir(filepath.Dir(dst))
}

// Open returns the blob and its size: the *os.File itself when it is
// marked verified (see verify.go), so that servers can send it with
// sendfile; otherwise a reader that verifies it on the way.
func (s *Store) Open(ctx context.Context, key string) (io.ReadSeekCloser, int64, error) {
	if err := checkKey(key); err != nil {
		return nil, 0, err
	}
	if err := ctx.Err(); err != nil {
		return nil, 0, fmt.Errorf("fsblob: open %s: %w", key, err)
	}
	f, err := os.Open(s.path(key))
	if err != nil {
		return nil, 0, notFound(key, err)
	}
	info, err := f.Stat()
	if err == nil && !info.Mode().IsRegular() {
		err = fmt.Errorf("%s is not a regular file", f.Name())
	}
	if err != nil {
		f.Close()
		return nil, 0, fmt.Errorf("fsblob: open %s: %w", key, err)
	}
	return s.reader(key, f, info), info.Size(), nil
}

// Stat returns the blob's size.
func (s *Store) Stat(ctx context.Context, key string) (int64, error) {
	if err := checkKey(key); err != nil {
		return 0, err
	}
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("fsblob: stat %s: %w", key, err)
	}
	info, err := os.Stat(s.path(key))
	if err != nil {
		return 0, notFound(key, err)
	}
	if !info.Mode().IsRegular() {
		return 0, fmt.Errorf("fsblob: stat %s: not a regular file", key)
	}
	return info.Size(), nil
}

// Delete removes the blob; an absent blob is no error. The removal is not
// synced: a crash may bring the blob back, which is harmless.
func (s *Store) Delete(ctx context.Context, key string) error {
	if err := checkKey(key); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("fsblob: delete %s: %w", key, err)
	}
	s.marks.drop(key)
	if err := os.Remove(s.path(key)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("fsblob: delete %s: %w", key, err)
	}
	return nil
}

// List lists the blobs of the 256 prefix directories; anything else there
// (not named by a key of its prefix, not a regular file) is not a blob.
func (s *Store) List(ctx context.Context, fn func(driverhub.BlobInfo) error) error {
	for i := range 256 {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("fsblob: list: %w", err)
		}
		prefix := fmt.Sprintf("%02x", i)
		entries, err := os.ReadDir(filepath.Join(s.dir, prefix))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("fsblob: list: %w", err)
		}
		for _, e := range entries {
			name := e.Name()
			if !e.Type().IsRegular() || !driverhub.ValidSHA256(name) || name[:2] != prefix {
				continue
			}
			info, err := e.Info()
			if errors.Is(err, fs.ErrNotExist) {
				continue // deleted meanwhile
			}
			if err != nil {
				return fmt.Errorf("fsblob: list: %w", err)
			}
			if err := fn(driverhub.BlobInfo{Key: name, Size: info.Size(), Modified: info.ModTime()}); err != nil {
				return err
			}
		}
	}
	return nil
}

// Ping checks that the store's temporary directory is there, and that
// its filesystem has more than MinFree bytes free.
func (s *Store) Ping(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("fsblob: ping: %w", err)
	}
	info, err := os.Stat(s.tmp)
	if err != nil {
		return fmt.Errorf("fsblob: ping: %w", err)
	}
	if !info.IsDir() {
		return fmt.Errorf("fsblob: ping: %s is not a directory", s.tmp)
	}
	if err := diskfree.Check(s.dir, s.minFree); err != nil {
		return fmt.Errorf("fsblob: ping: %w", err)
	}
	return nil
}

func notFound(key string, err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("fsblob: blob %s: %w", key, driverhub.ErrNotFound)
	}
	return fmt.Errorf("fsblob: blob %s: %w", key, err)
}

// syncDir fsyncs a directory, making renames and creations in it durable.
// Windows cannot sync directories, and needs not.
func syncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}
