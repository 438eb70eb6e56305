package console

import (
	"net/http"

	"github.com/driverhub/driverhub"
)

type driversData struct {
	Filter driverhub.DriverFilter
	Items  []*driverhub.DriverSummary
	Next   string // query of the next page, "" on the last
}

// listDrivers is the seed's 驱动管理 page: the tenant's drivers with
// protocol and runtime filters and a search.
func (c *Console) listDrivers(w http.ResponseWriter, r *http.Request, s *session) error {
	q := r.URL.Query()
	f := driverhub.DriverFilter{Protocol: q.Get("protocol"), Runtime: driverhub.Runtime(q.Get("runtime")), Q: q.Get("q")}
	l, err := c.drivers.ListDriverSummaries(r.Context(), f, driverhub.Page{Cursor: q.Get("cursor")})
	if err != nil {
		if e, ok := driverhub.AsError(err); ok && e.Code == driverhub.EInvalid {
			c.render(w, r, s, http.StatusBadRequest, "drivers", view{Title: "drivers.title", Nav: "drivers", Err: e, Data: driversData{Filter: f}})
			return nil
		}
		return err
	}
	d := driversData{Filter: f, Items: l.Items}
	if l.NextCursor != "" {
		nq := r.URL.Query()
		nq.Set("cursor", l.NextCursor)
		nq.Del("notice")
		d.Next = nq.Encode()
	}
	c.render(w, r, s, http.StatusOK, "drivers", view{Title: "drivers.title", Nav: "drivers", Data: d})
	return nil
}

// newDriverForm is the seed's 新建驱动 page.
func (c *Console) newDriverForm(w http.ResponseWriter, r *http.Request, s *session) error {
	f := newDriverForm(modeNewDriver, languageOf(r))
	f.Action = "/drivers/new"
	c.renderForm(w, r, s, http.StatusOK, f, nil)
	return nil
}

func (c *Console) createDriver(w http.ResponseWriter, r *http.Request, s *session) error {
	f := newDriverForm(modeNewDriver, languageOf(r))
	f.Action = "/drivers/new"
	return c.submitForm(w, r, s, f)
}

// renderForm shows the driver form, or a published version's page.
func (c *Console) renderForm(w http.ResponseWriter, r *http.Request, s *session, status int, f *driverForm, e *driverhub.Error) {
	page := "driver_form"
	if f.Mode == modeView {
		page = "version"
	}
	c.render(w, r, s, status, page, c.formView(r, f, e, ""))
}

func (c *Console) formView(r *http.Request, f *driverForm, e *driverhub.Error, notice string) view {
	f.Confirm = f.Confirm && e == nil
	if f.Mode != modeView { // a published version's page offers no choices
		c.loadFormFacts(r.Context(), f)
	}
	return view{Title: "form.title." + f.Mode, Nav: "drivers", Err: e, Notice: notice, Data: f}
}

type driverData struct {
	Driver    *driverhub.Driver
	Versions  []*driverhub.DriverVersion
	Published bool
	Listing   *driverhub.Listing
	// Signatures: which versions are signed and revoked (SPEC §11).
	Signatures *driverhub.DriverSignatures
	// Form values of the driver and listing forms after a refused change.
	Protocol, Description, Title, Summary string
	Errs                                  map[string]string
}

// driverPage is a driver and its versions (the seed's 版本管理 panel),
// with its marketplace listing.
func (c *Console) driverPage(w http.ResponseWriter, r *http.Request, s *session) error {
	d, err := c.driverData(r, nil)
	if err != nil {
		return err
	}
	c.render(w, r, s, http.StatusOK, "driver", view{Title: "driver.title", Nav: "drivers", Data: d})
	return nil
}

