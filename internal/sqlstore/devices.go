package sqlstore

import (
	"context"
	"database/sql"

	"github.com/driverhub/driverhub"
)

// Devices are read with the names of their instance and bound driver.
const deviceColumns = `dv.id, dv.tenant_id, dv.product, dv.name, dv.description, dv.instance_id, dv.binding_id,
	i.name, b.driver_name, dv.config, dv.created_at, dv.updated_at`

const deviceFrom = ` FROM devices dv
	LEFT JOIN instances i ON i.id = dv.instance_id
	LEFT JOIN bindings b ON b.id = dv.binding_id`

func scanDevice(s scanner) (*driverhub.Device, error) {
	var d driverhub.Device
	var instanceID, bindingID, instance, driver, config sql.NullString
	var created, updated int64
	if err := s.Scan(&d.ID, &d.TenantID, &d.Product, &d.Name, &d.Description, &instanceID, &bindingID,
		&instance, &driver, &config, &created, &updated); err != nil {
		return nil, err
	}
	d.InstanceID, d.BindingID = instanceID.String, bindingID.String
	d.Instance, d.Driver = instance.String, driver.String
	if config.Valid {
		d.Config = []byte(config.String)
	}
	d.CreatedAt, d.UpdatedAt = fromDB(created), fromDB(updated)
	return &d, nil
}

// deviceConfig stores an absent (nil or empty) device config as NULL.
func deviceConfig(d *driverhub.Device) sql.NullString {
	return sql.NullString{String: string(d.Config), Valid: len(d.Config) > 0}
}

func (t *Tx) CreateDevice(ctx context.Context, d *driverhub.Device) error {
	_, err := t.exec(ctx, `INSERT INTO devices (id, tenant_id, product, name, sort_key, description,
		instance_id, binding_id, config, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		d.ID, d.TenantID, d.Product, d.Name, sortKey(d.Product, d.Name), d.Description,
		optString(d.InstanceID), optString(d.BindingID), deviceConfig(d), toDB(d.CreatedAt), toDB(d.UpdatedAt))
	return err
}

func (t *Tx) DeviceByName(ctx context.Context, tenantID, product, name string) (*driverhub.Device, error) {
	d, err := scanDevice(t.queryRow(ctx, `SELECT `+deviceColumns+deviceFrom+
		` WHERE dv.tenant_id = ? AND dv.product = ? AND dv.name = ?`, tenantID, product, name))
	return d, t.mapErr(err)
}

func (t *Tx) ListDevices(ctx context.Context, tenantID string, f driverhub.DeviceFilter, p driverhub.Page) (driverhub.List[*driverhub.Device], error) {
	where, args := "dv.tenant_id = ?", []any{tenantID}
	if f.InstanceID != "" {
		where += " AND dv.instance_id = ?"
		args = append(args, f.InstanceID)
	}
	return page(ctx, t, p, `SELECT `+deviceColumns+deviceFrom, where, args, "dv.sort_key", false,
		func(r *sql.Rows) (*driverhub.Device, string, error) {
			d, err := scanDevice(r)
			if err != nil {
				return nil, "", err
			}
			return d, sortKey(d.Product, d.Name), nil
		})
}

func (t *Tx) DevicesOfBinding(ctx context.Context, bindingID string) ([]*driverhub.Device, error) {
	return t.DevicesOfBindings(ctx, []string{bindingID})
}

func (t *Tx) DevicesOfBindings(ctx context.Context, bindingIDs []string) ([]*driverhub.Device, error) {
	return queryIn(ctx, t, scanDevice, `SELECT `+deviceColumns+deviceFrom+` WHERE dv.binding_id IN `, nil, bindingIDs,
		` ORDER BY dv.binding_id, dv.sort_key`)
}

func (t *Tx) CountDevicesOfInstance(ctx context.Context, instanceID string) (int, error) {
	var n int
	err := t.queryRow(ctx, `SELECT COUNT(*) FROM devices WHERE instance_id = ?`, instanceID).Scan(&n)
	return n, t.mapErr(err)
}

func (t *Tx) UpdateDevice(ctx context.Context, d *driverhub.Device) error {
	return mustAffect(t.exec(ctx, `UPDATE devices SET description = ?, instance_id = ?, binding_id = ?, config = ?, updated_at = ?
		WHERE id = ?`, d.Description, optString(d.InstanceID), optString(d.BindingID), deviceConfig(d), toDB(d.UpdatedAt), d.ID))
}

func (t *Tx) DeleteDevice(ctx context.Context, id string) error {
	return mustAffect(t.exec(ctx, `DELETE FROM devices WHERE id = ?`, id))
}
