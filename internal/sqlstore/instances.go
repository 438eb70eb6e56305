package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/driverhub/driverhub"
)

// sortKey joins two names into one key whose order is the order of the
// pair: the space sorts below every character a name may hold.
func sortKey(a, b string) string { return a + " " + b }

// sortKeySQL is sortKey in SQL, over two expressions.
func sortKeySQL(a, b string) string { return a + ` || ' ' || ` + b }

// optString stores "" as NULL.
func optString(s string) sql.NullString { return sql.NullString{String: s, Valid: s != ""} }

// optJSON stores v as JSON text, or NULL when present is false.
func optJSON(v any, present bool) (sql.NullString, error) {
	if !present {
		return sql.NullString{}, nil
	}
	b, err := marshalJSON(v)
	if err != nil {
		return sql.NullString{}, err
	}
	return sql.NullString{String: string(b), Valid: true}, nil
}

// storedTime is t as the store keeps it: UTC, whole microseconds. It is
// applied to times kept inside JSON, so that they read back as the times
// kept in columns do. The zero time stays zero.
func storedTime(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return fromDB(toDB(t))
}

const instanceColumns = `i.id, i.tenant_id, i.name, i.description, i.tags, i.secret_hash,
	i.last_seen_at, i.edge_version, i.arch, i.builtin_drivers, i.capabilities, i.runtime_versions,
	i.current_deployment_id, i.created_at, i.updated_at`

func scanInstance(s scanner) (*driverhub.Instance, error) {
	var i driverhub.Instance
	var tags string
	var lastSeen sql.NullInt64
	var builtins, capabilities, runtimes, current sql.NullString
	var created, updated int64
	if err := s.Scan(&i.ID, &i.TenantID, &i.Name, &i.Description, &tags, &i.SecretHash,
		&lastSeen, &i.Gateway.EdgeVersion, &i.Gateway.Arch, &builtins, &capabilities, &runtimes,
		&current, &created, &updated); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(tags), &i.Tags); err != nil {
		return nil, fmt.Errorf("instance %s: tags: %w", i.ID, err)
	}
	i.Gateway.LastSeenAt = nullTimeFromDB(lastSeen)
	if builtins.Valid {
		i.Gateway.BuiltinsReported = true
		if err := json.Unmarshal([]byte(builtins.String), &i.Gateway.BuiltinDrivers); err != nil {
			return nil, fmt.Errorf("instance %s: builtin_drivers: %w", i.ID, err)
		}
	}
	if capabilities.Valid {
		i.Gateway.Capabilities = new(driverhub.Capabilities)
		if err := json.Unmarshal([]byte(capabilities.String), i.Gateway.Capabilities); err != nil {
			return nil, fmt.Errorf("instance %s: capabilities: %w", i.ID, err)
		}
	}
	if runtimes.Valid {
		if err := json.Unmarshal([]byte(runtimes.String), &i.Gateway.RuntimeVersions); err != nil {
			return nil, fmt.Errorf("instance %s: runtime_versions: %w", i.ID, err)
		}
	}
	i.CurrentDeploymentID = current.String
	i.CreatedAt, i.UpdatedAt = fromDB(created), fromDB(updated)
	return &i, nil
}

// gatewayArgs are the stored forms of the observed gateway state.
func gatewayArgs(g driverhub.Gateway) ([]any, error) {
	builtins, err := optJSON(g.BuiltinDrivers, g.BuiltinsReported)
	if err != nil {
		return nil, err
	}
	capabilities, err := optJSON(g.Capabilities, g.Capabilities != nil)
	if err != nil {
		return nil, err
	}
	runtimes, err := optJSON(g.RuntimeVersions, len(g.RuntimeVersions) > 0)
	if err != nil {
		return nil, err
	}
	return []any{nullTimeToDB(g.LastSeenAt), g.EdgeVersion, g.Arch, builtins, capabilities, runtimes}, nil
}

