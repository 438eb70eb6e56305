package server

import (
	"context"
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/driverhub/driverhub"
	"github.com/driverhub/driverhub/internal/diskfree"
	"github.com/driverhub/driverhub/internal/sqlstore"
)

// The blob store leaves MinFreeDiskBytes free for the SQLite database
// beside it; but something else may fill the disk to its last byte, and
// SQLite then fails even a delete, which is how space is won back. So the
// server keeps a reserve file in the data directory: when a database write
// finds the disk full, the reserve goes and the write runs again. It comes
// back once there is room again.
const (
	reserveName  = "driverhub.reserve"
	reserveBytes = driverhub.DiskReserveBytes
	// reserveCheck is how often a released reserve is tried again.
	reserveCheck = time.Minute
)

type reserve struct {
	path string
	log  *slog.Logger
	mu   sync.Mutex
}

// attachReserve makes the reserve of the SQLite store in dataDir.
func attachReserve(dataDir string, store *sqlstore.Store, log *slog.Logger) *reserve {
	r := &reserve{path: filepath.Join(dataDir, reserveName), log: log}
	r.fill()
	store.OnDiskFull(r.release)
	return r
}

// fill writes the reserve unless it is there or the disk lacks the room
// (the blob store's MinFree besides it).
func (r *reserve) fill() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, err := os.Stat(r.path); err == nil {
		return
	}
	if diskfree.Check(filepath.Dir(r.path), driverhub.MinFreeDiskBytes+reserveBytes) != nil {
		return
	}
	tmp := r.path + ".tmp"
	err := func() error {
		f, err := os.Create(tmp)
		if err != nil {
			return err
		}
		err = diskfree.Allocate(f, reserveBytes)
		if err = errors.Join(err, f.Close()); err != nil {
			return err
		}
		return os.Rename(tmp, r.path)
	}()
	if err != nil {
		os.Remove(tmp)
		r.log.Warn("could not write the disk reserve", "path", r.path, "err", err)
	}
}

// release deletes the reserve, reporting whether there was one.
func (r *reserve) release() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	err := os.Remove(r.path)
	if errors.Is(err, fs.ErrNotExist) {
		return false
	}
	if err != nil {
		r.log.Error("could not delete the disk reserve", "path", r.path, "err", err)
		return false
	}
	r.log.Error("the disk is full: released the database's reserve; free some space (delete drafts) or add some",
		"path", r.path, "bytes", reserveBytes)
	return true
}

// run writes the reserve again, once there is room, until ctx ends.
func (r *reserve) run(ctx context.Context) {
	t := time.NewTicker(reserveCheck)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			r.fill()
		}
	}
}
