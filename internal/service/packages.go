package service

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/driverhub/driverhub"
	"github.com/driverhub/driverhub/internal/text"
	"github.com/driverhub/driverhub/internal/zippkg"
)

// uploaded is a committed upload: what a version or binding records.
type uploaded struct {
	size   int64
	sha256 string
}

// stage streams body into a new staged blob, which hashes it on the way,
// refusing more than max bytes with too_large naming field. On success
// the caller checks the staged bytes (an io.ReaderAt of b.Size() bytes),
// commits them, and discards b in any case (defer b.Discard()).
func (s *Service) stage(ctx context.Context, body io.Reader, field string, max int64) (driverhub.StagedBlob, error) {
	return s.stageTee(ctx, body, field, max, nil)
}

// stageTee is stage that also writes the bytes to tee (when not nil) as
// they arrive.
func (s *Service) stageTee(ctx context.Context, body io.Reader, field string, max int64, tee io.Writer) (driverhub.StagedBlob, error) {
	b, err := s.blobs.Stage(ctx)
	if err != nil {
		return nil, fmt.Errorf("stage upload: %w", err)
	}
	var w io.Writer = b
	if tee != nil {
		w = io.MultiWriter(b, tee)
	}
	n, err := copyAhead(w, io.LimitReader(body, max+1))
	if err != nil {
		b.Discard()
		return nil, fmt.Errorf("receive upload: %w", err)
	}
	if n > max {
		b.Discard()
		e := driverhub.Errorf(driverhub.ETooLarge, "is larger than %d bytes (%d MiB)", max, max>>20)
		e.Field = field
		return nil, e
	}
	return b, nil
}

// stagePackage stages a package for runtime and checks it, every entry
// inflated: a zippkg.Scanner follows the bytes as they arrive, so most of
// the checking is done when the last byte is. The caller commits the
// blob, and discards it in any case.
func (s *Service) stagePackage(ctx context.Context, body io.Reader, field string, runtime driverhub.Runtime) (driverhub.StagedBlob, error) {
	sc := zippkg.NewScanner(zippkg.DefaultLimits())
	defer sc.Stop()
	b, err := s.stageTee(ctx, body, field, driverhub.MaxPackageBytes, sc)
	if err != nil {
		return nil, err
	}
	if _, err := sc.Check(b, b.Size(), runtime); err != nil {
		b.Discard()
		return nil, err
	}
	return b, nil
}

// commit stores a checked staged blob under its digest: durably, and
// whole or not at all, claimed first (see blobgc.go) within the caller's
// quota. The transaction that then records a reference to it calls
// referToUpload.
func (s *Service) commit(ctx context.Context, b driverhub.StagedBlob) (uploaded, error) {
	u := uploaded{size: b.Size(), sha256: b.SHA256()}
	if err := s.claim(ctx, u); err != nil {
		return uploaded{}, err
	}
	if err := b.Commit(ctx, u.sha256); err != nil {
		return uploaded{}, fmt.Errorf("store blob %s: %w", u.sha256, err)
	}
	return u, nil
}

// editableVersion loads a version that an upload may change: a draft of a
// driver that is not built-in.
func editableVersion(ctx context.Context, tx driverhub.Tx, p *driverhub.Principal, driver, version, field string) (*driverhub.Driver, *driverhub.DriverVersion, error) {
	d, v, err := versionByName(ctx, tx, p, driver, version)
	if err != nil {
		return nil, nil, err
	}
	if v.Published() {
		return nil, nil, driverhub.Errorf(driverhub.EVersionPublished, "version %s of %s is published: its %s never changes", version, driver, field)
	}
	if field == "package" && d.Builtin {
		return nil, nil, driverhub.Invalid("package", "a built-in driver has no package: the gateway already holds it")
	}
	return d, v, nil
}

