package service

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"time"

	"github.com/theupdateframework/go-tuf/v2/metadata"

	"github.com/driverhub/driverhub"
	"github.com/driverhub/driverhub/internal/tufmeta"
)

// notInitialized is the answer for a tenant without a TUF repository.
var notInitialized = driverhub.Errorf(driverhub.ENotFound,
	"this tenant has no TUF repository: run driverhub trust init to make its root and targets keys")

// TUFMetadata returns a file of the caller's TUF repository.
func (s *Service) TUFMetadata(ctx context.Context, file string) ([]byte, error) {
	p, err := authorize(ctx, driverhub.RoleViewer)
	if err != nil {
		return nil, err
	}
	return s.tufFile(ctx, p.TenantID, file)
}

// GatewayTUFMetadata returns a file of the TUF repository of the calling
// gateway's tenant.
func (s *Service) GatewayTUFMetadata(ctx context.Context, file string) ([]byte, error) {
	i, err := gatewayOf(ctx)
	if err != nil {
		return nil, err
	}
	return s.tufFile(ctx, i.TenantID, file)
}

func (s *Service) tufFile(ctx context.Context, tenantID, file string) ([]byte, error) {
	if err := s.tuf.available(); err != nil {
		return nil, err
	}
	role, version, ok := tufmeta.ParseFileName(file)
	if !ok {
		return nil, driverhub.NotFound("TUF metadata file", file)
	}
	var m *driverhub.TUFMetadata
	err := s.store.View(ctx, func(tx driverhub.Tx) error {
		if _, err := tx.LatestTUFMetadata(ctx, tenantID, driverhub.TUFRoot); errors.Is(err, driverhub.ErrNotFound) {
			return notInitialized
		} else if err != nil {
			return err
		}
		var err error
		if version == 0 {
			m, err = tx.LatestTUFMetadata(ctx, tenantID, role)
		} else {
			m, err = tx.TUFMetadataVersion(ctx, tenantID, role, version)
		}
		if errors.Is(err, driverhub.ErrNotFound) && role == driverhub.TUFTimestamp {
			return driverhub.Errorf(driverhub.ENotFound, "this tenant's repository has no targets yet: driverhub trust init uploads the first")
		}
		return notFound(err, "TUF metadata file", file)
	})
	if err != nil {
		return nil, err
	}
	return m.Body, nil
}

// latestRoot returns a tenant's current root, or notInitialized.
func latestRoot(ctx context.Context, tx driverhub.Tx, tenantID string) (*metadata.Metadata[metadata.RootType], error) {
	row, err := tx.LatestTUFMetadata(ctx, tenantID, driverhub.TUFRoot)
	if errors.Is(err, driverhub.ErrNotFound) {
		return nil, notInitialized
	} else if err != nil {
		return nil, err
	}
	root, err := metadata.Root().FromBytes(row.Body)
	if err != nil {
		return nil, fmt.Errorf("stored root version %d: %w", row.Version, err)
	}
	return root, nil
}

// latestTargets returns a tenant's current targets; nil before the first.
func latestTargets(ctx context.Context, tx driverhub.Tx, tenantID string) (*metadata.Metadata[metadata.TargetsType], error) {
	row, err := tx.LatestTUFMetadata(ctx, tenantID, driverhub.TUFTargets)
	if errors.Is(err, driverhub.ErrNotFound) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	t, err := metadata.Targets().FromBytes(row.Body)
	if err != nil {
		return nil, fmt.Errorf("stored targets version %d: %w", row.Version, err)
	}
	return t, nil
}

// signedRow signs metadata with an online key and makes the row that
// stores it; the server re-signs it when half its life has passed.
func signedRow[T metadata.Roles](m *metadata.Metadata[T], key *onlineKey, tenantID, role string, version int64,
	now, expires time.Time) (*driverhub.TUFMetadata, error) {
	if _, err := m.Sign(key.signer); err != nil {
		return nil, err
	}
	body, err := m.ToBytes(true)
	if err != nil {
		return nil, err
	}
	return &driverhub.TUFMetadata{TenantID: tenantID, Role: role, Version: version, Body: body,
		ExpiresAt: expires, RefreshAt: now.Add(expires.Sub(now) / 2), CreatedAt: now}, nil
}

// metaFile describes a stored metadata file in snapshot or timestamp.
func metaFile(row *driverhub.TUFMetadata) *metadata.MetaFiles {
	sum := sha256.Sum256(row.Body)
	return &metadata.MetaFiles{Version: row.Version, Length: int64(len(row.Body)), Hashes: metadata.Hashes{"sha256": sum[:]}}
}

// nextVersion is one more than the latest version of a tenant's role
// (and that latest row, nil before the first).
func nextVersion(ctx context.Context, tx driverhub.Tx, tenantID, role string) (int64, *driverhub.TUFMetadata, error) {
	row, err := tx.LatestTUFMetadata(ctx, tenantID, role)
	if errors.Is(err, driverhub.ErrNotFound) {
		return 1, nil, nil
	} else if err != nil {
		return 0, nil, err
	}
	return row.Version + 1, row, nil
}

