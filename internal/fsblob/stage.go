package fsblob

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"os"

	"github.com/driverhub/driverhub"
	"github.com/driverhub/driverhub/internal/diskfree"
)

var errEnded = errors.New("fsblob: the staged blob was already committed or discarded")

// staged is a blob being received into a temporary file in dir/.tmp, on
// the blobs' filesystem, so that Commit is a rename.
type staged struct {
	s    *Store
	f    *os.File // nil once the stage has ended
	w    writeback
	h    hash.Hash
	size int64
}

// Stage creates a temporary file in dir/.tmp for a blob being received.
func (s *Store) Stage(ctx context.Context) (driverhub.StagedBlob, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("fsblob: stage: %w", err)
	}
	if err := diskfree.Check(s.dir, s.minFree); err != nil {
		return nil, fmt.Errorf("fsblob: stage: %w", err)
	}
	f, err := os.CreateTemp(s.tmp, "stage-*")
	if err != nil {
		return nil, fmt.Errorf("fsblob: stage: %w", diskfree.Wrap(err))
	}
	return &staged{s: s, f: f, w: writeback{f: f}, h: sha256.New()}, nil
}

// Write appends p to the file, with writeback hints, and hashes it.
func (b *staged) Write(p []byte) (int, error) {
	if b.f == nil {
		return 0, errEnded
	}
	n, err := b.w.Write(p)
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

// Commit checks the digest, then gives the file the blob mode, fsyncs it
// and renames it under key (see install). If key exists already and is
// marked verified, the file is dropped; otherwise it replaces the stored
// one, which may be corrupt.
func (b *staged) Commit(ctx context.Context, key string) error {
	if b.f == nil {
		return errEnded
	}
	defer b.Discard()
	if err := checkKey(key); err != nil {
		return err
	}
	if got := b.SHA256(); got != key {
		return fmt.Errorf("fsblob: commit %s: content has sha256 %s: %w", key, got, driverhub.ErrBlobCheck)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("fsblob: commit %s: %w", key, err)
	}
	if b.s.intact(key) {
		return nil
	}
	if err := b.f.Chmod(fileMode); err != nil {
		return fmt.Errorf("fsblob: commit %s: %w", key, err)
	}
	if err := b.f.Sync(); err != nil {
		return fmt.Errorf("fsblob: commit %s: %w", key, diskfree.Wrap(err))
	}
	name := b.f.Name()
	err := b.f.Close()
	b.f = nil
	if err == nil {
		err = b.s.install(name, key)
	}
	if err != nil {
		os.Remove(name)
		return fmt.Errorf("fsblob: commit %s: %w", key, diskfree.Wrap(err))
	}
	b.s.markInstalled(key)
	return nil
}

// Discard closes and removes the file unless the stage has ended.
func (b *staged) Discard() {
	if b.f == nil {
		return
	}
	b.f.Close()
	os.Remove(b.f.Name())
	b.f = nil
}