func (t *Tx) CreateInstance(ctx context.Context, i *driverhub.Instance) error {
	tags, err := marshalJSON(i.Tags)
	if err != nil {
		return err
	}
	gw, err := gatewayArgs(i.Gateway)
	if err != nil {
		return err
	}
	args := append([]any{i.ID, i.TenantID, i.Name, i.Description, string(tags), i.SecretHash}, gw...)
	args = append(args, optString(i.CurrentDeploymentID), toDB(i.CreatedAt), toDB(i.UpdatedAt))
	_, err = t.exec(ctx, `INSERT INTO instances (id, tenant_id, name, description, tags, secret_hash,
		last_seen_at, edge_version, arch, builtin_drivers, capabilities, runtime_versions,
		current_deployment_id, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, args...)
	return err
}

func (t *Tx) instance(ctx context.Context, where string, args ...any) (*driverhub.Instance, error) {
	i, err := scanInstance(t.queryRow(ctx, `SELECT `+instanceColumns+` FROM instances i WHERE `+where, args...))
	return i, t.mapErr(err)
}

func (t *Tx) InstancesByIDs(ctx context.Context, ids []string) ([]*driverhub.Instance, error) {
	return queryIn(ctx, t, scanInstance, `SELECT `+instanceColumns+` FROM instances i WHERE i.id IN `, nil, ids, ``)
}

func (t *Tx) InstanceByName(ctx context.Context, tenantID, name string) (*driverhub.Instance, error) {
	return t.instance(ctx, "i.tenant_id = ? AND i.name = ?", tenantID, name)
}

func (t *Tx) InstanceByID(ctx context.Context, id string) (*driverhub.Instance, error) {
	return t.instance(ctx, "i.id = ?", id)
}

func (t *Tx) InstanceBySecretHash(ctx context.Context, hash string) (*driverhub.Instance, error) {
	return t.instance(ctx, "i.secret_hash = ?", hash)
}

func (t *Tx) CurrentDeploymentOf(ctx context.Context, instanceID string) (string, error) {
	var id string
	err := t.queryRow(ctx, `SELECT COALESCE(current_deployment_id, '') FROM instances WHERE id = ?`, instanceID).Scan(&id)
	return id, t.mapErr(err)
}

func (t *Tx) ListInstances(ctx context.Context, tenantID string, p driverhub.Page) (driverhub.List[*driverhub.Instance], error) {
	return page(ctx, t, p, `SELECT `+instanceColumns+` FROM instances i`, `i.tenant_id = ?`, []any{tenantID}, "i.name", false,
		func(r *sql.Rows) (*driverhub.Instance, string, error) {
			i, err := scanInstance(r)
			if err != nil {
				return nil, "", err
			}
			return i, i.Name, nil
		})
}

func (t *Tx) UpdateInstance(ctx context.Context, i *driverhub.Instance) error {
	tags, err := marshalJSON(i.Tags)
	if err != nil {
		return err
	}
	return mustAffect(t.exec(ctx, `UPDATE instances SET name = ?, description = ?, tags = ?, secret_hash = ?,
		current_deployment_id = ?, updated_at = ? WHERE id = ?`,
		i.Name, i.Description, string(tags), i.SecretHash, optString(i.CurrentDeploymentID), toDB(i.UpdatedAt), i.ID))
}

func (t *Tx) UpdateGateway(ctx context.Context, instanceID string, g driverhub.Gateway) error {
	args, err := gatewayArgs(g)
	if err != nil {
		return err
	}
	return mustAffect(t.exec(ctx, `UPDATE instances SET last_seen_at = ?, edge_version = ?, arch = ?, builtin_drivers = ?,
		capabilities = ?, runtime_versions = ? WHERE id = ?`, append(args, instanceID)...))
}

// touchGatewaysQuery writes one gateway's sync time, forward only.
const touchGatewaysQuery = `UPDATE instances SET last_seen_at = ? WHERE id = ? AND (last_seen_at IS NULL OR last_seen_at < ?)`

func (t *Tx) TouchGateways(ctx context.Context, syncs []driverhub.GatewaySync) error {
	if t.d.TouchGatewaysQuery != "" && len(syncs) > 0 {
		ids, times := make([]string, len(syncs)), make([]int64, len(syncs))
		for k, g := range syncs {
			ids[k], times[k] = g.InstanceID, toDB(g.At)
		}
		_, err := t.exec(ctx, t.d.TouchGatewaysQuery, ids, times)
		return err
	}
	for _, g := range syncs {
		at := toDB(g.At)
		if _, err := t.exec(ctx, touchGatewaysQuery, at, g.InstanceID, at); err != nil {
			return err
		}
	}
	return nil
}

// DeleteInstance deletes the instance with its deployment history. Its
// bindings and devices must be gone first: the foreign keys refuse otherwise.
func (t *Tx) DeleteInstance(ctx context.Context, id string) error {
	if _, err := t.exec(ctx, `DELETE FROM deployment_blobs WHERE instance_id = ?`, id); err != nil {
		return err
	}
	if _, err := t.exec(ctx, `DELETE FROM deployments WHERE instance_id = ?`, id); err != nil {
		return err
	}
	return mustAffect(t.exec(ctx, `DELETE FROM instances WHERE id = ?`, id))
}
