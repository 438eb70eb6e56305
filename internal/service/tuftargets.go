package service

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/theupdateframework/go-tuf/v2/metadata"

	"github.com/driverhub/driverhub"
	"github.com/driverhub/driverhub/internal/tufmeta"
)

// checkTargetRecords checks every target of new targets against the
// server's records: a published version with a package of the same
// length and SHA-256, of the caller's tenant or of a driver it acquired;
// and the revoked list, which only grows and holds no target. Every
// target at fault is reported at once, by name.
func (s *Service) checkTargetRecords(ctx context.Context, tx driverhub.Tx, p *driverhub.Principal,
	cur, next *metadata.Metadata[metadata.TargetsType]) error {
	revoked, err := tufmeta.Revoked(&next.Signed)
	if err != nil {
		return driverhub.Invalid("signed.custom.revoked", "must be a list of target names: %v", err)
	}
	for _, name := range revoked {
		if _, _, _, err := driverhub.ParseTargetName(name); err != nil {
			return driverhub.Invalid("signed.custom.revoked", "must be a list of target names: %v", err)
		}
	}
	if cur != nil {
		before, err := tufmeta.Revoked(&cur.Signed)
		if err != nil {
			return err
		}
		for _, name := range before {
			if !slices.Contains(revoked, name) {
				return driverhub.Invalid("signed.custom.revoked", "drops %s, revoked in targets version %d: a revoked version stays revoked",
					name, cur.Signed.Version)
			}
		}
	}
	var problems []driverhub.Problem
	for _, name := range slices.Sorted(maps.Keys(next.Signed.Targets)) {
		field := "signed.targets." + name
		bad := driverhub.Invalid(field, "is revoked (driverhub unsign) and can never be signed again: publish a new version")
		if !slices.Contains(revoked, name) {
			if bad, err = s.targetProblem(ctx, tx, p, field, name, next.Signed.Targets[name]); err != nil {
				return err
			}
		}
		if bad != nil {
			problems = append(problems, bad.Problem("target "+name))
		}
	}
	switch len(problems) {
	case 0:
		return nil
	case 1:
		e := driverhub.Invalid(problems[0].Field, "target %s cannot be signed: %s", strings.TrimPrefix(problems[0].Resource, "target "), problems[0].Message)
		e.Problems = problems
		return e
	}
	e := driverhub.Invalid("signed.targets", "%d targets cannot be signed", len(problems))
	e.Problems = problems
	return e
}

// targetProblem says what is wrong with one target (nil when nothing is),
// as a refusal of its field.
func (s *Service) targetProblem(ctx context.Context, tx driverhub.Tx, p *driverhub.Principal, field, name string, t *metadata.TargetFiles) (*driverhub.Error, error) {
	publisher, driver, version, err := driverhub.ParseTargetName(name)
	if err != nil {
		return driverhub.Invalid(field, "is not named <publisher>/<driver>/<version>"), nil
	}
	v, drv, bad, err := s.targetVersion(ctx, tx, p, field, publisher, driver, version)
	if bad != nil || err != nil {
		return bad, err
	}
	switch {
	case !v.Published():
		return driverhub.Invalid(field, "is a draft: only published versions can be signed"), nil
	case v.Package == nil:
		return driverhub.Invalid(field, "has no package"), nil
	case t.Length != v.Package.Size:
		return driverhub.Invalid(field, "has length %d, but the server's package of that version is %d bytes", t.Length, v.Package.Size), nil
	}
	for alg := range t.Hashes {
		if alg != "sha256" {
			return driverhub.Invalid(field, "lists a %s hash: only sha256 is checked, so only sha256 may be listed", alg), nil
		}
	}
	if got := hex.EncodeToString(t.Hashes["sha256"]); got != v.Package.SHA256 {
		return driverhub.Invalid(field, "has sha256 %q, but the server's package of that version has %s", got, v.Package.SHA256), nil
	}
	want := fmt.Sprintf(`{"runtime":%q,"min_edge_version":%q}`, drv.Runtime, v.MinEdgeVersion)
	if c, ok := tufmeta.Custom(t); !ok || c.Runtime != string(drv.Runtime) || c.MinEdgeVersion != v.MinEdgeVersion {
		got := "no custom field"
		if t.Custom != nil {
			var b bytes.Buffer
			_ = json.Compact(&b, *t.Custom) // valid JSON: it was parsed
			got = "custom " + b.String()
		}
		return driverhub.Invalid(field, "has %s, but the version's is %s", got, want), nil
	}
	return nil, nil
}

// targetVersion finds the version a target names: of the caller's tenant,
// or of a driver it acquired from another publisher.
func (s *Service) targetVersion(ctx context.Context, tx driverhub.Tx, p *driverhub.Principal, field, publisher, driver, version string) (
	*driverhub.DriverVersion, *driverhub.Driver, *driverhub.Error, error) {
	pub, err := tx.TenantByName(ctx, publisher)
	if errors.Is(err, driverhub.ErrNotFound) {
		return nil, nil, driverhub.Invalid(field, "names publisher %s, which does not exist", publisher), nil
	} else if err != nil {
		return nil, nil, nil, err
	}
	drv, err := tx.DriverByName(ctx, pub.ID, driver)
	if errors.Is(err, driverhub.ErrNotFound) {
		return nil, nil, driverhub.Invalid(field, "names driver %s, which %s does not have", driver, publisher), nil
	} else if err != nil {
		return nil, nil, nil, err
	}
	if pub.ID != p.TenantID {
		if _, err := tx.AcquisitionOf(ctx, p.TenantID, drv.ID); errors.Is(err, driverhub.ErrNotFound) {
			return nil, nil, driverhub.Invalid(field, "is a driver of %s that this tenant has not acquired", publisher), nil
		} else if err != nil {
			return nil, nil, nil, err
		}
	}
	v, err := tx.VersionByName(ctx, drv.ID, version)
	if errors.Is(err, driverhub.ErrNotFound) {
		return nil, nil, driverhub.Invalid(field, "names version %s, which %s/%s does not have", version, publisher, driver), nil
	} else if err != nil {
		return nil, nil, nil, err
	}
	if pub.ID != p.TenantID && !v.Published() {
		return nil, nil, driverhub.Invalid(field, "names version %s, which %s/%s does not have", version, publisher, driver), nil
	}
	return v, drv, nil, nil
}
