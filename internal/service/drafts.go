package service

import (
	"context"
	"errors"
	"reflect"
	"time"

	"github.com/driverhub/driverhub"
)

// SaveDraft saves a draft version in one operation and one transaction: the
// driver too when in.NewDriver is set, and the staged uploads it names as
// the version's package and config file, which it uses up. Every field is
// checked first and every problem reported at once; when anything is
// refused, nothing changes.
func (s *Service) SaveDraft(ctx context.Context, in driverhub.DraftInput) (*driverhub.DriverVersion, error) {
	p, err := authorize(ctx, driverhub.RoleDeveloper)
	if err != nil {
		return nil, err
	}
	normalDraftInput(&in)
	run := s.store.Update
	if in.ValidateOnly {
		run = s.store.View
	}
	var v *driverhub.DriverVersion
	err = run(ctx, func(tx driverhub.Tx) error {
		pl, err := s.planDraft(ctx, tx, p, in)
		if err != nil {
			return err
		}
		v = pl.v
		if err := pl.problems.err(); err != nil {
			return err
		}
		if in.ValidateOnly {
			return nil
		}
		return pl.save(ctx, tx)
	})
	if err != nil {
		return nil, err
	}
	return v, nil
}

// draftPlan is what a SaveDraft writes once every check has passed.
type draftPlan struct {
	now                   time.Time
	d                     *driverhub.Driver
	v                     *driverhub.DriverVersion
	newDriver, newVersion bool
	used                  []string // staged uploads to use up
	problems              problems
}

func (s *Service) planDraft(ctx context.Context, tx driverhub.Tx, p *driverhub.Principal, in driverhub.DraftInput) (*draftPlan, error) {
	pl := &draftPlan{now: s.timestamp()}
	if err := pl.driver(ctx, tx, p, in); err != nil {
		return nil, err
	}
	if err := pl.version(ctx, tx, in); err != nil {
		return nil, err
	}
	if err := pl.attach(ctx, tx, p, in); err != nil {
		return nil, err
	}
	pl.problems.add(pl.versionResource(), pl.v.Check(pl.d)...)
	return pl, nil
}

// driver loads the draft's driver, or makes the new one and checks it.
func (pl *draftPlan) driver(ctx context.Context, tx driverhub.Tx, p *driverhub.Principal, in driverhub.DraftInput) error {
	nd := in.NewDriver
	if nd == nil {
		if in.Driver == "" {
			return driverhub.Invalid("driver", "is required: name an existing driver, or describe a new one")
		}
		d, err := driverByName(ctx, tx, p, in.Driver)
		pl.d = d
		return err
	}
	d := &driverhub.Driver{ID: driverhub.NewID(), TenantID: p.TenantID, CreatedAt: pl.now, UpdatedAt: pl.now}
	applyDriverInput(d, *nd)
	set(&d.Name, nd.Name)
	pl.d, pl.newDriver = d, true
	res := "driver " + d.Name
	if in.Driver != "" {
		pl.problems.add(res, driverhub.Invalid("driver", "must be empty with new_driver, which names the driver"))
	}
	for _, f := range []struct {
		name    string
		missing bool
	}{{"name", nd.Name == nil}, {"protocol", nd.Protocol == nil}, {"runtime", nd.Runtime == nil}} {
		if f.missing {
			pl.problems.add(res, driverhub.Invalid(f.name, "is required"))
		}
	}
	pl.problems.add(res, d.Check()...)
	if d.Name == "" {
		return nil
	}
	_, err := tx.DriverByName(ctx, p.TenantID, d.Name)
	if err == nil {
		pl.problems.add(res, conflictOn("name", "a driver named %q exists already", d.Name))
		return nil
	}
	if errors.Is(err, driverhub.ErrNotFound) {
		return nil
	}
	return err
}

// version loads the draft to update, or makes the new one, and applies the
// input's fields.
func (pl *draftPlan) version(ctx context.Context, tx driverhub.Tx, in driverhub.DraftInput) error {
	d, f := pl.d, in.Fields
	if in.Version != "" {
		if pl.newDriver {
			return driverhub.Invalid("version", "names a draft to update, but the driver is new: leave it empty")
		}
		v, err := tx.VersionByName(ctx, d.ID, in.Version)
		if err != nil {
			return notFound(err, "version", d.Name+"/"+in.Version)
		}
		if v.Published() {
			return versionPublished(d.Name, in.Version, "only its description may change")
		}
		pl.v = v
		if f.Version != nil && *f.Version != in.Version {
			pl.problems.add(pl.versionResource(), driverhub.Invalid("version", "cannot be changed; add a new version instead"))
		}
		if f.Package != nil && !reflect.DeepEqual(f.Package, v.Package) {
			pl.problems.add(pl.versionResource(), driverhub.Invalid("package", "is set by a staged upload (package_upload), not in the version"))
		}
		pl.apply(in)
		return nil
	}
	v := driverhub.NewDriverVersion()
	v.ID, v.DriverID, v.Driver, v.CreatedAt, v.UpdatedAt = driverhub.NewID(), d.ID, d.Name, pl.now, pl.now
	set(&v.Version, f.Version)
	pl.v, pl.newVersion = v, true
	res := pl.versionResource()
	if f.Version == nil {
		pl.problems.add(res, driverhub.Invalid("version", "is required"))
	}
	if f.MinEdgeVersion == nil {
		pl.problems.add(res, driverhub.Invalid("min_edge_version", "is required (MAJOR.MINOR.PATCH, for example 1.0.0)"))
	}
	if f.Package != nil {
		pl.problems.add(res, driverhub.Invalid("package", "is set by a staged upload (package_upload), not in the version"))
	}
	pl.apply(in)
	if pl.newDriver || v.Version == "" {
		return nil
	}
	_, err := tx.VersionByName(ctx, d.ID, v.Version)
	if err == nil {
		pl.problems.add(res, conflictOn("version", "driver %s has a version %q already", d.Name, v.Version))
		return nil
	}
	if errors.Is(err, driverhub.ErrNotFound) {
		return nil
	}
	return err
}

