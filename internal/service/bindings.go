package service

import (
	"context"
	"errors"
	"io"

	"github.com/driverhub/driverhub"
	"github.com/driverhub/driverhub/internal/text"
)

// resolveDriver finds the driver a binding names: the caller's own, or one
// the caller acquired from publisher. Another tenant's driver that was not
// acquired is "not found", so that its existence does not leak.
func resolveDriver(ctx context.Context, tx driverhub.Tx, p *driverhub.Principal, publisher, name string) (*driverhub.Driver, *driverhub.Tenant, error) {
	if publisher == "" || publisher == p.TenantName {
		d, err := driverByName(ctx, tx, p, name)
		if err != nil {
			return nil, nil, err
		}
		t, err := tx.TenantByID(ctx, p.TenantID)
		return d, t, err
	}
	missing := driverhub.Errorf(driverhub.ENotFound, "driver %s/%s not found among your acquisitions", publisher, name)
	t, err := tx.TenantByName(ctx, publisher)
	if errors.Is(err, driverhub.ErrNotFound) {
		return nil, nil, missing
	} else if err != nil {
		return nil, nil, err
	}
	d, err := tx.DriverByName(ctx, t.ID, name)
	if errors.Is(err, driverhub.ErrNotFound) {
		return nil, nil, missing
	} else if err != nil {
		return nil, nil, err
	}
	if _, err := tx.AcquisitionOf(ctx, p.TenantID, d.ID); errors.Is(err, driverhub.ErrNotFound) {
		return nil, nil, missing
	} else if err != nil {
		return nil, nil, err
	}
	return d, t, nil
}

// resolveVersion picks the version a binding runs: the one named, or the
// newest published. Drafts of one's own drivers may be bound, for debugging;
// of acquired drivers only published versions exist for the acquirer.
func resolveVersion(ctx context.Context, tx driverhub.Tx, d *driverhub.Driver, own bool, version string) (*driverhub.DriverVersion, error) {
	if version == "" {
		v, err := tx.LatestPublished(ctx, d.ID)
		if errors.Is(err, driverhub.ErrNotFound) {
			return nil, driverhub.Invalid("version", "driver %s has no published version: name the version to bind (drafts may be bound for debugging)", d.Name)
		}
		return v, err
	}
	v, err := tx.VersionByName(ctx, d.ID, version)
	if err == nil && !own && !v.Published() {
		err = driverhub.ErrNotFound
	}
	return v, notFound(err, "version", d.Name+"/"+version)
}

// Bind puts a driver on an instance, or changes the version (or publisher)
// of one bound already. An instance holds at most 30 drivers, no two with
// one name.
func (s *Service) Bind(ctx context.Context, instance, driver string, in driverhub.BindingInput) (*driverhub.Binding, error) {
	p, err := authorize(ctx, driverhub.RoleDeveloper)
	if err != nil {
		return nil, err
	}
	text.Normalize(in.Publisher, in.Version)
	if err := in.Check().Err(); err != nil {
		return nil, err
	}
	var publisher, version string
	set(&publisher, in.Publisher)
	set(&version, in.Version)
	var b *driverhub.Binding
	err = s.store.Update(ctx, func(tx driverhub.Tx) error {
		i, err := instanceByName(ctx, tx, p, instance)
		if err != nil {
			return err
		}
		d, owner, err := resolveDriver(ctx, tx, p, publisher, driver)
		if err != nil {
			return err
		}
		v, err := resolveVersion(ctx, tx, d, owner.ID == p.TenantID, version)
		if err != nil {
			return err
		}
		now := s.timestamp()
		b, err = tx.BindingByName(ctx, i.ID, driver)
		switch {
		case errors.Is(err, driverhub.ErrNotFound):
			bound, err := tx.ListBindings(ctx, i.ID)
			if err != nil {
				return err
			}
			if len(bound) >= driverhub.MaxDriversPerInstance {
				return driverhub.Errorf(driverhub.EConflict, "instance %s holds %d drivers already, the most it may", instance, driverhub.MaxDriversPerInstance)
			}
			b = &driverhub.Binding{ID: driverhub.NewID(), InstanceID: i.ID, CreatedAt: now}
			b.DriverID, b.Driver, b.Publisher, b.PublisherID, b.Version, b.UpdatedAt = d.ID, d.Name, owner.Name, owner.ID, v.Version, now
			return conflict(tx.CreateBinding(ctx, b), "driver", "instance %s has a driver named %s already", instance, driver)
		case err != nil:
			return err
		}
		b.DriverID, b.Driver, b.Publisher, b.PublisherID, b.Version, b.UpdatedAt = d.ID, d.Name, owner.Name, owner.ID, v.Version, now
		s.presentBinding(i, b)
		return tx.UpdateBinding(ctx, b)
	})
	return b, err
}

