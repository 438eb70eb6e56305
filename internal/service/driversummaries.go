package service

import (
	"context"
	"errors"

	"github.com/driverhub/driverhub"
)

// ListDriverSummaries is ListDrivers with what a list of drivers shows of
// each: its newest version (and status), its newest published version, and
// whether it is in the marketplace, read in one transaction.
func (s *Service) ListDriverSummaries(ctx context.Context, f driverhub.DriverFilter, page driverhub.Page) (driverhub.List[*driverhub.DriverSummary], error) {
	out := driverhub.List[*driverhub.DriverSummary]{Items: []*driverhub.DriverSummary{}}
	drivers, err := s.ListDrivers(ctx, f, page)
	if err != nil {
		return out, err
	}
	out.NextCursor = drivers.NextCursor
	err = s.store.View(ctx, func(tx driverhub.Tx) error {
		for _, d := range drivers.Items {
			sum, err := summarize(ctx, tx, d)
			if err != nil {
				return err
			}
			out.Items = append(out.Items, sum)
		}
		return nil
	})
	return out, err
}

func summarize(ctx context.Context, tx driverhub.Tx, d *driverhub.Driver) (*driverhub.DriverSummary, error) {
	sum := &driverhub.DriverSummary{Driver: *d}
	newest, err := tx.ListVersions(ctx, d.ID, "", driverhub.Page{Limit: 1})
	if err != nil {
		return nil, err
	}
	if len(newest.Items) > 0 {
		sum.Latest = newest.Items[0]
	}
	switch v, err := tx.LatestPublished(ctx, d.ID); {
	case err == nil:
		sum.LatestPublished = v.Version
	case !errors.Is(err, driverhub.ErrNotFound):
		return nil, err
	}
	switch _, err := tx.ListingOf(ctx, d.ID); {
	case err == nil:
		sum.Listed = true
	case !errors.Is(err, driverhub.ErrNotFound):
		return nil, err
	}
	return sum, nil
}