// PutPackage uploads a draft's package: staged in the blob store while
// hashed, checked as a zip for the driver's runtime, committed under its
// digest, and
// only then recorded on the version, so a crash never leaves a version
// pointing at a missing or partial blob.
func (s *Service) PutPackage(ctx context.Context, driver, version, filename string, body io.Reader) (*driverhub.DriverVersion, error) {
	p, err := authorize(ctx, driverhub.RoleDeveloper)
	if err != nil {
		return nil, err
	}
	var d *driverhub.Driver
	err = s.store.View(ctx, func(tx driverhub.Tx) error {
		d, _, err = editableVersion(ctx, tx, p, driver, version, "package")
		return err
	})
	if err != nil {
		return nil, err
	}
	if filename == "" {
		filename = driver + "-" + version + ".zip"
	}
	filename = text.Normal(filename)
	if err := driverhub.ValidateConfigFileName("filename", filename); err != nil {
		return nil, err
	}
	b, err := s.stagePackage(ctx, body, "package", d.Runtime)
	if err != nil {
		return nil, err
	}
	defer b.Discard()
	u, err := s.commit(ctx, b)
	if err != nil {
		return nil, err
	}
	var v *driverhub.DriverVersion
	err = s.store.Update(ctx, func(tx driverhub.Tx) error {
		if _, v, err = editableVersion(ctx, tx, p, driver, version, "package"); err != nil {
			return err
		}
		v.Package = &driverhub.PackageRef{Filename: filename, Size: u.size, SHA256: u.sha256}
		v.UpdatedAt = s.timestamp()
		if err := referToUpload(ctx, tx, u, v.UpdatedAt); err != nil {
			return err
		}
		return tx.UpdateVersion(ctx, v)
	})
	return v, err
}

// PutConfigFile uploads a draft's config file (at most 1 MiB) and makes it
// the version's driver config.
func (s *Service) PutConfigFile(ctx context.Context, driver, version, name string, body io.Reader) (*driverhub.DriverVersion, error) {
	p, err := authorize(ctx, driverhub.RoleDeveloper)
	if err != nil {
		return nil, err
	}
	name = text.Normal(name)
	if err := driverhub.ValidateConfigFileName("name", name); err != nil {
		return nil, err
	}
	err = s.store.View(ctx, func(tx driverhub.Tx) error {
		_, _, err = editableVersion(ctx, tx, p, driver, version, "driver_config")
		return err
	})
	if err != nil {
		return nil, err
	}
	u, err := s.uploadBlob(ctx, body, "body", driverhub.MaxConfigFileBytes)
	if err != nil {
		return nil, err
	}
	var v *driverhub.DriverVersion
	err = s.store.Update(ctx, func(tx driverhub.Tx) error {
		if _, v, err = editableVersion(ctx, tx, p, driver, version, "driver_config"); err != nil {
			return err
		}
		v.DriverConfig = &driverhub.DriverConfig{Format: driverhub.ConfigFile,
			File: &driverhub.ConfigFileRef{Name: name, Size: u.size, SHA256: u.sha256}}
		v.UpdatedAt = s.timestamp()
		if err := referToUpload(ctx, tx, u, v.UpdatedAt); err != nil {
			return err
		}
		return tx.UpdateVersion(ctx, v)
	})
	return v, err
}

// uploadBlob stages and commits an upload that needs no content check.
func (s *Service) uploadBlob(ctx context.Context, body io.Reader, field string, max int64) (uploaded, error) {
	b, err := s.stage(ctx, body, field, max)
	if err != nil {
		return uploaded{}, err
	}
	defer b.Discard()
	return s.commit(ctx, b)
}

// OpenPackage opens a version's package for download.
func (s *Service) OpenPackage(ctx context.Context, driver, version string) (*driverhub.Download, error) {
	v, err := s.GetVersion(ctx, driver, version)
	if err != nil {
		return nil, err
	}
	if v.Package == nil {
		return nil, driverhub.Errorf(driverhub.ENotFound, "version %s of %s has no package", version, driver)
	}
	return s.openBlob(ctx, v.Package.SHA256, driver+"-"+version+".zip", v.UpdatedAt)
}

// OpenConfigFile opens a version's config file for download.
func (s *Service) OpenConfigFile(ctx context.Context, driver, version string) (*driverhub.Download, error) {
	v, err := s.GetVersion(ctx, driver, version)
	if err != nil {
		return nil, err
	}
	if v.DriverConfig == nil || v.DriverConfig.File == nil {
		return nil, driverhub.Errorf(driverhub.ENotFound, "version %s of %s has no config file", version, driver)
	}
	return s.openBlob(ctx, v.DriverConfig.File.SHA256, v.DriverConfig.File.Name, v.UpdatedAt)
}

func (s *Service) openBlob(ctx context.Context, sha, filename string, modified time.Time) (*driverhub.Download, error) {
	body, size, err := s.blobs.Open(ctx, sha)
	if errors.Is(err, driverhub.ErrNotFound) {
		// A version points only at committed blobs; a missing one was lost outside driverhub.
		s.log.Error("blob missing from the blob store", "sha256", sha)
		return nil, fmt.Errorf("blob %s is missing from the blob store", sha)
	}
	if err != nil {
		return nil, err
	}
	return &driverhub.Download{Body: body, Size: size, SHA256: sha, Filename: filename, Modified: modified}, nil
}
