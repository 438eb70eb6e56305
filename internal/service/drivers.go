package service

import (
	"context"
	"slices"

	"github.com/driverhub/driverhub"
)

// CreateDriver creates a driver in the caller's tenant.
func (s *Service) CreateDriver(ctx context.Context, in driverhub.DriverInput) (*driverhub.Driver, error) {
	p, err := authorize(ctx, driverhub.RoleDeveloper)
	if err != nil {
		return nil, err
	}
	now := s.timestamp()
	d := &driverhub.Driver{ID: driverhub.NewID(), TenantID: p.TenantID, CreatedAt: now, UpdatedAt: now}
	normalDriverInput(&in)
	applyDriverInput(d, in)
	set(&d.Name, in.Name)
	if err := newDriverProblems(d, in).Err(); err != nil {
		return nil, err
	}
	err = s.store.Update(ctx, func(tx driverhub.Tx) error {
		return conflict(tx.CreateDriver(ctx, d), "name", "a driver named %q exists already", d.Name)
	})
	if err != nil {
		return nil, err
	}
	return d, nil
}

// newDriverProblems lists every problem of a new driver: the fields it
// needs that are missing, and those that break SPEC §3.
func newDriverProblems(d *driverhub.Driver, in driverhub.DriverInput) driverhub.FieldErrors {
	var l driverhub.FieldErrors
	for _, f := range []struct {
		name    string
		missing bool
	}{{"name", in.Name == nil}, {"protocol", in.Protocol == nil}, {"runtime", in.Runtime == nil}} {
		if f.missing {
			l.Add(driverhub.Invalid(f.name, "is required"))
		}
	}
	l.AppendNew(d.Check())
	return l
}

func applyDriverInput(d *driverhub.Driver, in driverhub.DriverInput) {
	set(&d.Protocol, in.Protocol)
	set(&d.Runtime, in.Runtime)
	set(&d.CPUArch, in.CPUArch)
	set(&d.Builtin, in.Builtin)
	set(&d.Description, in.Description)
}

func set[T any](dst *T, src *T) {
	if src != nil {
		*dst = *src
	}
}

// GetDriver returns a driver of the caller's tenant.
func (s *Service) GetDriver(ctx context.Context, name string) (*driverhub.Driver, error) {
	p, err := authorize(ctx, driverhub.RoleViewer)
	if err != nil {
		return nil, err
	}
	var d *driverhub.Driver
	err = s.store.View(ctx, func(tx driverhub.Tx) error {
		d, err = driverByName(ctx, tx, p, name)
		return err
	})
	return d, err
}

func driverByName(ctx context.Context, tx driverhub.Tx, p *driverhub.Principal, name string) (*driverhub.Driver, error) {
	d, err := tx.DriverByName(ctx, p.TenantID, name)
	return d, notFound(err, "driver", name)
}

// ListDrivers lists the caller's drivers by name.
func (s *Service) ListDrivers(ctx context.Context, f driverhub.DriverFilter, page driverhub.Page) (driverhub.List[*driverhub.Driver], error) {
	var out driverhub.List[*driverhub.Driver]
	p, err := authorize(ctx, driverhub.RoleViewer)
	if err != nil {
		return out, err
	}
	if f.Protocol != "" && !slices.Contains(driverhub.Protocols, f.Protocol) {
		return out, driverhub.Invalid("protocol", "must be one of %s", driverhub.Words(driverhub.Protocols))
	}
	if f.Runtime != "" && !f.Runtime.Valid() {
		return out, driverhub.Invalid("runtime", "must be one of %s", driverhub.Words(driverhub.AllRuntimes))
	}
	err = s.store.View(ctx, func(tx driverhub.Tx) error {
		out, err = tx.ListDrivers(ctx, p.TenantID, f, page)
		return err
	})
	return out, err
}

// UpdateDriver changes a driver. Its name is its identity and never
// changes; its runtime, CPU architecture and built-in flag change only
// while it has no versions, since its packages were checked against them.
func (s *Service) UpdateDriver(ctx context.Context, name string, in driverhub.DriverInput) (*driverhub.Driver, error) {
	p, err := authorize(ctx, driverhub.RoleDeveloper)
	if err != nil {
		return nil, err
	}
	normalDriverInput(&in)
	var d *driverhub.Driver
	err = s.store.Update(ctx, func(tx driverhub.Tx) error {
		if d, err = driverByName(ctx, tx, p, name); err != nil {
			return err
		}
		before := *d
		applyDriverInput(d, in)
		var l driverhub.FieldErrors
		if in.Name != nil && *in.Name != d.Name {
			l.Add(driverhub.Invalid("name", "cannot be changed; create a new driver instead"))
		}
		l.Append(d.Check())
		if err := l.Err(); err != nil {
			return err
		}
		if d.Runtime != before.Runtime || d.CPUArch != before.CPUArch || d.Builtin != before.Builtin {
			n, err := tx.CountVersions(ctx, d.ID, "")
			if err != nil {
				return err
			}
			if n > 0 {
				return driverhub.Errorf(driverhub.EConflict, "runtime, cpu_arch and builtin cannot change once the driver has versions")
			}
		}
		d.UpdatedAt = s.timestamp()
		return tx.UpdateDriver(ctx, d)
	})
	return d, err
}

// DeleteDriver deletes a driver and its draft versions. A driver with a
// published version, or bound to an instance, stays.
func (s *Service) DeleteDriver(ctx context.Context, name string) error {
	p, err := authorize(ctx, driverhub.RoleDeveloper)
	if err != nil {
		return err
	}
	return s.store.Update(ctx, func(tx driverhub.Tx) error {
		d, err := driverByName(ctx, tx, p, name)
		if err != nil {
			return err
		}
		n, err := tx.CountVersions(ctx, d.ID, driverhub.StatusPublished)
		if err != nil {
			return err
		}
		if n > 0 {
			return driverhub.Errorf(driverhub.EConflict, "driver %s has a published version and cannot be deleted", name)
		}
		if err := s.driverUnbound(ctx, tx, d); err != nil {
			return err
		}
		for {
			drafts, err := tx.ListVersions(ctx, d.ID, "", driverhub.Page{Limit: driverhub.MaxPageLimit})
			if err != nil {
				return err
			}
			for _, v := range drafts.Items {
				if err := tx.DeleteVersion(ctx, v.ID); err != nil {
					return err
				}
			}
			if drafts.NextCursor == "" {
				break
			}
		}
		return tx.DeleteDriver(ctx, d.ID)
	})
}

// driverUnbound refuses when an instance binds the driver.
func (s *Service) driverUnbound(ctx context.Context, tx driverhub.Tx, d *driverhub.Driver) error {
	n, err := tx.CountBindingsOfDriver(ctx, d.ID)
	if err != nil {
		return err
	}
	if n > 0 {
		return driverhub.Errorf(driverhub.EConflict, "driver %s is bound to %d instances: unbind it first", d.Name, n)
	}
	return nil
}
