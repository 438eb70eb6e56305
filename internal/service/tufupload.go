package service

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/theupdateframework/go-tuf/v2/metadata"

	"github.com/driverhub/driverhub"
)

// invalidSignature refuses metadata that is not validly signed.
func invalidSignature(format string, args ...any) error {
	e := driverhub.Errorf(driverhub.EInvalidSignature, format, args...)
	e.Field = "signatures"
	return e
}

// readMetadata parses an upload as metadata of one role.
func readMetadata[T metadata.Roles](body []byte, role string) (*metadata.Metadata[T], error) {
	if len(body) > driverhub.MaxTUFMetadataBytes {
		return nil, driverhub.Errorf(driverhub.ETooLarge, "TUF metadata is larger than %d bytes", driverhub.MaxTUFMetadataBytes)
	}
	if !utf8.Valid(body) {
		return nil, driverhub.Invalid("", "TUF metadata must be UTF-8 JSON")
	}
	var m metadata.Metadata[T]
	if _, err := m.FromBytes(body); err != nil {
		return nil, driverhub.Invalid("", "not %s metadata of TUF: %v", role, err)
	}
	return &m, nil
}

// checkCommon checks what every role's metadata needs: a spec version of
// TUF 1, a version number, an expiry in the future.
func checkCommon(spec string, version int64, expires, now time.Time) error {
	if major, _, _ := strings.Cut(spec, "."); major != "1" {
		return driverhub.Invalid("signed.spec_version", "must be a 1.x version of the TUF specification, got %q", spec)
	}
	if version < 1 {
		return driverhub.Invalid("signed.version", "must be 1 or more, got %d", version)
	}
	if !expires.After(now) {
		return driverhub.Invalid("signed.expires", "is not in the future (%s): sign it again with a later expiry", expires.Format(time.RFC3339))
	}
	return nil
}

// PutTUFRoot stores a new root of the caller's repository: version 1
// signed by its own root keys, or the next version signed by the current
// root's threshold of the current root keys and by its own threshold of
// its own (TUF 5.3.4). The snapshot and timestamp roles must name the
// server's online keys, since the server signs them.
func (s *Service) PutTUFRoot(ctx context.Context, body []byte) (*driverhub.TUFUpload, error) {
	p, err := authorize(ctx, driverhub.RoleAdmin)
	if err != nil {
		return nil, err
	}
	if err := s.tuf.available(); err != nil {
		return nil, err
	}
	root, err := readMetadata[metadata.RootType](body, driverhub.TUFRoot)
	if err != nil {
		return nil, err
	}
	for attempt := 1; ; attempt++ {
		err = s.store.Update(ctx, func(tx driverhub.Tx) error { return s.storeRoot(ctx, tx, p, root, body) })
		// A timestamp re-signed by another replica meanwhile: sign again.
		if !errors.Is(err, errResignRace) || attempt == 3 {
			break
		}
	}
	if err != nil {
		return nil, err
	}
	return &driverhub.TUFUpload{Role: driverhub.TUFRoot, Version: root.Signed.Version, Expires: root.Signed.Expires.UTC()}, nil
}

// storeRoot checks and stores a new root and, once the repository has
// targets, signs snapshot and timestamp again: clients that move to the
// new root find them signed by the online keys it names.
func (s *Service) storeRoot(ctx context.Context, tx driverhub.Tx, p *driverhub.Principal, root *metadata.Metadata[metadata.RootType], body []byte) error {
	now := s.timestamp()
	keys, err := s.onlineSigners(ctx, tx, p.TenantID)
	if err != nil {
		return err
	}
	cur, err := latestRoot(ctx, tx, p.TenantID)
	if err != nil && !errors.Is(err, notInitialized) {
		return err
	}
	if err := checkRoot(cur, root, keys, now); err != nil {
		return err
	}
	row := &driverhub.TUFMetadata{TenantID: p.TenantID, Role: driverhub.TUFRoot, Version: root.Signed.Version, Body: body,
		ExpiresAt: root.Signed.Expires.UTC(), RefreshAt: root.Signed.Expires.UTC(), CreatedAt: now}
	if err := tx.PutTUFMetadata(ctx, row); err != nil {
		return conflict(err, "signed.version", "root version %d was stored meanwhile", row.Version)
	}
	if t, err := latestTargets(ctx, tx, p.TenantID); err != nil || t == nil {
		return err
	}
	_, _, err = s.resign(ctx, tx, p.TenantID, keys, true)
	return err
}

