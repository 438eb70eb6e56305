package service

import (
	"context"
	"slices"
	"strings"

	"github.com/driverhub/driverhub"
)

// maxSearchScan bounds the listings one search reads; a search that reaches
// it answers what it found with a cursor to go on from there.
const maxSearchScan = 10 * driverhub.MaxPageLimit

// SearchMarket is ListMarket narrowed to the listings of a protocol and a
// runtime whose title, summary, publisher or driver name holds f.Q (any
// case). Its cursor is ListMarket's: a page may hold fewer than the limit
// and still have a next one.
func (s *Service) SearchMarket(ctx context.Context, f driverhub.DriverFilter, page driverhub.Page) (driverhub.List[*driverhub.Listing], error) {
	out := driverhub.List[*driverhub.Listing]{Items: []*driverhub.Listing{}}
	p, err := authorize(ctx, driverhub.RoleViewer)
	if err != nil {
		return out, err
	}
	if f.Protocol != "" && !slices.Contains(driverhub.Protocols, f.Protocol) {
		return out, driverhub.Invalid("protocol", "must be one of %s", driverhub.Words(driverhub.Protocols))
	}
	if f.Runtime != "" && !f.Runtime.Valid() {
		return out, driverhub.Invalid("runtime", "must be one of %s", driverhub.Words(driverhub.AllRuntimes))
	}
	if page, err = page.Normalize(); err != nil {
		return out, err
	}
	err = s.store.View(ctx, func(tx driverhub.Tx) error {
		out, err = searchListings(ctx, tx, p.TenantID, f, page)
		return err
	})
	return out, err
}

// searchListings reads the listings page by page from page.Cursor and keeps
// the matches. When the limit is reached inside a page, that page is read
// again up to the last match, for a cursor that resumes right after it.
func searchListings(ctx context.Context, tx driverhub.Tx, tenantID string, f driverhub.DriverFilter, page driverhub.Page) (driverhub.List[*driverhub.Listing], error) {
	out := driverhub.List[*driverhub.Listing]{Items: []*driverhub.Listing{}}
	q := strings.ToLower(strings.TrimSpace(f.Q))
	from := driverhub.Page{Limit: driverhub.MaxPageLimit, Cursor: page.Cursor}
	for scanned := 0; scanned < maxSearchScan; {
		l, err := tx.ListListings(ctx, tenantID, from)
		if err != nil {
			return out, err
		}
		scanned += len(l.Items)
		for i, it := range l.Items {
			if !listingMatches(it, f, q) {
				continue
			}
			out.Items = append(out.Items, it)
			if len(out.Items) < page.Limit {
				continue
			}
			if i == len(l.Items)-1 {
				out.NextCursor = l.NextCursor
				return out, nil
			}
			upTo, err := tx.ListListings(ctx, tenantID, driverhub.Page{Limit: i + 1, Cursor: from.Cursor})
			out.NextCursor = upTo.NextCursor
			return out, err
		}
		if l.NextCursor == "" {
			return out, nil
		}
		from.Cursor = l.NextCursor
	}
	out.NextCursor = from.Cursor
	return out, nil
}

func listingMatches(l *driverhub.Listing, f driverhub.DriverFilter, q string) bool {
	if (f.Protocol != "" && l.Protocol != f.Protocol) || (f.Runtime != "" && l.Runtime != f.Runtime) {
		return false
	}
	if q == "" {
		return true
	}
	for _, s := range []string{l.Title, l.Summary, l.Publisher, l.Driver} {
		if strings.Contains(strings.ToLower(s), q) {
			return true
		}
	}
	return false
}
