package service

import (
	"context"

	"github.com/driverhub/driverhub"
	"github.com/driverhub/driverhub/internal/text"
)

// CreateDevice creates a sub-device, unique by product and name.
func (s *Service) CreateDevice(ctx context.Context, in driverhub.DeviceInput) (*driverhub.Device, error) {
	p, err := authorize(ctx, driverhub.RoleDeveloper)
	if err != nil {
		return nil, err
	}
	text.Normalize(&in.Product, &in.Name, &in.Description)
	if err := in.Check().Err(); err != nil {
		return nil, err
	}
	now := s.timestamp()
	d := &driverhub.Device{ID: driverhub.NewID(), TenantID: p.TenantID, Product: in.Product, Name: in.Name,
		Description: in.Description, CreatedAt: now, UpdatedAt: now}
	err = s.store.Update(ctx, func(tx driverhub.Tx) error {
		return conflict(tx.CreateDevice(ctx, d), "name", "device %s/%s exists already", d.Product, d.Name)
	})
	if err != nil {
		return nil, err
	}
	return d, nil
}

func deviceByName(ctx context.Context, tx driverhub.Tx, p *driverhub.Principal, product, name string) (*driverhub.Device, error) {
	d, err := tx.DeviceByName(ctx, p.TenantID, product, name)
	return d, notFound(err, "device", product+"/"+name)
}

// GetDevice returns a device.
func (s *Service) GetDevice(ctx context.Context, product, name string) (*driverhub.Device, error) {
	p, err := authorize(ctx, driverhub.RoleViewer)
	if err != nil {
		return nil, err
	}
	var d *driverhub.Device
	err = s.store.View(ctx, func(tx driverhub.Tx) error {
		d, err = deviceByName(ctx, tx, p, product, name)
		return err
	})
	return d, err
}

// ListDevices lists devices, all or those of one instance.
func (s *Service) ListDevices(ctx context.Context, instance string, page driverhub.Page) (driverhub.List[*driverhub.Device], error) {
	var out driverhub.List[*driverhub.Device]
	p, err := authorize(ctx, driverhub.RoleViewer)
	if err != nil {
		return out, err
	}
	err = s.store.View(ctx, func(tx driverhub.Tx) error {
		var f driverhub.DeviceFilter
		if instance != "" {
			i, err := instanceByName(ctx, tx, p, instance)
			if err != nil {
				return err
			}
			f.InstanceID = i.ID
		}
		out, err = tx.ListDevices(ctx, p.TenantID, f, page)
		return err
	})
	return out, err
}

// DeleteDevice deletes a device that no instance holds.
func (s *Service) DeleteDevice(ctx context.Context, product, name string) error {
	p, err := authorize(ctx, driverhub.RoleDeveloper)
	if err != nil {
		return err
	}
	return s.store.Update(ctx, func(tx driverhub.Tx) error {
		d, err := deviceByName(ctx, tx, p, product, name)
		if err != nil {
			return err
		}
		if d.InstanceID != "" {
			return driverhub.Errorf(driverhub.EConflict, "device %s/%s is associated with instance %s: remove it from there first", product, name, d.Instance)
		}
		return tx.DeleteDevice(ctx, d.ID)
	})
}

// AssociateDevice puts a device on an instance, with one of its bound
// drivers and an optional device config. A device is on at most one
// instance: moving it means removing it from the other first.
func (s *Service) AssociateDevice(ctx context.Context, instance, product, name string, in driverhub.DeviceAssociation) (*driverhub.Device, error) {
	p, err := authorize(ctx, driverhub.RoleDeveloper)
	if err != nil {
		return nil, err
	}
	text.Normalize(&in.Driver)
	if err := in.Check().Err(); err != nil {
		return nil, err
	}
	config := in.Config
	var d *driverhub.Device
	err = s.store.Update(ctx, func(tx driverhub.Tx) error {
		i, err := instanceByName(ctx, tx, p, instance)
		if err != nil {
			return err
		}
		if d, err = deviceByName(ctx, tx, p, product, name); err != nil {
			return err
		}
		if d.InstanceID != "" && d.InstanceID != i.ID {
			return driverhub.Errorf(driverhub.EConflict, "device %s/%s is associated with instance %s: remove it from there first", product, name, d.Instance)
		}
		b, err := tx.BindingByName(ctx, i.ID, in.Driver)
		if err != nil {
			return notBound(err, instance, in.Driver)
		}
		if d.InstanceID == "" {
			n, err := tx.CountDevicesOfInstance(ctx, i.ID)
			if err != nil {
				return err
			}
			if n >= driverhub.MaxDevicesPerInstance {
				return driverhub.Errorf(driverhub.EConflict, "instance %s holds %d devices already, the most it may", instance, driverhub.MaxDevicesPerInstance)
			}
		}
		d.InstanceID, d.BindingID, d.Config = i.ID, b.ID, config
		d.Instance, d.Driver = i.Name, b.Driver
		d.UpdatedAt = s.timestamp()
		return tx.UpdateDevice(ctx, d)
	})
	return d, err
}

// DissociateDevice removes a device from an instance, dropping its device config.
func (s *Service) DissociateDevice(ctx context.Context, instance, product, name string) error {
	p, err := authorize(ctx, driverhub.RoleDeveloper)
	if err != nil {
		return err
	}
	return s.store.Update(ctx, func(tx driverhub.Tx) error {
		i, err := instanceByName(ctx, tx, p, instance)
		if err != nil {
			return err
		}
		d, err := deviceByName(ctx, tx, p, product, name)
		if err != nil {
			return err
		}
		if d.InstanceID != i.ID {
			return driverhub.Errorf(driverhub.ENotFound, "device %s/%s is not associated with instance %s", product, name, instance)
		}
		d.InstanceID, d.BindingID, d.Config = "", "", nil
		d.UpdatedAt = s.timestamp()
		return tx.UpdateDevice(ctx, d)
	})
}
