package console

import (
	"net/http"
	"net/url"

	"github.com/driverhub/driverhub"
)

type marketData struct {
	Tab          string // browse or acquired
	Tenant       string
	Filter       driverhub.DriverFilter
	Listings     []*driverhub.Listing
	Acquisitions []*driverhub.Acquisition
	Next         string
}

// marketPage is the marketplace: every tenant's listings, and the drivers
// this tenant acquired on their own tab.
func (c *Console) marketPage(w http.ResponseWriter, r *http.Request, s *session) error {
	return c.renderMarket(w, r, s, http.StatusOK, nil)
}

func (c *Console) renderMarket(w http.ResponseWriter, r *http.Request, s *session, status int, e *driverhub.Error) error {
	ctx := r.Context()
	q := r.URL.Query()
	d := marketData{Tab: q.Get("tab"), Tenant: s.p.TenantName}
	page := driverhub.Page{Cursor: q.Get("cursor")}
	var next string
	if d.Tab == "acquired" {
		l, err := c.market.ListAcquisitions(ctx, page)
		if err != nil {
			return err
		}
		d.Acquisitions, next = l.Items, l.NextCursor
	} else {
		d.Tab = "browse"
		d.Filter = driverhub.DriverFilter{Protocol: q.Get("protocol"), Runtime: driverhub.Runtime(q.Get("runtime")), Q: q.Get("q")}
		l, err := c.market.SearchMarket(ctx, d.Filter, page)
		if fe, ok := driverhub.AsError(err); ok && fe.Code == driverhub.EInvalid && e == nil {
			status, e = http.StatusBadRequest, fe // a filter no form offers: say so, list nothing
		} else if err != nil {
			return err
		}
		d.Listings, next = l.Items, l.NextCursor
	}
	if next != "" {
		nq := url.Values{"tab": {d.Tab}, "cursor": {next}}
		for k, v := range map[string]string{"protocol": d.Filter.Protocol, "runtime": string(d.Filter.Runtime), "q": d.Filter.Q} {
			if v != "" {
				nq.Set(k, v)
			}
		}
		d.Next = nq.Encode()
	}
	c.render(w, r, s, status, "market", view{Title: "market.title", Nav: "market", Err: e, Data: d})
	return nil
}

type marketDriverData struct {
	Driver *driverhub.MarketDriver
	Own    bool
}

func (c *Console) marketDriver(w http.ResponseWriter, r *http.Request, s *session) error {
	m, err := c.market.GetMarketDriver(r.Context(), r.PathValue("publisher"), r.PathValue("driver"))
	if err != nil {
		return err
	}
	c.render(w, r, s, http.StatusOK, "market_driver", view{Title: "market.driver", Nav: "market",
		Data: marketDriverData{Driver: m, Own: m.Publisher == s.p.TenantName}})
	return nil
}

func (c *Console) acquire(w http.ResponseWriter, r *http.Request, s *session) error {
	if _, err := c.market.Acquire(r.Context(), r.PathValue("publisher"), r.PathValue("driver")); err != nil {
		return c.renderMarket(w, r, s, statusOf(err), c.publicError(r, err))
	}
	redirect(w, r, "/marketplace?tab=acquired", "acquired")
	return nil
}

func (c *Console) downloadMarketPackage(w http.ResponseWriter, r *http.Request, s *session) error {
	d, err := c.market.OpenMarketPackage(r.Context(), r.PathValue("publisher"), r.PathValue("driver"), r.PathValue("version"))
	if err != nil {
		return err
	}
	serveDownload(w, r, d)
	return nil
}
