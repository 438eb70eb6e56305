package service

import (
	"context"
	"reflect"

	"github.com/driverhub/driverhub"
	"github.com/driverhub/driverhub/internal/text"
)

// CreateVersion adds a draft version to a driver.
func (s *Service) CreateVersion(ctx context.Context, driver string, in driverhub.VersionInput) (*driverhub.DriverVersion, error) {
	p, err := authorize(ctx, driverhub.RoleDeveloper)
	if err != nil {
		return nil, err
	}
	normalVersionInput(&in)
	var v *driverhub.DriverVersion
	err = s.store.Update(ctx, func(tx driverhub.Tx) error {
		d, err := driverByName(ctx, tx, p, driver)
		if err != nil {
			return err
		}
		v = driverhub.NewDriverVersion()
		v.ID, v.DriverID, v.Driver = driverhub.NewID(), d.ID, d.Name
		set(&v.Version, in.Version)
		v.CreatedAt = s.timestamp()
		v.UpdatedAt = v.CreatedAt
		var l driverhub.FieldErrors
		if in.Version == nil {
			l.Add(driverhub.Invalid("version", "is required"))
		}
		if in.MinEdgeVersion == nil {
			l.Add(driverhub.Invalid("min_edge_version", "is required (MAJOR.MINOR.PATCH, for example 1.0.0)"))
		}
		if in.Package != nil {
			l.Add(driverhub.Invalid("package", "is uploaded to .../versions/{version}/package, not set in the version"))
		}
		l.Add(applyVersionInput(v, in, nil))
		l.AppendNew(v.Check(d))
		if err := l.Err(); err != nil {
			return err
		}
		return conflict(tx.CreateVersion(ctx, v), "version", "driver %s has a version %q already", d.Name, v.Version)
	})
	if err != nil {
		return nil, err
	}
	return v, nil
}

// applyVersionInput copies the present fields of in onto v. A file config
// is only ever set by uploading the file, so one in the input must be the
// one the version holds (current); another is refused, and v keeps its
// config while the other fields are still copied.
func applyVersionInput(v *driverhub.DriverVersion, in driverhub.VersionInput, current *driverhub.DriverConfig) error {
	var err error
	if in.DriverConfig != nil && in.DriverConfig.Format == driverhub.ConfigFile {
		if current == nil || current.File == nil || in.DriverConfig.File == nil || *in.DriverConfig.File != *current.File {
			err = driverhub.Invalid("driver_config.file", "is set by uploading the file to .../config-file?name=NAME")
		}
	}
	set(&v.MinEdgeVersion, in.MinEdgeVersion)
	set(&v.Description, in.Description)
	if in.DriverConfig != nil && err == nil {
		cfg := *in.DriverConfig
		v.DriverConfig = &cfg
	}
	set(&v.Container, in.Container)
	set(&v.ConfigChecks, in.ConfigChecks)
	set(&v.JVMArgs, in.JVMArgs)
	return err
}

// GetVersion returns a version of one of the caller's drivers.
func (s *Service) GetVersion(ctx context.Context, driver, version string) (*driverhub.DriverVersion, error) {
	p, err := authorize(ctx, driverhub.RoleViewer)
	if err != nil {
		return nil, err
	}
	var v *driverhub.DriverVersion
	err = s.store.View(ctx, func(tx driverhub.Tx) error {
		_, v, err = versionByName(ctx, tx, p, driver, version)
		return err
	})
	return v, err
}

func versionByName(ctx context.Context, tx driverhub.Tx, p *driverhub.Principal, driver, version string) (*driverhub.Driver, *driverhub.DriverVersion, error) {
	d, err := driverByName(ctx, tx, p, driver)
	if err != nil {
		return nil, nil, err
	}
	version = text.Normal(version) // as versions are stored
	v, err := tx.VersionByName(ctx, d.ID, version)
	return d, v, notFound(err, "version", driver+"/"+version)
}

// ListVersions lists a driver's versions, newest first.
func (s *Service) ListVersions(ctx context.Context, driver, status string, page driverhub.Page) (driverhub.List[*driverhub.DriverVersion], error) {
	var out driverhub.List[*driverhub.DriverVersion]
	p, err := authorize(ctx, driverhub.RoleViewer)
	if err != nil {
		return out, err
	}
	if status != "" && status != driverhub.StatusDraft && status != driverhub.StatusPublished {
		return out, driverhub.Invalid("status", "must be draft or published")
	}
	err = s.store.View(ctx, func(tx driverhub.Tx) error {
		d, err := driverByName(ctx, tx, p, driver)
		if err != nil {
			return err
		}
		out, err = tx.ListVersions(ctx, d.ID, status, page)
		return err
	})
	return out, err
}

