package service

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/driverhub/driverhub"
)

// Unreferenced blobs are collected by mark and sweep, with the database as
// the truth and a grace period (SPEC §13; docs/production.md says the same
// for operators). The blobs table (BlobTx) has a row for every stored
// blob; references are the rows BlobReferenced looks at.
//
// A sweep (1) records the blobs the store lists that have no row, (2)
// stamps the rows nothing refers to with the time it first saw them so,
// and (3) deletes the blobs both unreferenced and unclaimed for the grace
// period: one at a time, it marks the row "deleting" in a transaction that
// checks all of that again (and that nothing refers to the blob), deletes
// the blob from the store, then removes the row.
//
// An upload claims its blob (ClaimBlob: a row, claimed now) BEFORE the
// store commits it, and renews the claim (TouchBlob) in the transaction
// that records the reference. That closes the race "the collector finds X
// unreferenced → an upload commits X (already stored: nothing written)
// and refers to it → the collector deletes X":
//   - a claim refuses a row marked deleting: the upload waits until the
//     deletion is over, then commits X anew (the store no longer holds it);
//   - a deletion refuses a row claimed within the grace period, so once the
//     claim is in, no collector starts on X until the upload has long
//     recorded its reference; and should an upload outlast the grace, its
//     TouchBlob fails on a row marked deleting and the upload fails rather
//     than refer to a vanishing blob.
//
// Both are single-row updates: SQLite runs one writer at a time, and
// PostgreSQL makes the second of two updates of a row wait for the first
// and re-check its condition (besides, updates run Serializable). A
// reference copied from another (a deployment from a version) is made
// within one short transaction that reads the other; the grace period
// (at least MinBlobGrace) outlasts any transaction, so the blob cannot be
// stamped unreferenced and deleted in between. Replicas sweep at will:
// only one marks a row deleting. A collector that dies mid-deletion
// leaves the row marked; after blobDeleteLease the next sweep, or an
// upload, takes it over. Replicas' clocks must agree within a minute.

const (
	// blobDeleteLease is how long a collector owns a blob it marked
	// deleting; it gives up its deletion well within it.
	blobDeleteLease   = 2 * time.Minute
	blobDeleteTimeout = 30 * time.Second
	// An upload waits at most claimAttempts × claimRetry for a collector
	// deleting the same blob.
	claimAttempts = 50
	claimRetry    = 100 * time.Millisecond
	sweepBatch    = 500
)

// BlobSweep says what one sweep of the collector did.
type BlobSweep struct {
	Listed  int // blobs the store holds
	Added   int // of which had no row
	Deleted int
}

// CollectBlobs runs one sweep of the collector: blobs unreferenced and
// unclaimed for grace are deleted.
func (s *Service) CollectBlobs(ctx context.Context, grace time.Duration) (BlobSweep, error) {
	var sw BlobSweep
	now := s.timestamp()
	// Expired staged uploads still refer to their blobs: end them first.
	err := s.store.Update(ctx, func(tx driverhub.Tx) error {
		_, err := tx.DeleteExpiredUploads(ctx, now)
		return err
	})
	if err != nil {
		return sw, err
	}
	if err := s.recordStored(ctx, now, &sw); err != nil {
		return sw, err
	}
	err = s.store.Update(ctx, func(tx driverhub.Tx) error { return tx.MarkUnreferencedBlobs(ctx, now) })
	if err != nil {
		return sw, err
	}
	cutoff := now.Add(-grace)
	for after := ""; ; {
		var batch []string
		err := s.store.View(ctx, func(tx driverhub.Tx) error {
			batch, err = tx.CollectableBlobs(ctx, cutoff, now.Add(-blobDeleteLease), after, sweepBatch)
			return err
		})
		if err != nil {
			return sw, err
		}
		for _, sha := range batch {
			ok, err := s.deleteBlob(ctx, sha, cutoff)
			if err != nil {
				return sw, err
			}
			if ok {
				sw.Deleted++
			}
		}
		if len(batch) < sweepBatch {
			return sw, nil
		}
		after = batch[len(batch)-1]
	}
}

