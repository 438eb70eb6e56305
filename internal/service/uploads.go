package service

import (
	"context"
	"errors"
	"io"
	"time"

	"github.com/driverhub/driverhub"
	"github.com/driverhub/driverhub/internal/text"
)

// StageUpload receives a file ahead of the draft that will use it: checked
// as a version's own uploads are (the size limit of its kind; a package as a
// zip for the runtime), stored content-addressed, and recorded for the
// caller's tenant until StagedUploadTTL has passed. SaveDraft uses it up.
func (s *Service) StageUpload(ctx context.Context, in driverhub.UploadInput, body io.Reader) (*driverhub.StagedUpload, error) {
	p, err := authorize(ctx, driverhub.RoleDeveloper)
	if err != nil {
		return nil, err
	}
	in.Filename = text.Normal(in.Filename)
	if err := checkUploadInput(in); err != nil {
		return nil, err
	}
	var b driverhub.StagedBlob
	if in.Kind == driverhub.UploadPackage {
		b, err = s.stagePackage(ctx, body, string(in.Kind), in.Runtime)
	} else {
		b, err = s.stage(ctx, body, string(in.Kind), in.Kind.MaxBytes())
	}
	if err != nil {
		return nil, err
	}
	defer b.Discard()
	u, err := s.commit(ctx, b)
	if err != nil {
		return nil, err
	}
	now := s.timestamp()
	up := &driverhub.StagedUpload{ID: driverhub.NewID(), TenantID: p.TenantID, UserID: p.UserID, Kind: in.Kind,
		Filename: in.Filename, Size: u.size, SHA256: u.sha256, Runtime: in.Runtime,
		CreatedAt: now, ExpiresAt: now.Add(driverhub.StagedUploadTTL)}
	err = s.store.Update(ctx, func(tx driverhub.Tx) error {
		// Forms left unsent leave uploads behind; each new one sweeps them.
		if _, err := tx.DeleteExpiredUploads(ctx, now); err != nil {
			return err
		}
		if err := referToUpload(ctx, tx, u, now); err != nil {
			return err
		}
		return tx.CreateUpload(ctx, up)
	})
	if err != nil {
		return nil, err
	}
	return up, nil
}

func checkUploadInput(in driverhub.UploadInput) error {
	if !in.Kind.Valid() {
		return driverhub.Invalid("kind", "must be %s or %s", driverhub.UploadPackage, driverhub.UploadConfigFile)
	}
	if err := driverhub.ValidateConfigFileName("filename", in.Filename); err != nil {
		return err
	}
	switch {
	case in.Kind == driverhub.UploadPackage && !in.Runtime.Valid():
		return driverhub.Invalid("runtime", "must be one of %s: the package is checked for it", driverhub.Words(driverhub.AllRuntimes))
	case in.Kind != driverhub.UploadPackage && in.Runtime != "":
		return driverhub.Invalid("runtime", "is only for packages")
	}
	return nil
}

// stagedUpload loads an upload that a draft of the caller's tenant may use
// as field. A problem with the reference comes back as problem; err is a
// failure of the store.
func stagedUpload(ctx context.Context, tx driverhub.Tx, p *driverhub.Principal, id string, kind driverhub.UploadKind,
	field string, now time.Time) (u *driverhub.StagedUpload, problem *driverhub.Error, err error) {
	u, err = tx.UploadByID(ctx, id)
	if errors.Is(err, driverhub.ErrNotFound) || (err == nil && u.TenantID != p.TenantID) {
		return nil, driverhub.Invalid(field, "names no staged upload: it was used already or never made; choose the file again"), nil
	}
	if err != nil {
		return nil, nil, err
	}
	if !u.ExpiresAt.After(now) {
		return nil, driverhub.Invalid(field, "expired at %s: choose the file again", u.ExpiresAt.Format(time.RFC3339)), nil
	}
	if kind != "" && u.Kind != kind { // "": any kind
		return nil, driverhub.Invalid(field, "names a staged %s, not a %s", u.Kind, kind), nil
	}
	return u, nil, nil
}

// GetUpload returns a staged upload of the caller's tenant that a draft can
// still use: what a form shows of a file before the user confirms it.
func (s *Service) GetUpload(ctx context.Context, id string) (*driverhub.StagedUpload, error) {
	p, err := authorize(ctx, driverhub.RoleDeveloper)
	if err != nil {
		return nil, err
	}
	var u *driverhub.StagedUpload
	err = s.store.View(ctx, func(tx driverhub.Tx) error {
		var problem *driverhub.Error
		u, problem, err = stagedUpload(ctx, tx, p, id, "", "upload", s.timestamp())
		if problem != nil && err == nil { // used, expired or another tenant's: not there to show
			err = &driverhub.Error{Code: driverhub.ENotFound, Field: problem.Field, Message: problem.Message}
		}
		return err
	})
	return u, err
}
