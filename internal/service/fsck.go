package service

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"

	"github.com/driverhub/driverhub"
)

// What `driverhub fsck` does: read every stored blob whole against its
// digest, look up every blob something refers to, and repair what it can
// from good copies. It only reads, but for repairs, which commit through
// the blob store like an upload (atomically), so it may run beside a
// server.

// BlobProblem is a blob found wrong.
type BlobProblem struct {
	SHA256 string
	// Missing is a blob something refers to that the store lacks;
	// otherwise the stored bytes differ from their digest.
	Missing bool
	Detail  string
	// Repaired says the blob was stored again from a good copy.
	Repaired bool
}

// BlobCheck sums up a check.
type BlobCheck struct {
	Checked    int // stored blobs read
	Referenced int // digests something refers to
	Problems   int // blobs found wrong and not repaired
}

// RepairSource returns a good copy of the blob with the given digest, or
// an error matching driverhub.ErrNotFound when it has none.
type RepairSource func(ctx context.Context, sha256 string) (io.ReadCloser, error)

// CheckBlobs checks every stored and every referenced blob, calling report
// for each one found wrong, after a repair from repair (if not nil) was
// tried.
func (s *Service) CheckBlobs(ctx context.Context, repair RepairSource, report func(BlobProblem)) (BlobCheck, error) {
	var sum BlobCheck
	found := func(p BlobProblem) error {
		if repair != nil {
			ok, err := s.repairBlob(ctx, p.SHA256, repair)
			if err != nil {
				return err
			}
			p.Repaired = ok
		}
		if !p.Repaired {
			sum.Problems++
		}
		report(p)
		return nil
	}
	err := s.blobs.List(ctx, func(b driverhub.BlobInfo) error {
		sum.Checked++
		detail, err := s.verifyStored(ctx, b.Key)
		if err != nil || detail == "" {
			return err
		}
		return found(BlobProblem{SHA256: b.Key, Detail: detail})
	})
	if err != nil {
		return sum, err
	}
	err = s.eachReferenced(ctx, func(sha string) error {
		sum.Referenced++
		switch _, err := s.blobs.Stat(ctx, sha); {
		case errors.Is(err, driverhub.ErrNotFound):
			return found(BlobProblem{SHA256: sha, Missing: true, Detail: "referred to but not stored"})
		default:
			return err
		}
	})
	return sum, err
}

// verifyStored reads a blob whole and says what is wrong with it, "" if
// nothing.
func (s *Service) verifyStored(ctx context.Context, sha string) (string, error) {
	rc, size, err := s.blobs.Open(ctx, sha)
	if errors.Is(err, driverhub.ErrNotFound) {
		return "", nil // deleted since it was listed
	}
	if err != nil {
		return "", err
	}
	defer rc.Close()
	h := sha256.New()
	n, err := io.Copy(h, rc)
	switch {
	case errors.Is(err, driverhub.ErrBlobCheck):
		return err.Error(), nil
	case err != nil:
		return "", fmt.Errorf("read blob %s: %w", sha, err)
	case n != size:
		return fmt.Sprintf("holds %d bytes, the store says %d", n, size), nil
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != sha {
		return "its bytes have SHA-256 " + got, nil
	}
	return "", nil
}

// eachReferenced calls fn for every digest something refers to.
func (s *Service) eachReferenced(ctx context.Context, fn func(string) error) error {
	for after := ""; ; {
		var batch []string
		err := s.store.View(ctx, func(tx driverhub.Tx) (err error) {
			batch, err = tx.ReferencedBlobs(ctx, after, sweepBatch)
			return err
		})
		if err != nil {
			return err
		}
		for _, sha := range batch {
			if err := fn(sha); err != nil {
				return err
			}
		}
		if len(batch) < sweepBatch {
			return nil
		}
		after = batch[len(batch)-1]
	}
}

// repairBlob stores a good copy of the blob over the bad one, reporting
// whether the source had one.
func (s *Service) repairBlob(ctx context.Context, sha string, repair RepairSource) (bool, error) {
	src, err := repair(ctx, sha)
	if errors.Is(err, driverhub.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	defer src.Close()
	b, err := s.blobs.Stage(ctx)
	if err != nil {
		return false, err
	}
	defer b.Discard()
	if _, err := io.Copy(b, src); err != nil {
		return false, fmt.Errorf("repair blob %s: %w", sha, err)
	}
	if err := b.Commit(ctx, sha); err != nil {
		if errors.Is(err, driverhub.ErrBlobCheck) {
			return false, nil // the copy was not good after all
		}
		return false, fmt.Errorf("repair blob %s: %w", sha, err)
	}
	return true, nil
}
