package sqlstore

import (
	"context"
	"database/sql"

	"github.com/driverhub/driverhub"
)

// Listings are read with their driver, its publisher, its newest published
// version and whether the acquirer (the first parameter) acquired it.
const listingSelect = `SELECT d.tenant_id, p.name, l.driver_id, d.name, l.title, l.summary,
	d.protocol, d.runtime, d.cpu_arch, d.builtin,
	COALESCE((SELECT v.version FROM driver_versions v
		WHERE v.driver_id = l.driver_id AND v.status = '` + driverhub.StatusPublished + `'
		ORDER BY v.published_at DESC, v.id DESC LIMIT 1), ''),
	l.listed_at,
	EXISTS (SELECT 1 FROM acquisitions a WHERE a.tenant_id = ? AND a.driver_id = l.driver_id)
	FROM listings l
	JOIN drivers d ON d.id = l.driver_id
	JOIN tenants p ON p.id = d.tenant_id`

func scanListing(s scanner) (*driverhub.Listing, error) {
	var l driverhub.Listing
	var listed int64
	if err := s.Scan(&l.PublisherID, &l.Publisher, &l.DriverID, &l.Driver, &l.Title, &l.Summary,
		&l.Protocol, &l.Runtime, &l.CPUArch, &l.Builtin, &l.LatestVersion, &listed, &l.Acquired); err != nil {
		return nil, err
	}
	l.ListedAt = fromDB(listed)
	return &l, nil
}

// PutListing creates or replaces the title, summary and listing time of
// l.DriverID's listing. It is ErrNotFound when the driver does not exist.
func (t *Tx) PutListing(ctx context.Context, l *driverhub.Listing) error {
	// The SELECT's WHERE keeps SQLite's parser from reading ON CONFLICT as
	// part of a join; the CAST gives PostgreSQL the parameter's type, which
	// it does not take from the target column in INSERT … SELECT.
	return mustAffect(t.exec(ctx, `INSERT INTO listings (driver_id, title, summary, sort_key, listed_at)
		SELECT d.id, ?, ?, `+sortKeySQL("p.name", "d.name")+`, CAST(? AS BIGINT)
		FROM drivers d JOIN tenants p ON p.id = d.tenant_id WHERE d.id = ?
		ON CONFLICT (driver_id) DO UPDATE SET title = excluded.title, summary = excluded.summary, listed_at = excluded.listed_at`,
		l.Title, l.Summary, toDB(l.ListedAt), l.DriverID))
}

// ListingOf returns a driver's listing, with Acquired false.
func (t *Tx) ListingOf(ctx context.Context, driverID string) (*driverhub.Listing, error) {
	l, err := scanListing(t.queryRow(ctx, listingSelect+` WHERE l.driver_id = ?`, "", driverID))
	return l, t.mapErr(err)
}

func (t *Tx) DeleteListing(ctx context.Context, driverID string) error {
	return mustAffect(t.exec(ctx, `DELETE FROM listings WHERE driver_id = ?`, driverID))
}

func (t *Tx) ListingByName(ctx context.Context, publisher, driver, acquirerID string) (*driverhub.Listing, error) {
	l, err := scanListing(t.queryRow(ctx, listingSelect+` WHERE p.name = ? AND d.name = ?`, acquirerID, publisher, driver))
	return l, t.mapErr(err)
}

func (t *Tx) ListListings(ctx context.Context, acquirerID string, p driverhub.Page) (driverhub.List[*driverhub.Listing], error) {
	return page(ctx, t, p, listingSelect, `1 = 1`, []any{acquirerID}, "l.sort_key", false,
		func(r *sql.Rows) (*driverhub.Listing, string, error) {
			l, err := scanListing(r)
			if err != nil {
				return nil, "", err
			}
			return l, sortKey(l.Publisher, l.Driver), nil
		})
}

const acquisitionColumns = `a.tenant_id, a.driver_id, p.name, d.name, a.acquired_at`

const acquisitionFrom = ` FROM acquisitions a
	JOIN drivers d ON d.id = a.driver_id
	JOIN tenants p ON p.id = d.tenant_id`

func scanAcquisition(s scanner) (*driverhub.Acquisition, error) {
	var a driverhub.Acquisition
	var acquired int64
	if err := s.Scan(&a.TenantID, &a.DriverID, &a.Publisher, &a.Driver, &acquired); err != nil {
		return nil, err
	}
	a.AcquiredAt = fromDB(acquired)
	return &a, nil
}

// CreateAcquisition records that a.TenantID acquired a.DriverID:
// ErrConflict when it already has, ErrNotFound when the driver does not exist.
func (t *Tx) CreateAcquisition(ctx context.Context, a *driverhub.Acquisition) error {
	return mustAffect(t.exec(ctx, `INSERT INTO acquisitions (tenant_id, driver_id, sort_key, acquired_at)
		SELECT ?, d.id, `+sortKeySQL("p.name", "d.name")+`, CAST(? AS BIGINT)
		FROM drivers d JOIN tenants p ON p.id = d.tenant_id WHERE d.id = ?`,
		a.TenantID, toDB(a.AcquiredAt), a.DriverID))
}

func (t *Tx) AcquisitionOf(ctx context.Context, tenantID, driverID string) (*driverhub.Acquisition, error) {
	a, err := scanAcquisition(t.queryRow(ctx, `SELECT `+acquisitionColumns+acquisitionFrom+
		` WHERE a.tenant_id = ? AND a.driver_id = ?`, tenantID, driverID))
	return a, t.mapErr(err)
}

// ListAcquisitions lists a tenant's acquisitions by publisher, then driver.
func (t *Tx) ListAcquisitions(ctx context.Context, tenantID string, p driverhub.Page) (driverhub.List[*driverhub.Acquisition], error) {
	return page(ctx, t, p, `SELECT `+acquisitionColumns+acquisitionFrom, `a.tenant_id = ?`, []any{tenantID}, "a.sort_key", false,
		func(r *sql.Rows) (*driverhub.Acquisition, string, error) {
			a, err := scanAcquisition(r)
			if err != nil {
				return nil, "", err
			}
			return a, sortKey(a.Publisher, a.Driver), nil
		})
}