// checkRoot checks a new root against the current one (nil for the first).
func checkRoot(cur, next *metadata.Metadata[metadata.RootType], online onlineKeys, now time.Time) error {
	n := &next.Signed
	if err := checkCommon(n.SpecVersion, n.Version, n.Expires, now); err != nil {
		return err
	}
	want := int64(1)
	if cur != nil {
		want = cur.Signed.Version + 1
	}
	if n.Version != want {
		return driverhub.Invalid("signed.version", "must be %d, the version after the current root's; got %d", want, n.Version)
	}
	if !n.ConsistentSnapshot {
		return driverhub.Invalid("signed.consistent_snapshot", "must be true: the repository serves N.snapshot.json and N.targets.json")
	}
	if err := checkRoles(n, online); err != nil {
		return err
	}
	if cur != nil {
		if err := cur.VerifyDelegate(metadata.ROOT, next); err != nil {
			return invalidSignature("the new root is not signed by %d of the current root's keys (version %d): %v",
				cur.Signed.Roles[metadata.ROOT].Threshold, cur.Signed.Version, err)
		}
	}
	if err := next.VerifyDelegate(metadata.ROOT, next); err != nil {
		return invalidSignature("the root is not signed by %d of the root keys it lists: %v", n.Roles[metadata.ROOT].Threshold, err)
	}
	return nil
}

// checkRoles checks that a root has the four roles, each with valid keys
// and a threshold it can reach, and the server's online keys.
func checkRoles(n *metadata.RootType, online onlineKeys) error {
	for name := range n.Roles {
		if !slices.Contains(metadata.TOP_LEVEL_ROLE_NAMES[:], name) {
			return driverhub.Invalid("signed.roles."+name, "is not a top-level role of TUF")
		}
	}
	for _, name := range metadata.TOP_LEVEL_ROLE_NAMES {
		field := "signed.roles." + name
		r := n.Roles[name]
		switch {
		case r == nil:
			return driverhub.Invalid(field, "is missing")
		case r.Threshold < 1:
			return driverhub.Invalid(field+".threshold", "must be 1 or more, got %d", r.Threshold)
		case len(r.KeyIDs) < r.Threshold:
			return driverhub.Invalid(field+".keyids", "lists %d keys, fewer than the threshold %d", len(r.KeyIDs), r.Threshold)
		}
		for _, id := range r.KeyIDs {
			k := n.Keys[id]
			if k == nil {
				return driverhub.Invalid(field+".keyids", "names key %s, which signed.keys does not hold", id)
			}
			if got, err := k.ID(); err != nil || got != id {
				return driverhub.Invalid("signed.keys."+id, "is not the id of its key (the key's id is %s)", got)
			}
			if _, err := k.ToPublicKey(); err != nil {
				return driverhub.Invalid("signed.keys."+id, "is not a valid %s public key: %v", k.Type, err)
			}
		}
		if k := online[name]; k != nil && (r.Threshold != 1 || !slices.Equal(r.KeyIDs, []string{k.id})) {
			return driverhub.Invalid(field, "must list exactly the server's %s key %s with threshold 1 (GET /api/v1/tuf/online-keys): the server signs this role", name, k.id)
		}
	}
	return nil
}

// onlineKeysNamed refuses to sign with online keys the root does not name
// (the server made new ones): clients would refuse what they sign.
func onlineKeysNamed(root *metadata.Metadata[metadata.RootType], keys onlineKeys) error {
	for _, role := range []string{metadata.SNAPSHOT, metadata.TIMESTAMP} {
		if r := root.Signed.Roles[role]; r == nil || !slices.Equal(r.KeyIDs, []string{keys[role].id}) {
			return driverhub.Errorf(driverhub.EFailedPrecondition,
				"root version %d does not name the server's %s key %s: sign a new root that does (driverhub trust rotate)",
				root.Signed.Version, role, keys[role].id)
		}
	}
	return nil
}

