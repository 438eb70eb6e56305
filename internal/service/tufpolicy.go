package service

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/theupdateframework/go-tuf/v2/metadata"

	"github.com/driverhub/driverhub"
	"github.com/driverhub/driverhub/internal/tufmeta"
)

// signedTargets is what a tenant's repository signs now: the targets of
// its latest targets metadata while that is signed by the current root's
// targets keys and neither has expired, and every name revoked so far.
type signedTargets struct {
	// unsigned says why nothing is signed now ("" when targets are).
	unsigned    string
	initialized bool
	targets     map[string]*metadata.TargetFiles
	revoked     []string
	// keyIDs are the targets keys of the current root that signed.
	keyIDs []string
}

func currentTargets(ctx context.Context, tx driverhub.Tx, tenantID string, now time.Time) (*signedTargets, error) {
	st := &signedTargets{targets: map[string]*metadata.TargetFiles{}, revoked: []string{}}
	root, err := latestRoot(ctx, tx, tenantID)
	if errors.Is(err, notInitialized) {
		st.unsigned = "the tenant has no TUF repository (driverhub trust init)"
		return st, nil
	} else if err != nil {
		return nil, err
	}
	st.initialized = true
	t, err := latestTargets(ctx, tx, tenantID)
	if err != nil {
		return nil, err
	}
	if t == nil {
		st.unsigned = "the tenant's repository has no targets yet"
		return st, nil
	}
	if st.revoked, err = tufmeta.Revoked(&t.Signed); err != nil {
		return nil, err
	}
	switch {
	case root.Signed.IsExpired(now):
		st.unsigned = fmt.Sprintf("root.json version %d expired at %s: sign a new root (driverhub trust rotate)", root.Signed.Version, root.Signed.Expires.Format(time.RFC3339))
	case t.Signed.IsExpired(now):
		st.unsigned = fmt.Sprintf("targets.json version %d expired at %s: sign again (driverhub sign)", t.Signed.Version, t.Signed.Expires.Format(time.RFC3339))
	case root.VerifyDelegate(metadata.TARGETS, t) != nil:
		st.unsigned = fmt.Sprintf("targets.json version %d is not signed by the targets keys of root version %d: sign again with the new key (driverhub sign)",
			t.Signed.Version, root.Signed.Version)
	default:
		st.targets = t.Signed.Targets
		for _, sig := range t.Signatures {
			if slices.Contains(root.Signed.Roles[metadata.TARGETS].KeyIDs, sig.KeyID) {
				st.keyIDs = append(st.keyIDs, sig.KeyID)
			}
		}
	}
	return st, nil
}

// signs reports whether version v of publisher's driver is a current
// signed target.
func (st *signedTargets) signs(publisher string, drv *driverhub.Driver, v *driverhub.DriverVersion) bool {
	ok := true
	st.check(func(string, driverhub.ProblemCode, string, ...any) { ok = false }, publisher, drv, v)
	return ok
}

// check records why version v of publisher's driver is not a current
// signed target, if it is not. A version without a package has its own
// problem.
func (st *signedTargets) check(problem problemf, publisher string, drv *driverhub.Driver, v *driverhub.DriverVersion) {
	name := driverhub.TargetName(publisher, drv.Name, v.Version)
	res, code, t := label(driverhub.ResourceDriver, drv.Name), driverhub.ProblemSignatureMissing, st.targets[name]
	switch {
	case v.Package == nil:
	case slices.Contains(st.revoked, name):
		problem(res, code, "version %s of %s was revoked (driverhub unsign %s %s): deploy another version", v.Version, drv.Name, drv.Name, v.Version)
	case st.unsigned != "":
		problem(res, code, "version %s of %s is not signed: %s", v.Version, drv.Name, st.unsigned)
	case t == nil:
		problem(res, code, "version %s of %s is not signed: sign it (driverhub sign %s %s)", v.Version, drv.Name, drv.Name, v.Version)
	case t.Length != v.Package.Size || hex.EncodeToString(t.Hashes["sha256"]) != v.Package.SHA256:
		problem(res, code, "the package of version %s of %s (%d bytes, sha256 %s) is not the one signed as %s (%d bytes, sha256 %x)",
			v.Version, drv.Name, v.Package.Size, v.Package.SHA256, name, t.Length, []byte(t.Hashes["sha256"]))
	}
}

// signaturePolicy returns the tenant's signed targets when it deploys only
// signed packages, nil when it deploys anything.
func signaturePolicy(ctx context.Context, tx driverhub.Tx, tenantID string, now time.Time) (*signedTargets, error) {
	on, err := tx.RequireSignedDrivers(ctx, tenantID)
	if err != nil || !on {
		return nil, err
	}
	return currentTargets(ctx, tx, tenantID, now)
}

// checkSignature records signature_missing for version v of publisher's
// driver drv when the policy (nil: none) requires signed packages and v's
// is not a current target. Deployments check each binding with it; a
// rollout checks its version alike.
func checkSignature(problem problemf, sig *signedTargets, publisher string, drv *driverhub.Driver, v *driverhub.DriverVersion) {
	if sig == nil || drv.Builtin {
		return
	}
	sig.check(problem, publisher, drv, v)
}

// DriverSignatures tells which versions of one of the caller's drivers are
// current signed targets, by which keys, and which are revoked.
func (s *Service) DriverSignatures(ctx context.Context, driver string) (*driverhub.DriverSignatures, error) {
	p, err := authorize(ctx, driverhub.RoleViewer)
	if err != nil {
		return nil, err
	}
	out := &driverhub.DriverSignatures{Publisher: p.TenantName, Driver: driver, Versions: []driverhub.VersionSignature{}, Revoked: []string{}}
	err = s.store.View(ctx, func(tx driverhub.Tx) error {
		drv, err := tx.DriverByName(ctx, p.TenantID, driver)
		if err != nil {
			return notFound(err, "driver", driver)
		}
		st, err := currentTargets(ctx, tx, p.TenantID, s.timestamp())
		if err != nil {
			return err
		}
		out.Initialized = st.initialized
		prefix := driverhub.TargetName(p.TenantName, driver, "")
		for _, name := range st.revoked {
			if version, ok := strings.CutPrefix(name, prefix); ok {
				out.Revoked = append(out.Revoked, version)
				out.Versions = append(out.Versions, driverhub.VersionSignature{Version: version, Revoked: true})
			}
		}
		for _, name := range slices.Sorted(maps.Keys(st.targets)) {
			version, ok := strings.CutPrefix(name, prefix)
			if !ok {
				continue
			}
			v, err := tx.VersionByName(ctx, drv.ID, version)
			if errors.Is(err, driverhub.ErrNotFound) {
				continue
			} else if err != nil {
				return err
			}
			if v.Package != nil && st.signs(p.TenantName, drv, v) {
				out.Versions = append(out.Versions, driverhub.VersionSignature{Version: version, Signed: true, KeyIDs: st.keyIDs})
			}
		}
		return nil
	})
	return out, err
}