// presentBinding fills the fields of a binding's view that are derived:
// the gateway's report of the driver is stale while the gateway is offline.
func (s *Service) presentBinding(i *driverhub.Instance, b *driverhub.Binding) {
	if b.Runtime != nil {
		b.Runtime.Stale = !s.online(s.lastSeen(i))
	}
}

func bindingByName(ctx context.Context, tx driverhub.Tx, p *driverhub.Principal, instance, driver string) (*driverhub.Instance, *driverhub.Binding, error) {
	i, err := instanceByName(ctx, tx, p, instance)
	if err != nil {
		return nil, nil, err
	}
	b, err := tx.BindingByName(ctx, i.ID, driver)
	return i, b, notBound(err, instance, driver)
}

// notBound turns a store's ErrNotFound for a binding into a message naming it.
func notBound(err error, instance, driver string) error {
	if errors.Is(err, driverhub.ErrNotFound) {
		return driverhub.Errorf(driverhub.ENotFound, "driver %q is not bound to instance %s", driver, instance)
	}
	return err
}

// GetBinding returns a bound driver with its config and runtime state.
func (s *Service) GetBinding(ctx context.Context, instance, driver string) (*driverhub.Binding, error) {
	p, err := authorize(ctx, driverhub.RoleViewer)
	if err != nil {
		return nil, err
	}
	var b *driverhub.Binding
	err = s.store.View(ctx, func(tx driverhub.Tx) error {
		var i *driverhub.Instance
		i, b, err = bindingByName(ctx, tx, p, instance, driver)
		if err != nil {
			return err
		}
		s.presentBinding(i, b)
		devices, err := tx.DevicesOfBinding(ctx, b.ID)
		b.Devices = len(devices)
		return err
	})
	return b, err
}

// ListBindings lists an instance's drivers.
func (s *Service) ListBindings(ctx context.Context, instance string) (driverhub.List[*driverhub.Binding], error) {
	out := driverhub.List[*driverhub.Binding]{Items: []*driverhub.Binding{}}
	p, err := authorize(ctx, driverhub.RoleViewer)
	if err != nil {
		return out, err
	}
	err = s.store.View(ctx, func(tx driverhub.Tx) error {
		i, err := instanceByName(ctx, tx, p, instance)
		if err != nil {
			return err
		}
		if out.Items, err = tx.ListBindings(ctx, i.ID); err != nil {
			return err
		}
		for _, b := range out.Items {
			s.presentBinding(i, b)
		}
		return nil
	})
	return out, err
}

// Unbind removes a driver from an instance; its devices must go first.
func (s *Service) Unbind(ctx context.Context, instance, driver string) error {
	p, err := authorize(ctx, driverhub.RoleDeveloper)
	if err != nil {
		return err
	}
	return s.store.Update(ctx, func(tx driverhub.Tx) error {
		_, b, err := bindingByName(ctx, tx, p, instance, driver)
		if err != nil {
			return err
		}
		devices, err := tx.DevicesOfBinding(ctx, b.ID)
		if err != nil {
			return err
		}
		if len(devices) > 0 {
			return driverhub.Errorf(driverhub.EConflict, "driver %s on instance %s has %d devices: remove them or move them to another driver first", driver, instance, len(devices))
		}
		if err := tx.DeleteDriverLogs(ctx, b.ID); err != nil {
			return err
		}
		return tx.DeleteBinding(ctx, b.ID)
	})
}

// SetBindingConfig sets the instance driver config, overriding the
// version's default. A file config is set by uploading the file.
func (s *Service) SetBindingConfig(ctx context.Context, instance, driver string, cfg driverhub.DriverConfig) (*driverhub.Binding, error) {
	p, err := authorize(ctx, driverhub.RoleDeveloper)
	if err != nil {
		return nil, err
	}
	if cfg.Format == driverhub.ConfigFile {
		return nil, driverhub.Invalid("file", "is set by uploading the file to .../config-file?name=NAME")
	}
	normalConfig(&cfg)
	var l driverhub.FieldErrors
	for _, e := range cfg.Check("") {
		e.Field = trimDot(e.Field) // the config is the whole body
		l.Add(e)
	}
	if err := l.Err(); err != nil {
		return nil, err
	}
	return s.updateBinding(ctx, p, instance, driver, func(b *driverhub.Binding) { b.Config = &cfg })
}