// PutTUFTargets stores new targets of the caller's repository, signed by
// the current root's threshold of targets keys, and re-signs snapshot and
// timestamp over them before it answers.
func (s *Service) PutTUFTargets(ctx context.Context, body []byte) (*driverhub.TUFUpload, error) {
	p, err := authorize(ctx, driverhub.RoleDeveloper)
	if err != nil {
		return nil, err
	}
	if err := s.tuf.available(); err != nil {
		return nil, err
	}
	t, err := readMetadata[metadata.TargetsType](body, driverhub.TUFTargets)
	if err != nil {
		return nil, err
	}
	out := &driverhub.TUFUpload{Role: driverhub.TUFTargets, Version: t.Signed.Version, Expires: t.Signed.Expires.UTC()}
	for attempt := 1; ; attempt++ {
		err = s.store.Update(ctx, func(tx driverhub.Tx) error {
			return s.storeTargets(ctx, tx, p, t, body, out)
		})
		// A timestamp re-signed by another replica meanwhile: sign again.
		if !errors.Is(err, errResignRace) || attempt == 3 {
			break
		}
	}
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (s *Service) storeTargets(ctx context.Context, tx driverhub.Tx, p *driverhub.Principal,
	t *metadata.Metadata[metadata.TargetsType], body []byte, out *driverhub.TUFUpload) error {
	now := s.timestamp()
	root, err := latestRoot(ctx, tx, p.TenantID)
	if err != nil {
		return err
	}
	cur, err := latestTargets(ctx, tx, p.TenantID)
	if err != nil {
		return err
	}
	if err := checkTargetsMetadata(root, cur, t, now); err != nil {
		return err
	}
	if err := s.checkTargetRecords(ctx, tx, p, cur, t); err != nil {
		return err
	}
	keys, err := s.onlineSigners(ctx, tx, p.TenantID)
	if err != nil {
		return err
	}
	if err := onlineKeysNamed(root, keys); err != nil {
		return err
	}
	row := &driverhub.TUFMetadata{TenantID: p.TenantID, Role: driverhub.TUFTargets, Version: t.Signed.Version, Body: body,
		ExpiresAt: t.Signed.Expires.UTC(), RefreshAt: t.Signed.Expires.UTC(), CreatedAt: now}
	if err := tx.PutTUFMetadata(ctx, row); err != nil {
		return conflict(err, "signed.version", "targets version %d was stored meanwhile", row.Version)
	}
	out.SnapshotVersion, out.TimestampVersion, err = s.resign(ctx, tx, p.TenantID, keys, true)
	return err
}

// checkTargetsMetadata checks new targets against the root and the
// current targets (nil before the first): signatures (TUF 5.3.x: the
// root's threshold of targets keys), a higher version, no delegations.
func checkTargetsMetadata(root *metadata.Metadata[metadata.RootType], cur, next *metadata.Metadata[metadata.TargetsType], now time.Time) error {
	n := &next.Signed
	if err := checkCommon(n.SpecVersion, n.Version, n.Expires, now); err != nil {
		return err
	}
	if cur != nil && n.Version <= cur.Signed.Version {
		return driverhub.Invalid("signed.version", "must be above the current targets version %d, got %d", cur.Signed.Version, n.Version)
	}
	if n.Delegations != nil {
		return driverhub.Invalid("signed.delegations", "are not supported: sign every target with the targets keys of the root")
	}
	if err := root.VerifyDelegate(metadata.TARGETS, next); err != nil {
		return invalidSignature("the targets are not signed by %d of the targets keys of root version %d: %v",
			root.Signed.Roles[metadata.TARGETS].Threshold, root.Signed.Version, err)
	}
	return nil
}
