package service

import (
	"context"
	"fmt"
	"time"

	"github.com/driverhub/driverhub"
)

// CreateInstance creates an edge instance and its gateway secret, which
// appears only in this answer.
func (s *Service) CreateInstance(ctx context.Context, in driverhub.InstanceInput) (*driverhub.Instance, error) {
	p, err := authorize(ctx, driverhub.RoleDeveloper)
	if err != nil {
		return nil, err
	}
	var l driverhub.FieldErrors
	l.Add(normalInstanceInput(&in))
	now := s.timestamp()
	secret := driverhub.NewSecret(driverhub.GatewaySecretPrefix, 32)
	i := &driverhub.Instance{ID: driverhub.NewID(), TenantID: p.TenantID, Tags: map[string]string{},
		SecretHash: hashSecret(secret), CreatedAt: now, UpdatedAt: now}
	set(&i.Name, in.Name)
	applyInstanceInput(i, in)
	if in.Name == nil {
		l.Add(driverhub.Invalid("name", "is required"))
	}
	l.AppendNew(i.Check())
	if err := l.Err(); err != nil {
		return nil, err
	}
	err = s.store.Update(ctx, func(tx driverhub.Tx) error {
		return conflict(tx.CreateInstance(ctx, i), "name", "an instance named %q exists already", i.Name)
	})
	if err != nil {
		return nil, err
	}
	s.present(i, nil)
	i.GatewaySecret = secret
	return i, nil
}

func applyInstanceInput(i *driverhub.Instance, in driverhub.InstanceInput) {
	set(&i.Description, in.Description)
	if in.Tags != nil {
		i.Tags = *in.Tags
		if i.Tags == nil {
			i.Tags = map[string]string{}
		}
	}
}

// online reports whether a gateway last seen at last (s.lastSeen) synced
// within three poll periods.
func (s *Service) online(last *time.Time) bool {
	return last != nil && s.now().Sub(*last) <= 3*s.poll
}

// present fills the fields of an instance's view that are derived.
func (s *Service) present(i *driverhub.Instance, current *driverhub.Deployment) {
	g := &i.Gateway
	g.LastSeenAt = s.lastSeen(i)
	g.Online = s.online(g.LastSeenAt)
	if g.BuiltinDrivers == nil {
		g.BuiltinDrivers = []string{}
	}
	if i.Tags == nil {
		i.Tags = map[string]string{}
	}
	i.CurrentDeployment = current
}

func instanceByName(ctx context.Context, tx driverhub.Tx, p *driverhub.Principal, name string) (*driverhub.Instance, error) {
	i, err := tx.InstanceByName(ctx, p.TenantID, name)
	return i, notFound(err, "instance", name)
}

// loadInstance returns an instance with its view filled in.
func (s *Service) loadInstance(ctx context.Context, tx driverhub.Tx, p *driverhub.Principal, name string) (*driverhub.Instance, error) {
	i, err := instanceByName(ctx, tx, p, name)
	if err != nil {
		return nil, err
	}
	var current *driverhub.Deployment
	if i.CurrentDeploymentID != "" {
		if current, err = tx.DeploymentProgress(ctx, i.ID, i.CurrentDeploymentID); err != nil {
			return nil, fmt.Errorf("current deployment of %s: %w", name, err)
		}
	}
	s.present(i, current)
	return i, nil
}

// GetInstance returns an instance with its gateway's state and current deployment.
func (s *Service) GetInstance(ctx context.Context, name string) (*driverhub.Instance, error) {
	p, err := authorize(ctx, driverhub.RoleViewer)
	if err != nil {
		return nil, err
	}
	var i *driverhub.Instance
	err = s.store.View(ctx, func(tx driverhub.Tx) error {
		i, err = s.loadInstance(ctx, tx, p, name)
		return err
	})
	return i, err
}

// ListInstances lists the caller's instances by name.
func (s *Service) ListInstances(ctx context.Context, page driverhub.Page) (driverhub.List[*driverhub.Instance], error) {
	var out driverhub.List[*driverhub.Instance]
	p, err := authorize(ctx, driverhub.RoleViewer)
	if err != nil {
		return out, err
	}
	err = s.store.View(ctx, func(tx driverhub.Tx) error {
		if out, err = tx.ListInstances(ctx, p.TenantID, page); err != nil {
			return err
		}
		for _, i := range out.Items {
			var current *driverhub.Deployment
			if i.CurrentDeploymentID != "" {
				if current, err = tx.DeploymentProgress(ctx, i.ID, i.CurrentDeploymentID); err != nil {
					return err
				}
			}
			s.present(i, current)
		}
		return nil
	})
	return out, err
}

// UpdateInstance changes an instance's description and tags; its name is
// what its gateway and people know it by, and never changes.
func (s *Service) UpdateInstance(ctx context.Context, name string, in driverhub.InstanceInput) (*driverhub.Instance, error) {
	p, err := authorize(ctx, driverhub.RoleDeveloper)
	if err != nil {
		return nil, err
	}
	var l driverhub.FieldErrors
	l.Add(normalInstanceInput(&in))
	if in.Name != nil && *in.Name != name {
		l.Add(driverhub.Invalid("name", "cannot be changed"))
	}
	var i *driverhub.Instance
	err = s.store.Update(ctx, func(tx driverhub.Tx) error {
		if i, err = s.loadInstance(ctx, tx, p, name); err != nil {
			return err
		}
		applyInstanceInput(i, in)
		l.AppendNew(i.Check())
		if err := l.Err(); err != nil {
			return err
		}
		i.UpdatedAt = s.timestamp()
		return tx.UpdateInstance(ctx, i)
	})
	return i, err
}

// DeleteInstance deletes an instance that has no bound drivers or devices.
func (s *Service) DeleteInstance(ctx context.Context, name string) error {
	p, err := authorize(ctx, driverhub.RoleDeveloper)
	if err != nil {
		return err
	}
	return s.store.Update(ctx, func(tx driverhub.Tx) error {
		i, err := instanceByName(ctx, tx, p, name)
		if err != nil {
			return err
		}
		bindings, err := tx.ListBindings(ctx, i.ID)
		if err != nil {
			return err
		}
		devices, err := tx.CountDevicesOfInstance(ctx, i.ID)
		if err != nil {
			return err
		}
		if len(bindings) > 0 || devices > 0 {
			return driverhub.Errorf(driverhub.EConflict, "instance %s still has %d bound drivers and %d devices: unbind them first", name, len(bindings), devices)
		}
		s.gateways.forget(i.ID)
		return tx.DeleteInstance(ctx, i.ID)
	})
}

// RotateGatewaySecret replaces an instance's gateway secret; the old one
// stops working at once. The new one appears only in this answer.
func (s *Service) RotateGatewaySecret(ctx context.Context, name string) (*driverhub.Instance, error) {
	p, err := authorize(ctx, driverhub.RoleDeveloper)
	if err != nil {
		return nil, err
	}
	secret := driverhub.NewSecret(driverhub.GatewaySecretPrefix, 32)
	var i *driverhub.Instance
	err = s.store.Update(ctx, func(tx driverhub.Tx) error {
		if i, err = s.loadInstance(ctx, tx, p, name); err != nil {
			return err
		}
		i.SecretHash = hashSecret(secret)
		i.UpdatedAt = s.timestamp()
		return tx.UpdateInstance(ctx, i)
	})
	if err != nil {
		return nil, err
	}
	s.gateways.forget(i.ID) // the old secret stops working at once
	i.GatewaySecret = secret
	return i, nil
}