func (c *Console) driverData(r *http.Request, errs map[string]string) (*driverData, error) {
	ctx := r.Context()
	name := r.PathValue("driver")
	drv, err := c.drivers.GetDriver(ctx, name)
	if err != nil {
		return nil, err
	}
	versions, err := listAll(2000, func(p driverhub.Page) (driverhub.List[*driverhub.DriverVersion], error) {
		return c.drivers.ListVersions(ctx, name, "", p)
	})
	if err != nil {
		return nil, err
	}
	d := &driverData{Driver: drv, Versions: versions, Protocol: drv.Protocol, Description: drv.Description, Errs: errs}
	for _, v := range versions {
		d.Published = d.Published || v.Published()
	}
	if d.Errs == nil {
		d.Errs = map[string]string{}
	}
	if p := driverhub.PrincipalFrom(ctx); p != nil && d.Published {
		// One's own driver is in the marketplace exactly when it is listed.
		if m, err := c.market.GetMarketDriver(ctx, p.TenantName, name); err == nil {
			d.Listing = &m.Listing
		} else if driverhub.ErrorCode(err) != driverhub.ENotFound {
			return nil, err
		}
	}
	d.Signatures = c.driverSignatures(ctx, name)
	if d.Listing != nil {
		d.Title, d.Summary = d.Listing.Title, d.Listing.Summary
	} else {
		d.Title = drv.Name
	}
	return d, nil
}

// refuse shows the driver page again with the error beside its field.
func (c *Console) refuseOnDriver(w http.ResponseWriter, r *http.Request, s *session, err error, fill func(d *driverData)) error {
	e := c.publicError(r, err)
	errs := map[string]string{}
	if e.Field != "" {
		errs[e.Field] = e.Message
	}
	d, derr := c.driverData(r, errs)
	if derr != nil {
		return derr
	}
	if fill != nil {
		fill(d)
	}
	c.render(w, r, s, statusOf(e), "driver", view{Title: "driver.title", Nav: "drivers", Err: e, Data: d})
	return nil
}

// updateDriver changes a driver's protocol and description.
func (c *Console) updateDriver(w http.ResponseWriter, r *http.Request, s *session) error {
	name := r.PathValue("driver")
	protocol, description := r.PostForm.Get("protocol"), r.PostForm.Get("description")
	_, err := c.drivers.UpdateDriver(r.Context(), name, driverhub.DriverInput{Protocol: &protocol, Description: &description})
	if err != nil {
		return c.refuseOnDriver(w, r, s, err, func(d *driverData) { d.Protocol, d.Description = protocol, description })
	}
	redirect(w, r, "/drivers/"+esc(name), "driver_saved")
	return nil
}

func (c *Console) deleteDriver(w http.ResponseWriter, r *http.Request, s *session) error {
	name := r.PathValue("driver")
	if err := c.drivers.DeleteDriver(r.Context(), name); err != nil {
		return c.refuseOnDriver(w, r, s, err, nil)
	}
	redirect(w, r, "/drivers", "driver_deleted")
	return nil
}

// putListing lists the driver in the marketplace (the seed's 上架), or changes its listing.
func (c *Console) putListing(w http.ResponseWriter, r *http.Request, s *session) error {
	name := r.PathValue("driver")
	in := driverhub.ListingInput{Title: r.PostForm.Get("title"), Summary: r.PostForm.Get("summary")}
	if _, err := c.market.PutListing(r.Context(), name, in); err != nil {
		return c.refuseOnDriver(w, r, s, err, func(d *driverData) { d.Title, d.Summary = in.Title, in.Summary })
	}
	redirect(w, r, "/drivers/"+esc(name), "listed")
	return nil
}

func (c *Console) deleteListing(w http.ResponseWriter, r *http.Request, s *session) error {
	name := r.PathValue("driver")
	if err := c.market.DeleteListing(r.Context(), name); err != nil {
		return c.refuseOnDriver(w, r, s, err, nil)
	}
	redirect(w, r, "/drivers/"+esc(name), "unlisted")
	return nil
}

// serveDownload sends a blob as an attachment, with its SHA-256 as ETag and Range support.
func serveDownload(w http.ResponseWriter, r *http.Request, d *driverhub.Download) {
	defer d.Body.Close()
	w.Header().Set("ETag", `"`+d.SHA256+`"`)
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Disposition", mimeAttachment(d.Filename))
	w.Header().Set("Cache-Control", "private, no-store")
	http.ServeContent(w, r, "", d.Modified, d.Body)
}
