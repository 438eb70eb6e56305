package s3blob

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/driverhub/driverhub"
	"github.com/driverhub/driverhub/internal/diskfree"
)

// spoolPrefix starts the names of spool files, which may share
// os.TempDir() with other programs.
const spoolPrefix = "driverhub-s3stage-"

var errEnded = errors.New("s3blob: the staged blob was already committed or discarded")

// staged is a blob spooled to a local file until it is committed.
type staged struct {
	s    *Store
	f    *os.File // nil once the stage has ended
	h    hash.Hash
	size int64
}

// Stage creates a spool file in Config.SpoolDir for a blob being received.
func (s *Store) Stage(ctx context.Context) (driverhub.StagedBlob, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("s3blob: stage: %w", err)
	}
	if err := diskfree.Check(s.cfg.SpoolDir, s.cfg.MinFree); err != nil {
		return nil, fmt.Errorf("s3blob: stage: spool: %w", err)
	}
	f, err := os.CreateTemp(s.cfg.SpoolDir, spoolPrefix+"*")
	if err != nil {
		return nil, fmt.Errorf("s3blob: stage: %w", diskfree.Wrap(err))
	}
	return &staged{s: s, f: f, h: sha256.New()}, nil
}

// Write appends p to the spool file and hashes it.
func (b *staged) Write(p []byte) (int, error) {
	if b.f == nil {
		return 0, errEnded
	}
	n, err := b.f.Write(p)
	b.h.Write(p[:n])
	b.size += int64(n)
	return n, diskfree.Wrap(err)
}

func (b *staged) ReadAt(p []byte, off int64) (int, error) {
	if b.f == nil {
		return 0, errEnded
	}
	return b.f.ReadAt(p, off)
}

func (b *staged) Size() int64 { return b.size }

func (b *staged) SHA256() string { return hex.EncodeToString(b.h.Sum(nil)) }

// Commit checks the digest, then uploads the spool file (see upload). If
// key exists already and is marked verified, nothing is sent; otherwise
// the upload replaces it, which may be corrupt.
func (b *staged) Commit(ctx context.Context, key string) error {
	if b.f == nil {
		return errEnded
	}
	defer b.Discard()
	if err := checkKey(key); err != nil {
		return err
	}
	if got := b.SHA256(); got != key {
		return fmt.Errorf("s3blob: commit %s: content has sha256 %s: %w", key, got, driverhub.ErrBlobCheck)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("s3blob: commit %s: %w", key, err)
	}
	switch _, ok, err := b.s.intact(ctx, key); {
	case ok:
		return nil
	case err != nil && !errors.Is(err, driverhub.ErrNotFound):
		return err
	}
	if err := b.s.upload(ctx, key, io.NewSectionReader(b.f, 0, b.size), b.size); err != nil {
		return err
	}
	b.s.markInstalled(ctx, key)
	return nil
}

// Discard closes and removes the spool file unless the stage has ended.
func (b *staged) Discard() {
	if b.f == nil {
		return
	}
	b.f.Close()
	os.Remove(b.f.Name())
	b.f = nil
}

// removeStaleSpool removes the spool files in dir last modified before
// cutoff: left by a crash, as no stage lasts that long.
func removeStaleSpool(dir string, cutoff time.Time) (int, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), spoolPrefix) || !e.Type().IsRegular() {
			continue
		}
		info, err := e.Info()
		if err != nil || !info.ModTime().Before(cutoff) {
			continue
		}
		if err := os.Remove(filepath.Join(dir, e.Name())); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return n, err
		}
		n++
	}
	return n, nil
}