// errResignRace is a re-signing another transaction did first: the
// version it would store exists.
var errResignRace = errors.New("another replica re-signed this repository first")

// resign signs a new timestamp and, when withSnapshot (or before the
// first), a new snapshot over the latest targets, and stores them. It
// returns their versions.
func (s *Service) resign(ctx context.Context, tx driverhub.Tx, tenantID string, keys onlineKeys, withSnapshot bool) (snap, ts int64, err error) {
	now := s.timestamp()
	sv, snapRow, err := nextVersion(ctx, tx, tenantID, driverhub.TUFSnapshot)
	if err != nil {
		return 0, 0, err
	}
	if withSnapshot || snapRow == nil {
		targets, err := tx.LatestTUFMetadata(ctx, tenantID, driverhub.TUFTargets)
		if err != nil {
			return 0, 0, err
		}
		expires := tufmeta.Expiry(now, driverhub.TUFSnapshotExpiry)
		m := metadata.Snapshot(expires)
		m.Signed.Version = sv
		m.Signed.Meta = map[string]*metadata.MetaFiles{"targets.json": metaFile(targets)}
		if snapRow, err = signedRow(m, keys[driverhub.TUFSnapshot], tenantID, driverhub.TUFSnapshot, sv, now, expires); err != nil {
			return 0, 0, err
		}
		if err := tx.PutTUFMetadata(ctx, snapRow); err != nil {
			return 0, 0, raced(err)
		}
	}
	tv, _, err := nextVersion(ctx, tx, tenantID, driverhub.TUFTimestamp)
	if err != nil {
		return 0, 0, err
	}
	expires := tufmeta.Expiry(now, s.tuf.timestampExpiry)
	m := metadata.Timestamp(expires)
	m.Signed.Version = tv
	m.Signed.Meta = map[string]*metadata.MetaFiles{"snapshot.json": metaFile(snapRow)}
	row, err := signedRow(m, keys[driverhub.TUFTimestamp], tenantID, driverhub.TUFTimestamp, tv, now, expires)
	if err != nil {
		return 0, 0, err
	}
	if err := tx.PutTUFMetadata(ctx, row); err != nil {
		return 0, 0, raced(err)
	}
	// Clients read only the newest timestamp.
	return snapRow.Version, tv, tx.DeleteTUFMetadataBelow(ctx, tenantID, driverhub.TUFTimestamp, tv)
}

func raced(err error) error {
	if errors.Is(err, driverhub.ErrConflict) {
		return fmt.Errorf("%w: %w", errResignRace, err)
	}
	return err
}

// RefreshTUF re-signs, in every tenant's repository, the snapshots and
// timestamps that have passed half their life. Replicas may all call it:
// each new version is stored once, by the first, and the others find it
// fresh (or lose the insert) and sign nothing. It returns how many
// repositories this call re-signed.
func (s *Service) RefreshTUF(ctx context.Context) (int, error) {
	if s.tuf.aead == nil {
		return 0, nil
	}
	var due []string
	err := s.store.View(ctx, func(tx driverhub.Tx) error {
		now := s.timestamp()
		for _, role := range []string{driverhub.TUFTimestamp, driverhub.TUFSnapshot} {
			ids, err := tx.TUFRefreshDue(ctx, role, now)
			if err != nil {
				return err
			}
			due = append(due, ids...)
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	n := 0
	var errs []error
	seen := map[string]bool{}
	for _, id := range due {
		if seen[id] {
			continue
		}
		seen[id] = true
		done, err := s.refreshTenant(ctx, id)
		if done {
			n++
		}
		errs = append(errs, err)
	}
	return n, errors.Join(errs...)
}

// refreshTenant re-signs one tenant's snapshot and timestamp if they are
// still due when its transaction reads them.
func (s *Service) refreshTenant(ctx context.Context, tenantID string) (bool, error) {
	done := false
	err := s.store.Update(ctx, func(tx driverhub.Tx) error {
		done = false
		now := s.timestamp()
		ts, err := tx.LatestTUFMetadata(ctx, tenantID, driverhub.TUFTimestamp)
		if err != nil {
			return err
		}
		snap, err := tx.LatestTUFMetadata(ctx, tenantID, driverhub.TUFSnapshot)
		if err != nil {
			return err
		}
		snapDue := !snap.RefreshAt.After(now)
		if snapDue || !ts.RefreshAt.After(now) {
			keys, err := s.onlineSigners(ctx, tx, tenantID)
			if err != nil {
				return err
			}
			root, err := latestRoot(ctx, tx, tenantID)
			if err != nil {
				return err
			}
			if err := onlineKeysNamed(root, keys); err != nil {
				return err
			}
			if _, _, err := s.resign(ctx, tx, tenantID, keys, snapDue); err != nil {
				return err
			}
			done = true
		}
		return nil
	})
	if errors.Is(err, errResignRace) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("re-sign the TUF timestamp of tenant %s: %w", tenantID, err)
	}
	return done, nil
}
