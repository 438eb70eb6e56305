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
		return driverhub.Invalid("signed.custom.revoked", "%v", err)
	}
	for _, name := range revoked {
		if _, _, _, err := driverhub.ParseTargetName(name); err != nil {
			return driverhub.Invalid("signed.custom.revoked", "%v", err)
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
		msg := ""
		if slices.Contains(revoked, name) {
			msg = "is revoked (driverhub unsign) and can never be signed again: publish a new version"
		} else {
			msg, err = s.targetProblem(ctx, tx, p, name, next.Signed.Targets[name])
			if err != nil {
				return err
			}
		}
		if msg != "" {
			problems = append(problems, driverhub.Problem{Resource: "target " + name, Code: driverhub.ProblemCode(driverhub.EInvalid),
				Field: "signed.targets." + name, Message: "target " + name + " " + msg})
		}
	}
	if len(problems) == 0 {
		return nil
	}
	e := &driverhub.Error{Code: driverhub.EInvalid, Field: problems[0].Field, Problems: problems, Message: problems[0].Message}
	if len(problems) > 1 {
		e.Field = "signed.targets"
		e.Message = fmt.Sprintf("%d targets cannot be signed: %s", len(problems), joinMessages(problems))
	}
	return e
}

func joinMessages(ps []driverhub.Problem) string {
	msgs := make([]string, len(ps))
	for i, p := range ps {
		msgs[i] = p.Message
	}
	return strings.Join(msgs, "; ")
}

// targetProblem says what is wrong with one target ("" when nothing is).
func (s *Service) targetProblem(ctx context.Context, tx driverhub.Tx, p *driverhub.Principal, name string, t *metadata.TargetFiles) (string, error) {
	publisher, driver, version, err := driverhub.ParseTargetName(name)
	if err != nil {
		return "is not named <publisher>/<driver>/<version>", nil
	}
	v, drv, msg, err := s.targetVersion(ctx, tx, p, publisher, driver, version)
	if msg != "" || err != nil {
		return msg, err
	}
	switch {
	case !v.Published():
		return "is a draft: only published versions can be signed", nil
	case v.Package == nil:
		return "has no package", nil
	case t.Length != v.Package.Size:
		return fmt.Sprintf("has length %d, but the server's package of that version is %d bytes", t.Length, v.Package.Size), nil
	}
	for alg := range t.Hashes {
		if alg != "sha256" {
			return fmt.Sprintf("lists a %s hash: only sha256 is checked, so only sha256 may be listed", alg), nil
		}
	}
	if got := hex.EncodeToString(t.Hashes["sha256"]); got != v.Package.SHA256 {
		return fmt.Sprintf("has sha256 %q, but the server's package of that version has %s", got, v.Package.SHA256), nil
	}
	want := fmt.Sprintf(`{"runtime":%q,"min_edge_version":%q}`, drv.Runtime, v.MinEdgeVersion)
	if c, ok := tufmeta.Custom(t); !ok || c.Runtime != string(drv.Runtime) || c.MinEdgeVersion != v.MinEdgeVersion {
		got := "no custom field"
		if t.Custom != nil {
			var b bytes.Buffer
			_ = json.Compact(&b, *t.Custom) // valid JSON: it was parsed
			got = "custom " + b.String()
		}
		return fmt.Sprintf("has %s, but the version's is %s", got, want), nil
	}
	return "", nil
}

// targetVersion finds the version a target names: of the caller's tenant,
// or of a driver it acquired from another publisher.
func (s *Service) targetVersion(ctx context.Context, tx driverhub.Tx, p *driverhub.Principal, publisher, driver, version string) (
	*driverhub.DriverVersion, *driverhub.Driver, string, error) {
	pub, err := tx.TenantByName(ctx, publisher)
	if errors.Is(err, driverhub.ErrNotFound) {
		return nil, nil, "names publisher " + publisher + ", which does not exist", nil
	} else if err != nil {
		return nil, nil, "", err
	}
	drv, err := tx.DriverByName(ctx, pub.ID, driver)
	if errors.Is(err, driverhub.ErrNotFound) {
		return nil, nil, "names driver " + driver + ", which " + publisher + " does not have", nil
	} else if err != nil {
		return nil, nil, "", err
	}
	if pub.ID != p.TenantID {
		if _, err := tx.AcquisitionOf(ctx, p.TenantID, drv.ID); errors.Is(err, driverhub.ErrNotFound) {
			return nil, nil, "is a driver of " + publisher + " that this tenant has not acquired", nil
		} else if err != nil {
			return nil, nil, "", err
		}
	}
	v, err := tx.VersionByName(ctx, drv.ID, version)
	if errors.Is(err, driverhub.ErrNotFound) {
		return nil, nil, "names version " + version + ", which " + publisher + "/" + driver + " does not have", nil
	} else if err != nil {
		return nil, nil, "", err
	}
	if pub.ID != p.TenantID && !v.Published() {
		return nil, nil, "names version " + version + ", which " + publisher + "/" + driver + " does not have", nil
	}
	return v, drv, "", nil
}
