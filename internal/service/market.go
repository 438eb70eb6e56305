package service

import (
	"context"
	"errors"

	"github.com/driverhub/driverhub"
	"github.com/driverhub/driverhub/internal/text"
)

// PutListing lists one of the caller's drivers, or changes its listing. The
// driver needs a published version: the marketplace shows nothing else.
func (s *Service) PutListing(ctx context.Context, driver string, in driverhub.ListingInput) (*driverhub.Listing, error) {
	p, err := authorize(ctx, driverhub.RoleDeveloper)
	if err != nil {
		return nil, err
	}
	text.Normalize(&in.Title, &in.Summary)
	if err := in.Check().Err(); err != nil {
		return nil, err
	}
	var l *driverhub.Listing
	err = s.store.Update(ctx, func(tx driverhub.Tx) error {
		d, err := driverByName(ctx, tx, p, driver)
		if err != nil {
			return err
		}
		n, err := tx.CountVersions(ctx, d.ID, driverhub.StatusPublished)
		if err != nil {
			return err
		}
		if n == 0 {
			e := driverhub.Errorf(driverhub.EFailedPrecondition, "publish a version before listing the driver")
			e.Problems = []driverhub.Problem{driverhub.NewProblem("driver "+driver, driverhub.ProblemNoPublishedVersion,
				"the marketplace shows only published versions, and %s has none", driver)}
			return e
		}
		old, err := tx.ListingOf(ctx, d.ID)
		listed := s.timestamp()
		if err == nil {
			listed = old.ListedAt
		} else if !errors.Is(err, driverhub.ErrNotFound) {
			return err
		}
		if err := tx.PutListing(ctx, &driverhub.Listing{DriverID: d.ID, Title: in.Title, Summary: in.Summary, ListedAt: listed}); err != nil {
			return err
		}
		l, err = tx.ListingByName(ctx, p.TenantName, driver, p.TenantID)
		return err
	})
	return l, err
}

// DeleteListing unlists a driver: no new acquisitions; existing ones stay.
func (s *Service) DeleteListing(ctx context.Context, driver string) error {
	p, err := authorize(ctx, driverhub.RoleDeveloper)
	if err != nil {
		return err
	}
	return s.store.Update(ctx, func(tx driverhub.Tx) error {
		d, err := driverByName(ctx, tx, p, driver)
		if err != nil {
			return err
		}
		return notFound(tx.DeleteListing(ctx, d.ID), "listing of driver", driver)
	})
}

// ListMarket lists every tenant's listings.
func (s *Service) ListMarket(ctx context.Context, page driverhub.Page) (driverhub.List[*driverhub.Listing], error) {
	var out driverhub.List[*driverhub.Listing]
	p, err := authorize(ctx, driverhub.RoleViewer)
	if err != nil {
		return out, err
	}
	err = s.store.View(ctx, func(tx driverhub.Tx) error {
		out, err = tx.ListListings(ctx, p.TenantID, page)
		return err
	})
	return out, err
}

// GetMarketDriver returns a listing with its published versions.
func (s *Service) GetMarketDriver(ctx context.Context, publisher, driver string) (*driverhub.MarketDriver, error) {
	p, err := authorize(ctx, driverhub.RoleViewer)
	if err != nil {
		return nil, err
	}
	var out *driverhub.MarketDriver
	err = s.store.View(ctx, func(tx driverhub.Tx) error {
		l, err := visibleListing(ctx, tx, p, publisher, driver)
		if err != nil {
			return err
		}
		versions, err := tx.ListVersions(ctx, l.DriverID, driverhub.StatusPublished, driverhub.Page{Limit: driverhub.MaxPageLimit})
		if err != nil {
			return err
		}
		out = &driverhub.MarketDriver{Listing: *l, Versions: versions.Items}
		return nil
	})
	return out, err
}

