package console

import (
	"io"
	"net/http"
	"net/url"
	"strconv"

	"github.com/driverhub/driverhub"
)

// modeBinding is the driver form reduced to its driver-config section: an
// instance driver config.
const modeBinding = "binding"

type bindingData struct {
	Instance string
	Binding  *driverhub.Binding
	Versions []*driverhub.DriverVersion
	Current  *driverhub.DriverVersion // the bound version, for its default config
	Editor   *driverForm
	Devices  []*driverhub.Device
	// Unconfigured counts the driver's devices without a device config.
	Unconfigured int
	Logs         logPane
	Device       deviceForm
	Errs         map[string]string
}

// bindingPage is one driver on an instance: version, instance driver
// config, its devices and their configs, its state and recent log lines.
func (c *Console) bindingPage(w http.ResponseWriter, r *http.Request, s *session) error {
	d, err := c.bindingData(r, nil)
	if err != nil {
		return err
	}
	c.render(w, r, s, http.StatusOK, "binding", view{Title: "binding.title", Nav: "instances", Data: d})
	return nil
}

func (c *Console) bindingData(r *http.Request, editor *driverForm) (*bindingData, error) {
	ctx := r.Context()
	inst, drv := r.PathValue("instance"), r.PathValue("driver")
	b, err := c.instances.GetBinding(ctx, inst, drv)
	if err != nil {
		return nil, err
	}
	d := &bindingData{Instance: inst, Binding: b, Errs: map[string]string{}, Device: deviceForm{Driver: b.Driver}}
	p := driverhub.PrincipalFrom(ctx)
	if p != nil && b.Publisher != p.TenantName {
		if m, err := c.market.GetMarketDriver(ctx, b.Publisher, b.Driver); err == nil {
			d.Versions = m.Versions
		}
	} else if l, err := c.drivers.ListVersions(ctx, b.Driver, "", driverhub.Page{Limit: 100}); err == nil {
		d.Versions = l.Items
	}
	for _, v := range d.Versions {
		if v.Version == b.Version {
			d.Current = v
		}
	}
	if editor == nil {
		editor = newDriverForm(modeBinding, languageOf(r))
		editor.Errs = d.Errs
		if b.Config != nil {
			editor.fromVersion(&driverhub.DriverVersion{DriverConfig: b.Config})
		} else if d.Current != nil && d.Current.DriverConfig != nil && d.Current.DriverConfig.Format != driverhub.ConfigFile {
			editor.fromVersion(&driverhub.DriverVersion{DriverConfig: d.Current.DriverConfig}) // start from the default
			editor.ConfigFile = nil
		}
	}
	editor.Action = "/instances/" + esc(inst) + "/drivers/" + esc(drv) + "/config"
	d.Editor = editor
	devices, err := listAll(driverhub.MaxDevicesPerInstance, func(pg driverhub.Page) (driverhub.List[*driverhub.Device], error) {
		return c.instances.ListDevices(ctx, inst, pg)
	})
	if err != nil {
		return nil, err
	}
	for _, dev := range devices {
		if dev.Driver == b.Driver {
			d.Devices = append(d.Devices, dev)
			if len(dev.Config) == 0 {
				d.Unconfigured++
			}
		}
	}
	if d.Logs, err = c.recentLogs(r, inst, drv, logTail(r.URL.Query().Get("tail")), "driver-log"); err != nil {
		return nil, err
	}
	return d, nil
}

// setBindingConfig saves the instance driver config from the config editor:
// key-value pairs or JSON through SetBindingConfig, a file streamed to
// PutBindingConfigFile.
func (c *Console) setBindingConfig(w http.ResponseWriter, r *http.Request, s *session) error {
	ctx := r.Context()
	inst, drv := r.PathValue("instance"), r.PathValue("driver")
	op := r.URL.Query().Get("op")
	f := newDriverForm(modeBinding, languageOf(r))
	uploaded := false
	vals, err := c.readMultipart(w, r, s, func(vals url.Values, field, filename string, body io.Reader) error {
		if op != "" || field != "config_file" || vals.Get("config_format") != driverhub.ConfigFile {
			return nil
		}
		_, err := c.instances.PutBindingConfigFile(ctx, inst, drv, filename, body)
		uploaded = err == nil
		return uploadError(err, "config_file")
	})
	if err == errCSRF {
		return err
	}
	if vals != nil {
		f.load(vals)
	}
	if op != "" && err == nil {
		i, _ := strconv.Atoi(r.URL.Query().Get("i"))
		f.apply(op, r.URL.Query().Get("kind"), i)
		return c.renderBinding(w, r, s, http.StatusOK, f, nil)
	}
	if err == nil {
		f.shown = map[string][]int{}
		f.fileUploaded = uploaded
		if f.ConfigFormat == driverhub.ConfigFile {
			b, gerr := c.instances.GetBinding(ctx, inst, drv)
			keep := gerr == nil && b.Config != nil && b.Config.Format == driverhub.ConfigFile
			if !uploaded && !keep {
				cfg := driverhub.DriverConfig{Format: driverhub.ConfigFile}
				err = cfg.Clean("driver_config")
			}
		} else {
			var cfg *driverhub.DriverConfig
			if cfg, err = f.driverConfig(); err == nil {
				_, err = c.instances.SetBindingConfig(ctx, inst, drv, *cfg)
				err = prefixField(err, "driver_config.")
			}
		}
	}
	if err != nil {
		e := c.publicError(r, err)
		f.setError(e)
		return c.renderBinding(w, r, s, statusOf(e), f, e)
	}
	redirect(w, r, "/instances/"+esc(inst)+"/drivers/"+esc(drv), "config_saved")
	return nil
}

func (c *Console) renderBinding(w http.ResponseWriter, r *http.Request, s *session, status int, f *driverForm, e *driverhub.Error) error {
	d, err := c.bindingData(r, f)
	if err != nil {
		return err
	}
	if cur := d.Binding.Config; cur != nil && cur.File != nil {
		f.ConfigFile = cur.File
	}
	c.render(w, r, s, status, "binding", view{Title: "binding.title", Nav: "instances", Err: e, Data: d})
	return nil
}

// prefixField puts the service's field of an instance driver config
// ("kv[0].key") under the editor's names ("driver_config.kv[0].key").
func prefixField(err error, prefix string) error {
	e, ok := driverhub.AsError(err)
	if !ok || e.Field == "" {
		return err
	}
	c := *e
	c.Field = prefix + e.Field
	return &c
}

func (c *Console) deleteBindingConfig(w http.ResponseWriter, r *http.Request, s *session) error {
	inst, drv := r.PathValue("instance"), r.PathValue("driver")
	if err := c.instances.DeleteBindingConfig(r.Context(), inst, drv); err != nil {
		return err
	}
	redirect(w, r, "/instances/"+esc(inst)+"/drivers/"+esc(drv), "config_removed")
	return nil
}
