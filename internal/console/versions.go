package console

import (
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"

	"github.com/driverhub/driverhub"
)

// newVersionForm is 新增版本: the form with the driver's fields fixed and
// the settings of its newest version filled in.
func (c *Console) newVersionForm(w http.ResponseWriter, r *http.Request, s *session) error {
	f, err := c.versionForm(r, modeNewVersion)
	if err != nil {
		return err
	}
	l, err := c.drivers.ListVersions(r.Context(), f.Driver.Name, "", driverhub.Page{Limit: 1})
	if err != nil {
		return err
	}
	if len(l.Items) > 0 {
		latest := l.Items[0]
		f.fromVersion(latest)
		f.VersionName, f.Description, f.ConfigFile = nextVersion(latest.Version), "", nil
	}
	c.renderForm(w, r, s, http.StatusOK, f, nil)
	return nil
}

func (c *Console) createVersion(w http.ResponseWriter, r *http.Request, s *session) error {
	f, err := c.versionForm(r, modeNewVersion)
	if err != nil {
		return err
	}
	return c.submitForm(w, r, s, f)
}

// versionForm loads the driver (and the version, for edit and view) of a version form.
func (c *Console) versionForm(r *http.Request, mode string) (*driverForm, error) {
	ctx := r.Context()
	d, err := c.drivers.GetDriver(ctx, r.PathValue("driver"))
	if err != nil {
		return nil, err
	}
	f := newDriverForm(mode, languageOf(r))
	f.fromDriver(d)
	f.Action = "/drivers/" + esc(d.Name) + "/versions/new"
	if mode == modeNewVersion {
		return f, nil
	}
	v, err := c.drivers.GetVersion(ctx, d.Name, r.PathValue("version"))
	if err != nil {
		return nil, err
	}
	f.Version = v
	f.fromVersion(v)
	if v.Published() {
		f.Mode = modeView
	}
	f.Action = "/drivers/" + esc(d.Name) + "/versions/" + esc(v.Version)
	return f, nil
}

// versionPage is 编辑 for a draft and 查看 for a published version.
func (c *Console) versionPage(w http.ResponseWriter, r *http.Request, s *session) error {
	f, err := c.versionForm(r, modeEdit)
	if err != nil {
		return err
	}
	c.renderForm(w, r, s, http.StatusOK, f, nil)
	return nil
}

func (c *Console) updateVersion(w http.ResponseWriter, r *http.Request, s *session) error {
	f, err := c.versionForm(r, modeEdit)
	if err != nil {
		return err
	}
	return c.submitForm(w, r, s, f)
}

// submitForm saves the driver form in any mode. The package and config
// file stream to the services as they arrive; the driver and version
// they belong to are created just before (the form puts the package after
// the driver-info fields). A refused submit undoes what it created, so
// that the same form can be sent again, and comes back with every value.
func (c *Console) submitForm(w http.ResponseWriter, r *http.Request, s *session, f *driverForm) error {
	ctx := r.Context()
	q := r.URL.Query()
	op := q.Get("op")
	var createdDriver, createdVersion, partial bool
	driverName := func() string {
		if f.Driver != nil {
			return f.Driver.Name
		}
		return f.Name
	}
	versionName := func() string {
		if f.Version != nil {
			return f.Version.Version
		}
		return f.VersionName
	}
	// create makes what does not exist yet: the driver (new-driver mode)
	// and the version (new modes).
	create := func(vals url.Values, infoOnly bool) error {
		f.load(vals)
		if f.Mode == modeNewDriver && !createdDriver {
			if _, err := c.drivers.CreateDriver(ctx, f.driverInput()); err != nil {
				return err
			}
			createdDriver = true
		}
		if (f.Mode == modeNewDriver || f.Mode == modeNewVersion) && !createdVersion {
			in, err := f.versionInput(infoOnly)
			if err != nil {
				return err
			}
			if _, err := c.drivers.CreateVersion(ctx, driverName(), in); err != nil {
				return err
			}
			createdVersion, partial = true, infoOnly
		}
		return nil
	}
	onFile := func(vals url.Values, field, filename string, body io.Reader) error {
		if op != "" || f.Mode == modeView {
			return nil
		}
		switch field {
		case "package":
			if err := create(vals, true); err != nil {
				return err
			}
			_, err := c.drivers.PutPackage(ctx, driverName(), versionName(), filename, body)
			return uploadError(err, "package")
		case "config_file":
			if vals.Get("config_format") != driverhub.ConfigFile {
				return nil
			}
			if err := create(vals, true); err != nil {
				return err
			}
			_, err := c.drivers.PutConfigFile(ctx, driverName(), versionName(), filename, body)
			f.fileUploaded = err == nil
			return uploadError(err, "config_file")
		}
		return nil
	}
	vals, err := c.readMultipart(w, r, s, onFile)
	if err == errCSRF {
		return err
	}
	if vals != nil {
		f.load(vals)
	}
	if op != "" && err == nil {
		i, _ := strconv.Atoi(q.Get("i"))
		f.apply(op, q.Get("kind"), i)
		c.renderForm(w, r, s, http.StatusOK, f, nil)
		return nil
	}
	if err == nil {
		err = create(vals, false)
	}
	if err == nil && (f.Mode == modeEdit || f.Mode == modeView || partial) {
		var in driverhub.VersionInput
		if in, err = f.versionInput(false); err == nil {
			_, err = c.drivers.UpdateVersion(ctx, driverName(), versionName(), in)
		}
	}
	if err != nil {
		c.undo(r, createdDriver, createdVersion, driverName(), versionName())
		e := c.publicError(r, err)
		f.setError(e)
		if f.Version != nil { // show what the version holds now (an upload may have replaced the package)
			if v, gerr := c.drivers.GetVersion(ctx, driverName(), versionName()); gerr == nil {
				f.Version, f.ConfigFile = v, nil
				if v.DriverConfig != nil {
					f.ConfigFile = v.DriverConfig.File
				}
			}
		}
		c.renderForm(w, r, s, statusOf(e), f, e)
		return nil
	}
	notice := map[string]string{modeNewDriver: "driver_created", modeNewVersion: "version_created"}[f.Mode]
	if notice == "" {
		notice = "version_saved"
	}
	redirect(w, r, "/drivers/"+esc(driverName()), notice)
	return nil
}