// UpdateVersion edits a draft. Of a published version only the
// description changes; any other change answers version_published.
func (s *Service) UpdateVersion(ctx context.Context, driver, version string, in driverhub.VersionInput) (*driverhub.DriverVersion, error) {
	p, err := authorize(ctx, driverhub.RoleDeveloper)
	if err != nil {
		return nil, err
	}
	normalVersionInput(&in)
	var v *driverhub.DriverVersion
	err = s.store.Update(ctx, func(tx driverhub.Tx) error {
		var d *driverhub.Driver
		if d, v, err = versionByName(ctx, tx, p, driver, version); err != nil {
			return err
		}
		var l driverhub.FieldErrors
		if in.Version != nil && *in.Version != v.Version {
			l.Add(driverhub.Invalid("version", "cannot be changed; add a new version instead"))
		}
		if in.Package != nil && !reflect.DeepEqual(in.Package, v.Package) {
			l.Add(driverhub.Invalid("package", "is uploaded to .../versions/{version}/package, not set in the version"))
		}
		before := *v
		l.Add(applyVersionInput(v, in, before.DriverConfig))
		if v.Published() && len(l) == 0 {
			after := *v
			after.Description, after.DriverConfig = before.Description, before.DriverConfig
			if !reflect.DeepEqual(after, before) || !sameConfig(v.DriverConfig, before.DriverConfig) {
				return versionPublished(driver, version, "only its description may change")
			}
		}
		l.Append(v.Check(d))
		if err := l.Err(); err != nil {
			return err
		}
		v.UpdatedAt = s.timestamp()
		return tx.UpdateVersion(ctx, v)
	})
	return v, err
}

// sameConfig compares two configs after canonicalization.
func sameConfig(a, b *driverhub.DriverConfig) bool {
	if a == nil || b == nil {
		return a == b
	}
	ca, cb := *a, *b
	if ca.Clean("") != nil || cb.Clean("") != nil {
		return false
	}
	return reflect.DeepEqual(ca, cb)
}

func versionPublished(driver, version string, why driverhub.Word) error {
	return driverhub.Errorf(driverhub.EVersionPublished, "version %s of %s is published: %s", version, driver, why)
}

// DeleteVersion deletes a draft.
func (s *Service) DeleteVersion(ctx context.Context, driver, version string) error {
	p, err := authorize(ctx, driverhub.RoleDeveloper)
	if err != nil {
		return err
	}
	return s.store.Update(ctx, func(tx driverhub.Tx) error {
		_, v, err := versionByName(ctx, tx, p, driver, version)
		if err != nil {
			return err
		}
		if v.Published() {
			return versionPublished(driver, version, "it cannot be deleted")
		}
		return tx.DeleteVersion(ctx, v.ID)
	})
}

// PublishVersion publishes a draft, for good. A driver that is not
// built-in needs its package first.
func (s *Service) PublishVersion(ctx context.Context, driver, version string) (*driverhub.DriverVersion, error) {
	p, err := authorize(ctx, driverhub.RoleDeveloper)
	if err != nil {
		return nil, err
	}
	var v *driverhub.DriverVersion
	err = s.store.Update(ctx, func(tx driverhub.Tx) error {
		var d *driverhub.Driver
		if d, v, err = versionByName(ctx, tx, p, driver, version); err != nil {
			return err
		}
		if v.Published() {
			return versionPublished(driver, version, "it was published already")
		}
		if !d.Builtin && v.Package == nil {
			e := driverhub.Errorf(driverhub.EFailedPrecondition, "upload the package before publishing")
			e.Problems = []driverhub.Problem{driverhub.NewProblem("version "+driver+"/"+version, driverhub.ProblemPackageMissing,
				"a driver that is not built-in needs its package (.zip) before it is published")}
			return e
		}
		now := s.timestamp()
		v.Status, v.PublishedAt, v.UpdatedAt = driverhub.StatusPublished, &now, now
		return tx.UpdateVersion(ctx, v)
	})
	return v, err
}