// recordStored gives every stored blob a row, in batches.
func (s *Service) recordStored(ctx context.Context, now time.Time, sw *BlobSweep) error {
	var batch []driverhub.BlobInfo
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		err := s.store.Update(ctx, func(tx driverhub.Tx) error {
			n, err := tx.AddBlobs(ctx, batch, now)
			sw.Added += n
			return err
		})
		batch = batch[:0]
		return err
	}
	err := s.blobs.List(ctx, func(b driverhub.BlobInfo) error {
		sw.Listed++
		batch = append(batch, b)
		if len(batch) < sweepBatch {
			return nil
		}
		return flush()
	})
	if err != nil {
		return fmt.Errorf("list blobs: %w", err)
	}
	return flush()
}

// deleteBlob deletes one collectable blob, unless something changed since
// it was listed, and reports whether it did.
func (s *Service) deleteBlob(ctx context.Context, sha string, cutoff time.Time) (bool, error) {
	started := s.timestamp()
	var ok bool
	err := s.store.Update(ctx, func(tx driverhub.Tx) (err error) {
		ok, err = tx.StartBlobDeletion(ctx, sha, cutoff, started.Add(-blobDeleteLease), started)
		return err
	})
	if err != nil || !ok {
		return false, err
	}
	dctx, cancel := context.WithTimeout(ctx, blobDeleteTimeout)
	defer cancel()
	if err := s.blobs.Delete(dctx, sha); err != nil {
		// The row stays marked: a sweep after the lease takes it over.
		return false, fmt.Errorf("delete blob %s: %w", sha, err)
	}
	err = s.store.Update(ctx, func(tx driverhub.Tx) error { return tx.FinishBlobDeletion(ctx, sha, started) })
	if err != nil {
		return false, err
	}
	s.log.Info("deleted an unreferenced blob", "sha256", sha)
	return true, nil
}

// RunBlobCollector sweeps at once, then every half grace period (so at
// least once per grace period), until ctx ends.
func (s *Service) RunBlobCollector(ctx context.Context, grace time.Duration) {
	if grace < driverhub.MinBlobGrace {
		s.log.Error("blob collector not started: the grace period is too short", "grace", grace, "min", driverhub.MinBlobGrace)
		return
	}
	t := time.NewTicker(grace / 2)
	defer t.Stop()
	for {
		sw, err := s.CollectBlobs(ctx, grace)
		switch {
		case err != nil && ctx.Err() == nil:
			s.log.Error("blob collector", "err", err)
		case err == nil:
			s.log.Debug("blob collector swept", "stored", sw.Listed, "recorded", sw.Added, "deleted", sw.Deleted)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// claim records that an upload is about to commit blob u, so that no
// collector deletes it meanwhile (see the top of this file), once the
// caller's tenant's quota allows it. While a collector is deleting the
// same blob, it waits for the deletion to end.
func (s *Service) claim(ctx context.Context, u uploaded) error {
	var tenant string
	if p := driverhub.PrincipalFrom(ctx); p != nil {
		tenant = p.TenantID
	}
	for range claimAttempts {
		var claimed bool
		err := s.store.Update(ctx, func(tx driverhub.Tx) error {
			if err := s.checkQuota(ctx, tx, tenant, u); err != nil {
				return err
			}
			now := s.timestamp()
			var err error
			claimed, err = tx.ClaimBlob(ctx, u.sha256, u.size, now, now.Add(-blobDeleteLease))
			return err
		})
		if err != nil || claimed {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(claimRetry):
		}
	}
	return errors.New("a blob collector has been deleting the same blob for too long")
}

// referToUpload renews the claim on an uploaded blob inside the
// transaction that records a reference to it.
func referToUpload(ctx context.Context, tx driverhub.Tx, u uploaded, now time.Time) error {
	ok, err := tx.TouchBlob(ctx, u.sha256, now)
	if err != nil {
		return err
	}
	if !ok {
		return driverhub.Errorf(driverhub.EConflict,
			"the uploaded file was collected as unused while the upload finished (it took longer than the grace period); upload it again")
	}
	return nil
}
