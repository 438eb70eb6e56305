package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"

	"github.com/driverhub/driverhub"
)

// Bindings are read with their driver's publisher and the number of
// devices associated with them.
const bindingColumns = `b.id, b.instance_id, b.driver_id, b.driver_name, p.name, d.tenant_id, b.version,
	b.config, b.runtime, (SELECT COUNT(*) FROM devices dv WHERE dv.binding_id = b.id), b.created_at, b.updated_at`

const bindingFrom = ` FROM bindings b
	JOIN drivers d ON d.id = b.driver_id
	JOIN tenants p ON p.id = d.tenant_id`

func scanBinding(s scanner) (*driverhub.Binding, error) {
	var b driverhub.Binding
	var config, runtime sql.NullString
	var created, updated int64
	if err := s.Scan(&b.ID, &b.InstanceID, &b.DriverID, &b.Driver, &b.Publisher, &b.PublisherID, &b.Version,
		&config, &runtime, &b.Devices, &created, &updated); err != nil {
		return nil, err
	}
	if config.Valid {
		b.Config = new(driverhub.DriverConfig)
		if err := json.Unmarshal([]byte(config.String), b.Config); err != nil {
			return nil, fmt.Errorf("binding %s: config: %w", b.ID, err)
		}
	}
	if runtime.Valid {
		b.Runtime = new(driverhub.DriverStatus)
		if err := json.Unmarshal([]byte(runtime.String), b.Runtime); err != nil {
			return nil, fmt.Errorf("binding %s: runtime: %w", b.ID, err)
		}
	}
	b.CreatedAt, b.UpdatedAt = fromDB(created), fromDB(updated)
	return &b, nil
}

// bindingArgs are the stored forms of a binding's mutable columns: driver
// id and name, version, config, the config file's digest and runtime.
func bindingArgs(b *driverhub.Binding) ([]any, error) {
	config, err := optJSON(b.Config, b.Config != nil)
	if err != nil {
		return nil, err
	}
	var configFile sql.NullString
	if b.Config != nil && b.Config.File != nil {
		configFile = optString(b.Config.File.SHA256)
	}
	var runtime sql.NullString
	if b.Runtime != nil {
		rt := *b.Runtime
		rt.ReportedAt = storedTime(rt.ReportedAt)
		rt.Stale = false // computed when read
		if runtime, err = optJSON(rt, true); err != nil {
			return nil, err
		}
	}
	return []any{b.DriverID, b.Driver, b.Version, config, configFile, runtime, toDB(b.UpdatedAt)}, nil
}

// CreateBinding stores b. Its publisher is the driver's tenant, and its
// Devices count is derived: neither is stored.
func (t *Tx) CreateBinding(ctx context.Context, b *driverhub.Binding) error {
	args, err := bindingArgs(b)
	if err != nil {
		return err
	}
	args = append([]any{b.ID, b.InstanceID, toDB(b.CreatedAt)}, args...)
	_, err = t.exec(ctx, `INSERT INTO bindings (id, instance_id, created_at,
		driver_id, driver_name, version, config, config_file_sha256, runtime, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, args...)
	return err
}

// BindingByName returns a binding, with Devices counted as ListBindings does.
func (t *Tx) BindingByName(ctx context.Context, instanceID, driver string) (*driverhub.Binding, error) {
	b, err := scanBinding(t.queryRow(ctx, `SELECT `+bindingColumns+bindingFrom+
		` WHERE b.instance_id = ? AND b.driver_name = ?`, instanceID, driver))
	return b, t.mapErr(err)
}

func (t *Tx) ListBindings(ctx context.Context, instanceID string) ([]*driverhub.Binding, error) {
	return t.BindingsOfInstances(ctx, []string{instanceID})
}

func (t *Tx) BindingsOfInstances(ctx context.Context, instanceIDs []string) ([]*driverhub.Binding, error) {
	return queryIn(ctx, t, scanBinding, `SELECT `+bindingColumns+bindingFrom+` WHERE b.instance_id IN `, nil, instanceIDs,
		` ORDER BY b.instance_id, b.driver_name`)
}

// UpdateBinding writes driver (id and name), version, config and runtime;
// the publisher follows from the driver.
func (t *Tx) UpdateBinding(ctx context.Context, b *driverhub.Binding) error {
	args, err := bindingArgs(b)
	if err != nil {
		return err
	}
	return mustAffect(t.exec(ctx, `UPDATE bindings SET driver_id = ?, driver_name = ?, version = ?, config = ?,
		config_file_sha256 = ?, runtime = ?, updated_at = ? WHERE id = ?`, append(args, b.ID)...))
}

// DeleteBinding deletes a binding and its driver logs. Devices associated
// with it must be moved first: the foreign key refuses otherwise.
func (t *Tx) DeleteBinding(ctx context.Context, id string) error {
	if err := t.DeleteDriverLogs(ctx, id); err != nil {
		return err
	}
	return mustAffect(t.exec(ctx, `DELETE FROM bindings WHERE id = ?`, id))
}

func (t *Tx) CountBindingsOfDriver(ctx context.Context, driverID string) (int, error) {
	var n int
	err := t.queryRow(ctx, `SELECT COUNT(*) FROM bindings WHERE driver_id = ?`, driverID).Scan(&n)
	return n, t.mapErr(err)
}
