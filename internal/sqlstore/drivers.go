package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/driverhub/driverhub"
)

const driverColumns = `id, tenant_id, name, protocol, runtime, cpu_arch, builtin, description, created_at, updated_at`

func scanDriver(s scanner) (*driverhub.Driver, error) {
	var d driverhub.Driver
	var created, updated int64
	if err := s.Scan(&d.ID, &d.TenantID, &d.Name, &d.Protocol, &d.Runtime, &d.CPUArch, &d.Builtin, &d.Description, &created, &updated); err != nil {
		return nil, err
	}
	d.CreatedAt, d.UpdatedAt = fromDB(created), fromDB(updated)
	return &d, nil
}

func (t *Tx) CreateDriver(ctx context.Context, d *driverhub.Driver) error {
	_, err := t.exec(ctx, `INSERT INTO drivers (`+driverColumns+`, search) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		d.ID, d.TenantID, d.Name, d.Protocol, d.Runtime, d.CPUArch, d.Builtin, d.Description, toDB(d.CreatedAt), toDB(d.UpdatedAt), searchText(d))
	return err
}

// searchText is what a driver search matches: name and description, folded
// to lower case here because SQL's LOWER folds only ASCII.
func searchText(d *driverhub.Driver) string {
	return strings.ToLower(d.Name + " " + d.Description)
}

func (t *Tx) DriverByName(ctx context.Context, tenantID, name string) (*driverhub.Driver, error) {
	d, err := scanDriver(t.queryRow(ctx, `SELECT `+driverColumns+` FROM drivers WHERE tenant_id = ? AND name = ?`, tenantID, name))
	return d, t.mapErr(err)
}

func (t *Tx) DriverByID(ctx context.Context, id string) (*driverhub.Driver, error) {
	d, err := scanDriver(t.queryRow(ctx, `SELECT `+driverColumns+` FROM drivers WHERE id = ?`, id))
	return d, t.mapErr(err)
}

// likePattern escapes LIKE's wildcards so that q matches as a plain substring.
func likePattern(q string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return "%" + r.Replace(strings.ToLower(q)) + "%"
}

func (t *Tx) ListDrivers(ctx context.Context, tenantID string, f driverhub.DriverFilter, p driverhub.Page) (driverhub.List[*driverhub.Driver], error) {
	where := []string{"tenant_id = ?"}
	args := []any{tenantID}
	if f.Protocol != "" {
		where = append(where, "protocol = ?")
		args = append(args, f.Protocol)
	}
	if f.Runtime != "" {
		where = append(where, "runtime = ?")
		args = append(args, f.Runtime)
	}
	if f.Q != "" {
		where = append(where, `search LIKE ? ESCAPE '\'`)
		args = append(args, likePattern(f.Q))
	}
	return page(ctx, t, p, `SELECT `+driverColumns+` FROM drivers`, strings.Join(where, " AND "), args, "name", false,
		func(r *sql.Rows) (*driverhub.Driver, string, error) {
			d, err := scanDriver(r)
			if err != nil {
				return nil, "", err
			}
			return d, d.Name, nil
		})
}

func (t *Tx) UpdateDriver(ctx context.Context, d *driverhub.Driver) error {
	return mustAffect(t.exec(ctx, `UPDATE drivers SET protocol = ?, runtime = ?, cpu_arch = ?, builtin = ?, description = ?, updated_at = ?, search = ? WHERE id = ?`,
		d.Protocol, d.Runtime, d.CPUArch, d.Builtin, d.Description, toDB(d.UpdatedAt), searchText(d), d.ID))
}

func (t *Tx) DeleteDriver(ctx context.Context, id string) error {
	return mustAffect(t.exec(ctx, `DELETE FROM drivers WHERE id = ?`, id))
}

const versionColumns = `v.id, v.driver_id, d.name, v.version, v.min_edge_version, v.description,
	v.package_filename, v.package_size, v.package_sha256, v.driver_config, v.container,
	v.driver_config_required, v.device_config_required, v.jvm_args, v.status, v.created_at, v.updated_at, v.published_at`

const versionFrom = ` FROM driver_versions v JOIN drivers d ON d.id = v.driver_id`

func scanVersion(s scanner) (*driverhub.DriverVersion, error) {
	var v driverhub.DriverVersion
	var pkgName, pkgSHA, cfg sql.NullString
	var pkgSize sql.NullInt64
	var container string
	var created, updated int64
	var published sql.NullInt64
	if err := s.Scan(&v.ID, &v.DriverID, &v.Driver, &v.Version, &v.MinEdgeVersion, &v.Description,
		&pkgName, &pkgSize, &pkgSHA, &cfg, &container,
		&v.ConfigChecks.DriverConfigRequired, &v.ConfigChecks.DeviceConfigRequired, &v.JVMArgs, &v.Status,
		&created, &updated, &published); err != nil {
		return nil, err
	}
	if pkgSHA.Valid {
		v.Package = &driverhub.PackageRef{Filename: pkgName.String, Size: pkgSize.Int64, SHA256: pkgSHA.String}
	}
	if cfg.Valid {
		v.DriverConfig = new(driverhub.DriverConfig)
		if err := json.Unmarshal([]byte(cfg.String), v.DriverConfig); err != nil {
			return nil, fmt.Errorf("version %s: driver_config: %w", v.ID, err)
		}
	}
	if err := json.Unmarshal([]byte(container), &v.Container); err != nil {
		return nil, fmt.Errorf("version %s: container: %w", v.ID, err)
	}
	v.CreatedAt, v.UpdatedAt = fromDB(created), fromDB(updated)
	v.PublishedAt = nullTimeFromDB(published)
	return &v, nil
}

