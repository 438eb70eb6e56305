package service

import (
	"context"

	"github.com/driverhub/driverhub"
)

// GetTenant shows the caller's tenant: its settings and its use of storage.
func (s *Service) GetTenant(ctx context.Context) (*driverhub.TenantView, error) {
	p, err := authorize(ctx, driverhub.RoleViewer)
	if err != nil {
		return nil, err
	}
	var out *driverhub.TenantView
	err = s.store.View(ctx, func(tx driverhub.Tx) error {
		out, err = s.tenantView(ctx, tx, p.TenantID)
		return err
	})
	return out, err
}

// UpdateTenant changes the caller's tenant (admins).
func (s *Service) UpdateTenant(ctx context.Context, in driverhub.TenantSettings) (*driverhub.TenantView, error) {
	p, err := authorize(ctx, driverhub.RoleAdmin)
	if err != nil {
		return nil, err
	}
	var out *driverhub.TenantView
	err = s.store.Update(ctx, func(tx driverhub.Tx) error {
		if in.RequireSignedDrivers != nil {
			if err := tx.SetRequireSignedDrivers(ctx, p.TenantID, *in.RequireSignedDrivers); err != nil {
				return err
			}
		}
		out, err = s.tenantView(ctx, tx, p.TenantID)
		return err
	})
	return out, err
}

func (s *Service) tenantView(ctx context.Context, tx driverhub.Tx, tenantID string) (*driverhub.TenantView, error) {
	t, err := tx.TenantByID(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	on, err := tx.RequireSignedDrivers(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	v := &driverhub.TenantView{Name: t.Name, RequireSignedDrivers: on}
	if s.quota > 0 {
		limit := s.quota
		v.Quota.LimitBytes = &limit
	}
	if v.Quota.UsedBytes, err = tx.TenantBlobUsage(ctx, tenantID); err != nil {
		return nil, err
	}
	return v, nil
}