// visibleListing finds a listing the caller may see: listed now, or
// unlisted since but acquired by the caller.
func visibleListing(ctx context.Context, tx driverhub.Tx, p *driverhub.Principal, publisher, driver string) (*driverhub.Listing, error) {
	l, err := tx.ListingByName(ctx, publisher, driver, p.TenantID)
	if err == nil {
		return l, nil
	}
	if !errors.Is(err, driverhub.ErrNotFound) {
		return nil, err
	}
	missing := driverhub.NotFound("marketplace driver", publisher+"/"+driver)
	t, err := tx.TenantByName(ctx, publisher)
	if err != nil {
		return nil, notFoundAs(err, missing)
	}
	d, err := tx.DriverByName(ctx, t.ID, driver)
	if err != nil {
		return nil, notFoundAs(err, missing)
	}
	a, err := tx.AcquisitionOf(ctx, p.TenantID, d.ID)
	if err != nil {
		return nil, notFoundAs(err, missing)
	}
	latest := ""
	if v, err := tx.LatestPublished(ctx, d.ID); err == nil {
		latest = v.Version
	}
	return &driverhub.Listing{PublisherID: t.ID, Publisher: t.Name, DriverID: d.ID, Driver: d.Name, Protocol: d.Protocol,
		Runtime: d.Runtime, CPUArch: d.CPUArch, Builtin: d.Builtin, LatestVersion: latest, ListedAt: a.AcquiredAt, Acquired: true}, nil
}

func notFoundAs(err error, nf error) error {
	if errors.Is(err, driverhub.ErrNotFound) {
		return nf
	}
	return err
}

// Acquire takes a listed driver; acquiring it again changes nothing.
func (s *Service) Acquire(ctx context.Context, publisher, driver string) (*driverhub.Acquisition, error) {
	p, err := authorize(ctx, driverhub.RoleDeveloper)
	if err != nil {
		return nil, err
	}
	if publisher == p.TenantName {
		return nil, driverhub.Invalid("publisher", "%s is your own driver: bind it directly", driver)
	}
	var a *driverhub.Acquisition
	err = s.store.Update(ctx, func(tx driverhub.Tx) error {
		l, err := visibleListing(ctx, tx, p, publisher, driver)
		if err != nil {
			return err
		}
		if a, err = tx.AcquisitionOf(ctx, p.TenantID, l.DriverID); err == nil {
			return nil
		} else if !errors.Is(err, driverhub.ErrNotFound) {
			return err
		}
		a = &driverhub.Acquisition{TenantID: p.TenantID, DriverID: l.DriverID, Publisher: l.Publisher, Driver: l.Driver, AcquiredAt: s.timestamp()}
		return tx.CreateAcquisition(ctx, a)
	})
	return a, err
}

// ListAcquisitions lists the drivers the caller acquired.
func (s *Service) ListAcquisitions(ctx context.Context, page driverhub.Page) (driverhub.List[*driverhub.Acquisition], error) {
	var out driverhub.List[*driverhub.Acquisition]
	p, err := authorize(ctx, driverhub.RoleViewer)
	if err != nil {
		return out, err
	}
	err = s.store.View(ctx, func(tx driverhub.Tx) error {
		out, err = tx.ListAcquisitions(ctx, p.TenantID, page)
		return err
	})
	return out, err
}

// OpenMarketPackage opens a published version's package of a driver the
// caller may see in the marketplace.
func (s *Service) OpenMarketPackage(ctx context.Context, publisher, driver, version string) (*driverhub.Download, error) {
	p, err := authorize(ctx, driverhub.RoleViewer)
	if err != nil {
		return nil, err
	}
	var v *driverhub.DriverVersion
	err = s.store.View(ctx, func(tx driverhub.Tx) error {
		l, err := visibleListing(ctx, tx, p, publisher, driver)
		if err != nil {
			return err
		}
		v, err = tx.VersionByName(ctx, l.DriverID, version)
		if err == nil && !v.Published() {
			err = driverhub.ErrNotFound
		}
		return notFound(err, "version", driver+"/"+version)
	})
	if err != nil {
		return nil, err
	}
	if v.Package == nil {
		return nil, driverhub.Errorf(driverhub.ENotFound, "version %s of %s has no package (a built-in driver)", version, driver)
	}
	return s.openBlob(ctx, v.Package.SHA256, driver+"-"+version+".zip", v.UpdatedAt)
}
