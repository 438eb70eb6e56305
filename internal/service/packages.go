package service

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/driverhub/driverhub"
	"github.com/driverhub/driverhub/internal/zippkg"
)

// spooled is an upload written to a local file while hashed.
type spooled struct {
	file   *os.File
	size   int64
	sha256 string
}

func (u *spooled) remove() {
	if u == nil || u.file == nil {
		return
	}
	u.file.Close()
	os.Remove(u.file.Name())
}

// spool streams body to a temporary file while hashing it, refusing more
// than max bytes with too_large. Nothing is held in memory.
func (s *Service) spool(body io.Reader, field string, max int64) (*spooled, error) {
	f, err := os.CreateTemp(s.spoolDir, "upload-*")
	if err != nil {
		return nil, fmt.Errorf("spool upload: %w", err)
	}
	u := &spooled{file: f}
	h := sha256.New()
	buf := make([]byte, 256<<10)
	n, err := io.CopyBuffer(io.MultiWriter(&writeback{f: f}, h), io.LimitReader(body, max+1), buf)
	if err != nil {
		u.remove()
		return nil, fmt.Errorf("receive upload: %w", err)
	}
	if n > max {
		u.remove()
		return nil, &driverhub.Error{Code: driverhub.ETooLarge, Field: field,
			Message: fmt.Sprintf("is larger than %d bytes (%d MiB)", max, max>>20)}
	}
	u.size, u.sha256 = n, hex.EncodeToString(h.Sum(nil))
	return u, nil
}

// commit moves a checked upload into the blob store: a rename when the
// store can adopt files, else a streamed copy that the store verifies.
func (s *Service) commit(ctx context.Context, u *spooled) error {
	if a, ok := s.blobs.(driverhub.BlobFileAdopter); ok {
		if err := u.file.Close(); err != nil {
			return err
		}
		if err := a.AdoptFile(ctx, u.sha256, u.file.Name()); err != nil {
			return fmt.Errorf("store blob %s: %w", u.sha256, err)
		}
		u.file = nil
		return nil
	}
	if _, err := u.file.Seek(0, io.SeekStart); err != nil {
		return err
	}
	if err := s.blobs.Put(ctx, u.sha256, u.file, u.size); err != nil {
		return fmt.Errorf("store blob %s: %w", u.sha256, err)
	}
	return nil
}

// editableVersion loads a version that an upload may change: a draft of a
// driver that is not built-in.
func editableVersion(ctx context.Context, tx driverhub.Tx, p *driverhub.Principal, driver, version, field string) (*driverhub.Driver, *driverhub.DriverVersion, error) {
	d, v, err := versionByName(ctx, tx, p, driver, version)
	if err != nil {
		return nil, nil, err
	}
	if v.Published() {
		return nil, nil, versionPublished(driver, version, "its "+field+" never changes")
	}
	if field == "package" && d.Builtin {
		return nil, nil, driverhub.Invalid("package", "a built-in driver has no package: the gateway already holds it")
	}
	return d, v, nil
}

// PutPackage uploads a draft's package: streamed to disk while hashed,
// checked as a zip for the driver's runtime, stored content-addressed, and
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
	if err := driverhub.ValidateConfigFileName("filename", filename); err != nil {
		return nil, err
	}
	u, err := s.spool(body, "package", driverhub.MaxPackageBytes)
	if err != nil {
		return nil, err
	}
	defer u.remove()
	if _, err := zippkg.Check(u.file, u.size, d.Runtime, zippkg.DefaultLimits()); err != nil {
		return nil, err
	}
	if err := s.commit(ctx, u); err != nil {
		return nil, err
	}
	var v *driverhub.DriverVersion
	err = s.store.Update(ctx, func(tx driverhub.Tx) error {
		if _, v, err = editableVersion(ctx, tx, p, driver, version, "package"); err != nil {
			return err
		}
		v.Package = &driverhub.PackageRef{Filename: filename, Size: u.size, SHA256: u.sha256}
		v.UpdatedAt = s.timestamp()
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
		return tx.UpdateVersion(ctx, v)
	})
	return v, err
}

// uploadBlob spools and commits an upload that needs no content check.
func (s *Service) uploadBlob(ctx context.Context, body io.Reader, field string, max int64) (*spooled, error) {
	u, err := s.spool(body, field, max)
	if err != nil {
		return nil, err
	}
	defer u.remove()
	return u, s.commit(ctx, u)
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
