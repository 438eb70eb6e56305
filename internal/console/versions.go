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
		f.Signature = c.versionSignature(ctx, d.Name, v.Version)
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

// submitForm saves the driver form in any mode with one call to the
// services. Files are staged as their parts arrive (a package is checked
// for the runtime chosen above it), and the form carries the staged
// uploads back in hidden fields: a refused form keeps its files as well as
// its values, and a resubmit without a new file uses the kept one. Every
// problem found, the uploads', the form's and the services', is shown
// beside its field, all at once.
func (c *Console) submitForm(w http.ResponseWriter, r *http.Request, s *session, f *driverForm) error {
	ctx := r.Context()
	q := r.URL.Query()
	staged := map[string]*stagedFile{} // nil: the file chosen was refused
	var refused []*driverhub.Error
	onFile := func(vals url.Values, field, filename string, body io.Reader) error {
		in, ok := f.uploadInput(vals, field, filename)
		if !ok {
			return nil
		}
		u, err := c.drivers.StageUpload(ctx, in, body)
		if err != nil {
			e, ok := driverhub.AsError(uploadError(err, field))
			if !ok || e.Code == driverhub.EInternal {
				return err
			}
			staged[field], refused = nil, append(refused, e)
			return nil
		}
		staged[field] = &stagedFile{ID: u.ID, Name: u.Filename}
		f.Uploads[field] = u
		return nil
	}
	vals, err := c.readMultipart(w, r, s, onFile)
	if err == errCSRF {
		return err
	}
	if vals != nil {
		f.load(vals)
	}
	for field, st := range staged { // the latest choice replaces a kept file, even when refused
		f.Staged[field] = st
		if st == nil {
			delete(f.Staged, field)
		}
	}
	if err != nil {
		return c.refuseForm(w, r, s, f, refused, err)
	}
	if op := q.Get("op"); op != "" {
		i, _ := strconv.Atoi(q.Get("i"))
		f.apply(op, q.Get("kind"), i)
		f.setErrors(refused)
		c.renderForm(w, r, s, http.StatusOK, f, nil)
		return nil
	}
	if f.Mode == modeView { // published: only the description changes
		_, err := c.drivers.UpdateVersion(ctx, f.Driver.Name, f.Version.Version, driverhub.VersionInput{Description: &f.Description})
		if err != nil {
			return c.refuseForm(w, r, s, f, nil, err)
		}
		redirect(w, r, "/drivers/"+esc(f.Driver.Name), "version_saved")
		return nil
	}
	in, problems := f.draftInput()
	problems = append(problems, refused...)
	// With problems, still check the rest, to show every problem at once.
	// A package chosen in this submit is shown for the user to confirm
	// before anything is saved (the seed: 上传成功后，单击确认).
	f.Confirm = staged["package"] != nil
	in.ValidateOnly = len(problems) > 0 || f.Confirm
	v, err := c.drivers.SaveDraft(ctx, in)
	if err != nil || len(problems) > 0 {
		return c.refuseForm(w, r, s, f, problems, err)
	}
	if f.Confirm {
		c.render(w, r, s, http.StatusOK, "driver_form", c.formView(r, f, nil, "upload.check_and_confirm"))
		return nil
	}
	notice := map[string]string{modeNewDriver: "driver_created", modeNewVersion: "version_created"}[f.Mode]
	if notice == "" {
		notice = "version_saved"
	}
	redirect(w, r, "/drivers/"+esc(v.Driver), notice)
	return nil
}

// uploadInput describes the file a file part of the form holds; ok is
// false for a part that is not staged (a config file while another format
// is chosen, any file of a published version).
func (f *driverForm) uploadInput(vals url.Values, field, filename string) (in driverhub.UploadInput, ok bool) {
	kind, known := fileKinds[field]
	switch {
	case !known || f.Mode == modeView:
		return in, false
	case kind == driverhub.UploadConfigFile && vals.Get("config_format") != driverhub.ConfigFile:
		return in, false
	}
	in = driverhub.UploadInput{Kind: kind, Filename: filename}
	if kind == driverhub.UploadPackage {
		in.Runtime = driverhub.Runtime(f.Runtime) // the driver's; a new driver's comes before the file
		if f.Mode == modeNewDriver {
			in.Runtime = driverhub.Runtime(vals.Get("runtime"))
		}
	}
	return in, true
}

// refuseForm shows the form again with every problem beside its field.
func (c *Console) refuseForm(w http.ResponseWriter, r *http.Request, s *session, f *driverForm, problems []*driverhub.Error, err error) error {
	if err != nil {
		problems = append(problems, fieldProblems(c.publicError(r, err))...)
	}
	e := f.setErrors(problems)
	c.renderForm(w, r, s, statusOf(e), f, e)
	return nil
}

// confirmData is a confirmation page: what JavaScript shows in a dialog.
type confirmData struct {
	Heading, Body, Button string // translation keys
	Arg                   string // the Body's %s
	Action, Back          string
	Danger                bool
}

// confirmPublish shows what publishing makes permanent (the seed's 确认发布
// 驱动版本), for browsers without JavaScript; the dialog shows the same.
func (c *Console) confirmPublish(w http.ResponseWriter, r *http.Request, s *session) error {
	ctx := r.Context()
	d, err := c.drivers.GetDriver(ctx, r.PathValue("driver"))
	if err != nil {
		return err
	}
	v, err := c.drivers.GetVersion(ctx, d.Name, r.PathValue("version"))
	if err != nil {
		return err
	}
	base := "/drivers/" + esc(d.Name) + "/versions/" + esc(v.Version)
	c.render(w, r, s, http.StatusOK, "publish", view{Title: "publish.heading", Nav: "drivers", Data: publishData{
		ID: "publish", Action: base + "/publish", CSRF: s.csrf, Back: "/drivers/" + esc(d.Name), Facts: versionFacts{d, v}}})
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