// undo removes what a refused submit created.
func (c *Console) undo(r *http.Request, driver, version bool, driverName, versionName string) {
	var err error
	switch {
	case driver:
		err = c.drivers.DeleteDriver(r.Context(), driverName)
	case version:
		err = c.drivers.DeleteVersion(r.Context(), driverName, versionName)
	default:
		return
	}
	if err != nil {
		c.log.Error("console: undo a refused form", "driver", driverName, "version", versionName, "err", err)
	}
}

// confirmData is a confirmation page: what JavaScript shows in a dialog.
type confirmData struct {
	Heading, Body, Button string // translation keys
	Arg                   string // the Body's %s
	Action, Back          string
	Danger                bool
}

func (c *Console) confirmPublish(w http.ResponseWriter, r *http.Request, s *session) error {
	d, v := r.PathValue("driver"), r.PathValue("version")
	if _, err := c.drivers.GetVersion(r.Context(), d, v); err != nil {
		return err
	}
	base := "/drivers/" + esc(d) + "/versions/" + esc(v)
	c.render(w, r, s, http.StatusOK, "confirm", view{Title: "publish.heading", Nav: "drivers", Data: confirmData{
		Heading: "publish.heading", Body: "publish.body", Arg: d + " " + v, Button: "publish.button", Action: base + "/publish", Back: "/drivers/" + esc(d)}})
	return nil
}

func (c *Console) publishVersion(w http.ResponseWriter, r *http.Request, s *session) error {
	d := r.PathValue("driver")
	if _, err := c.drivers.PublishVersion(r.Context(), d, r.PathValue("version")); err != nil {
		return c.refuseOnDriver(w, r, s, err, nil)
	}
	redirect(w, r, "/drivers/"+esc(d), "published")
	return nil
}

func (c *Console) confirmDeleteVersion(w http.ResponseWriter, r *http.Request, s *session) error {
	d, v := r.PathValue("driver"), r.PathValue("version")
	if _, err := c.drivers.GetVersion(r.Context(), d, v); err != nil {
		return err
	}
	c.render(w, r, s, http.StatusOK, "confirm", view{Title: "delete_version.heading", Nav: "drivers", Data: confirmData{
		Heading: "delete_version.heading", Body: "delete_version.body", Arg: d + " " + v, Button: "action.delete",
		Action: "/drivers/" + esc(d) + "/versions/" + esc(v) + "/delete", Back: "/drivers/" + esc(d), Danger: true}})
	return nil
}

func (c *Console) deleteVersion(w http.ResponseWriter, r *http.Request, s *session) error {
	d := r.PathValue("driver")
	if err := c.drivers.DeleteVersion(r.Context(), d, r.PathValue("version")); err != nil {
		return c.refuseOnDriver(w, r, s, err, nil)
	}
	redirect(w, r, "/drivers/"+esc(d), "version_deleted")
	return nil
}

func (c *Console) downloadPackage(w http.ResponseWriter, r *http.Request, s *session) error {
	d, err := c.drivers.OpenPackage(r.Context(), r.PathValue("driver"), r.PathValue("version"))
	if err != nil {
		return err
	}
	serveDownload(w, r, d)
	return nil
}

func (c *Console) downloadConfigFile(w http.ResponseWriter, r *http.Request, s *session) error {
	d, err := c.drivers.OpenConfigFile(r.Context(), r.PathValue("driver"), r.PathValue("version"))
	if err != nil {
		return err
	}
	serveDownload(w, r, d)
	return nil
}

// mimeAttachment is a Content-Disposition naming the file, UTF-8 safe.
func mimeAttachment(name string) string {
	if v := mime.FormatMediaType("attachment", map[string]string{"filename": name}); v != "" {
		return v
	}
	return "attachment"
}