// apply copies the input's fields onto the version. A config file upload
// sets the driver config itself (attach), so the input must not set
// another; a file config without its file keeps the version's file, or
// asks for one.
func (pl *draftPlan) apply(in driverhub.DraftInput) {
	f, current, res := in.Fields, pl.v.DriverConfig, pl.versionResource()
	fileConfig := f.DriverConfig != nil && f.DriverConfig.Format == driverhub.ConfigFile
	switch {
	case in.ConfigFileUpload != "":
		if f.DriverConfig != nil && !fileConfig {
			pl.problems.add(res, driverhub.Invalid("driver_config", "must be left out with a config file upload, which makes it a file config"))
		}
		f.DriverConfig = nil
	case fileConfig && f.DriverConfig.File == nil:
		f.DriverConfig = nil
		if current == nil || current.Format != driverhub.ConfigFile {
			pl.v.DriverConfig = &driverhub.DriverConfig{Format: driverhub.ConfigFile} // Check asks for the file
		}
	}
	if e, ok := driverhub.AsError(applyVersionInput(pl.v, f, current)); ok {
		pl.problems.add(res, e) // the other fields were applied and are still checked
	}
}

// attach puts the staged uploads on the version.
func (pl *draftPlan) attach(ctx context.Context, tx driverhub.Tx, p *driverhub.Principal, in driverhub.DraftInput) error {
	if id := in.PackageUpload; id != "" {
		u, problem, err := stagedUpload(ctx, tx, p, id, driverhub.UploadPackage, "package_upload", pl.now)
		if err != nil {
			return err
		}
		if problem == nil && u.Runtime != pl.d.Runtime && pl.d.Runtime.Valid() {
			problem = driverhub.Invalid("package_upload", "was checked for runtime %s, but driver %s runs %s: choose a package for %s",
				u.Runtime, pl.d.Name, pl.d.Runtime, pl.d.Runtime)
		}
		if problem != nil {
			pl.problems.add("upload "+id, problem)
		} else {
			pl.v.Package = &driverhub.PackageRef{Filename: u.Filename, Size: u.Size, SHA256: u.SHA256}
			pl.used = append(pl.used, id)
		}
	}
	if id := in.ConfigFileUpload; id != "" {
		u, problem, err := stagedUpload(ctx, tx, p, id, driverhub.UploadConfigFile, "config_file_upload", pl.now)
		if err != nil {
			return err
		}
		if problem != nil {
			pl.problems.add("upload "+id, problem)
		} else {
			pl.v.DriverConfig = &driverhub.DriverConfig{Format: driverhub.ConfigFile,
				File: &driverhub.ConfigFileRef{Name: u.Filename, Size: u.Size, SHA256: u.SHA256}}
			pl.used = append(pl.used, id)
		}
	}
	return nil
}

// save writes the driver, the version and uses up the uploads.
func (pl *draftPlan) save(ctx context.Context, tx driverhub.Tx) error {
	d, v := pl.d, pl.v
	if pl.newDriver {
		if err := tx.CreateDriver(ctx, d); err != nil {
			return conflict(err, "name", "a driver named %q exists already", d.Name)
		}
	}
	if pl.newVersion {
		if err := tx.CreateVersion(ctx, v); err != nil {
			return conflict(err, "version", "driver %s has a version %q already", d.Name, v.Version)
		}
	} else {
		v.UpdatedAt = pl.now
		if err := tx.UpdateVersion(ctx, v); err != nil {
			return err
		}
	}
	for _, id := range pl.used {
		if err := tx.DeleteUpload(ctx, id); err != nil {
			return err
		}
	}
	return nil
}

func (pl *draftPlan) versionResource() string { return "version " + pl.d.Name + "/" + pl.v.Version }

func conflictOn(field, format string, args ...any) *driverhub.Error {
	e := driverhub.Errorf(driverhub.EConflict, format, args...)
	e.Field = field
	return e
}

// problems gathers what a SaveDraft refuses, each naming its resource and
// field: one problem per field of a resource, the first found.
type problems []driverhub.Problem

func (ps *problems) add(resource string, errs ...*driverhub.Error) {
	for _, e := range errs {
		if e == nil || (e.Field != "" && ps.has(resource, e.Field)) {
			continue
		}
		*ps = append(*ps, e.Problem(resource))
	}
}

func (ps problems) has(resource, field string) bool {
	for _, p := range ps {
		if p.Resource == resource && p.Field == field {
			return true
		}
	}
	return false
}

// err is nil without problems; otherwise one Error carrying them all.
func (ps problems) err() error { return driverhub.JoinProblems(ps) }