func trimDot(f string) string {
	if len(f) > 0 && f[0] == '.' {
		return f[1:]
	}
	return f
}

func (s *Service) updateBinding(ctx context.Context, p *driverhub.Principal, instance, driver string, change func(*driverhub.Binding)) (*driverhub.Binding, error) {
	return s.updateBindingTx(ctx, p, instance, driver, func(_ driverhub.Tx, b *driverhub.Binding) error {
		change(b)
		return nil
	})
}

// updateBindingTx is updateBinding with a change that may use, or fail,
// the transaction.
func (s *Service) updateBindingTx(ctx context.Context, p *driverhub.Principal, instance, driver string,
	change func(driverhub.Tx, *driverhub.Binding) error) (*driverhub.Binding, error) {
	var b *driverhub.Binding
	err := s.store.Update(ctx, func(tx driverhub.Tx) error {
		i, found, err := bindingByName(ctx, tx, p, instance, driver)
		if err != nil {
			return err
		}
		b = found
		if err := change(tx, b); err != nil {
			return err
		}
		b.UpdatedAt = s.timestamp()
		s.presentBinding(i, b)
		return tx.UpdateBinding(ctx, b)
	})
	return b, err
}

// DeleteBindingConfig drops the instance driver config: the version's default applies again.
func (s *Service) DeleteBindingConfig(ctx context.Context, instance, driver string) error {
	p, err := authorize(ctx, driverhub.RoleDeveloper)
	if err != nil {
		return err
	}
	_, err = s.updateBinding(ctx, p, instance, driver, func(b *driverhub.Binding) { b.Config = nil })
	return err
}

// PutBindingConfigFile uploads a config file (at most 1 MiB) as the instance driver config.
func (s *Service) PutBindingConfigFile(ctx context.Context, instance, driver, name string, body io.Reader) (*driverhub.Binding, error) {
	p, err := authorize(ctx, driverhub.RoleDeveloper)
	if err != nil {
		return nil, err
	}
	name = text.Normal(name)
	if err := driverhub.ValidateConfigFileName("name", name); err != nil {
		return nil, err
	}
	if _, err := s.GetBinding(ctx, instance, driver); err != nil {
		return nil, err
	}
	u, err := s.uploadBlob(ctx, body, "body", driverhub.MaxConfigFileBytes)
	if err != nil {
		return nil, err
	}
	return s.updateBindingTx(ctx, p, instance, driver, func(tx driverhub.Tx, b *driverhub.Binding) error {
		b.Config = &driverhub.DriverConfig{Format: driverhub.ConfigFile, File: &driverhub.ConfigFileRef{Name: name, Size: u.size, SHA256: u.sha256}}
		return referToUpload(ctx, tx, u, s.timestamp())
	})
}

// OpenBindingConfigFile opens the instance driver config file of a binding.
func (s *Service) OpenBindingConfigFile(ctx context.Context, instance, driver string) (*driverhub.Download, error) {
	b, err := s.GetBinding(ctx, instance, driver)
	if err != nil {
		return nil, err
	}
	if b.Config == nil || b.Config.File == nil {
		return nil, driverhub.Errorf(driverhub.ENotFound, "driver %s on instance %s has no instance config file", driver, instance)
	}
	return s.openBlob(ctx, b.Config.File.SHA256, b.Config.File.Name, b.UpdatedAt)
}

// DriverLogs returns the newest tail lines a gateway shipped for a bound driver.
func (s *Service) DriverLogs(ctx context.Context, instance, driver string, tail int) ([]driverhub.LogLine, error) {
	p, err := authorize(ctx, driverhub.RoleViewer)
	if err != nil {
		return nil, err
	}
	if tail == 0 {
		tail = driverhub.DefaultLogTail
	}
	if tail < 1 || tail > driverhub.DriverLogRing {
		return nil, driverhub.Invalid("tail", "must be a whole number from 1 to %d (0 or absent: the last %d)", driverhub.DriverLogRing, driverhub.DefaultLogTail)
	}
	var lines []driverhub.LogLine
	err = s.store.View(ctx, func(tx driverhub.Tx) error {
		_, b, err := bindingByName(ctx, tx, p, instance, driver)
		if err != nil {
			return err
		}
		lines, err = tx.TailDriverLogs(ctx, b.ID, tail)
		return err
	})
	if lines == nil {
		lines = []driverhub.LogLine{}
	}
	return lines, err
}