// versionArgs are the stored forms of a version's mutable columns.
func versionArgs(v *driverhub.DriverVersion) ([]any, error) {
	var pkgName, pkgSHA, cfg, cfgFile sql.NullString
	var pkgSize sql.NullInt64
	if v.Package != nil {
		pkgName = sql.NullString{String: v.Package.Filename, Valid: true}
		pkgSHA = sql.NullString{String: v.Package.SHA256, Valid: true}
		pkgSize = sql.NullInt64{Int64: v.Package.Size, Valid: true}
	}
	if v.DriverConfig != nil {
		b, err := marshalJSON(v.DriverConfig)
		if err != nil {
			return nil, err
		}
		cfg = sql.NullString{String: string(b), Valid: true}
		if v.DriverConfig.File != nil {
			cfgFile = sql.NullString{String: v.DriverConfig.File.SHA256, Valid: true}
		}
	}
	container, err := marshalJSON(v.Container)
	if err != nil {
		return nil, err
	}
	return []any{v.MinEdgeVersion, v.Description, pkgName, pkgSize, pkgSHA, cfg, cfgFile, string(container),
		v.ConfigChecks.DriverConfigRequired, v.ConfigChecks.DeviceConfigRequired, v.JVMArgs, v.Status,
		toDB(v.UpdatedAt), nullTimeToDB(v.PublishedAt)}, nil
}

func (t *Tx) CreateVersion(ctx context.Context, v *driverhub.DriverVersion) error {
	args, err := versionArgs(v)
	if err != nil {
		return err
	}
	args = append([]any{v.ID, v.DriverID, v.Version, toDB(v.CreatedAt)}, args...)
	_, err = t.exec(ctx, `INSERT INTO driver_versions (id, driver_id, version, created_at,
		min_edge_version, description, package_filename, package_size, package_sha256, driver_config, config_file_sha256, container,
		driver_config_required, device_config_required, jvm_args, status, updated_at, published_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, args...)
	return err
}

func (t *Tx) UpdateVersion(ctx context.Context, v *driverhub.DriverVersion) error {
	args, err := versionArgs(v)
	if err != nil {
		return err
	}
	args = append(args, v.ID)
	return mustAffect(t.exec(ctx, `UPDATE driver_versions SET
		min_edge_version = ?, description = ?, package_filename = ?, package_size = ?, package_sha256 = ?, driver_config = ?,
		config_file_sha256 = ?, container = ?, driver_config_required = ?, device_config_required = ?, jvm_args = ?, status = ?,
		updated_at = ?, published_at = ? WHERE id = ?`, args...))
}

func (t *Tx) VersionByName(ctx context.Context, driverID, version string) (*driverhub.DriverVersion, error) {
	v, err := scanVersion(t.queryRow(ctx, `SELECT `+versionColumns+versionFrom+` WHERE v.driver_id = ? AND v.version = ?`, driverID, version))
	return v, t.mapErr(err)
}

func (t *Tx) LatestPublished(ctx context.Context, driverID string) (*driverhub.DriverVersion, error) {
	v, err := scanVersion(t.queryRow(ctx, `SELECT `+versionColumns+versionFrom+
		` WHERE v.driver_id = ? AND v.status = ? ORDER BY v.published_at DESC, v.id DESC LIMIT 1`, driverID, driverhub.StatusPublished))
	return v, t.mapErr(err)
}

func (t *Tx) ListVersions(ctx context.Context, driverID, status string, p driverhub.Page) (driverhub.List[*driverhub.DriverVersion], error) {
	where, args := "v.driver_id = ?", []any{driverID}
	if status != "" {
		where += " AND v.status = ?"
		args = append(args, status)
	}
	return page(ctx, t, p, `SELECT `+versionColumns+versionFrom, where, args, "v.id", true,
		func(r *sql.Rows) (*driverhub.DriverVersion, string, error) {
			v, err := scanVersion(r)
			if err != nil {
				return nil, "", err
			}
			return v, v.ID, nil
		})
}

func (t *Tx) CountVersions(ctx context.Context, driverID, status string) (int, error) {
	q, args := `SELECT COUNT(*) FROM driver_versions WHERE driver_id = ?`, []any{driverID}
	if status != "" {
		q += " AND status = ?"
		args = append(args, status)
	}
	var n int
	err := t.queryRow(ctx, q, args...).Scan(&n)
	return n, t.mapErr(err)
}

func (t *Tx) DeleteVersion(ctx context.Context, id string) error {
	return mustAffect(t.exec(ctx, `DELETE FROM driver_versions WHERE id = ?`, id))
}
