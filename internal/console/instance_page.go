package console

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"

	"github.com/driverhub/driverhub"
)

type instanceData struct {
	Instance    *driverhub.Instance
	Bindings    []*driverhub.Binding
	Devices     []*driverhub.Device
	Deployments []*driverhub.Deployment
	Next        string
	Choices     []bindGroup
	Free        []*driverhub.Device // devices on no instance, offered when associating
	// Values of a refused form.
	Description, Tags string
	Device            deviceForm
	Errs              map[string]string
}

// bindGroup is one driver's options in the bind select.
type bindGroup struct {
	Label   string
	Options []bindOption
}

type bindOption struct {
	Value, Label string
	Draft        bool
}

// deviceForm is the associate-a-device form (or a device's config editor) as sent.
type deviceForm struct {
	Product, Name, Description, Driver, Config string
	Existing                                   bool // editing a device already on the instance
	Check                                      *checkResult
}

// Key tells which device form on the page the values belong to.
func (f deviceForm) Key() string {
	if f.Existing {
		return f.Product + "/" + f.Name
	}
	return ""
}

// instancePage is an instance: its gateway, bound drivers, devices and deployments.
func (c *Console) instancePage(w http.ResponseWriter, r *http.Request, s *session) error {
	d, err := c.instanceData(r)
	if err != nil {
		return err
	}
	c.render(w, r, s, http.StatusOK, "instance", view{Title: "instance.title", Nav: "instances", Data: d})
	return nil
}

func (c *Console) instanceData(r *http.Request) (*instanceData, error) {
	ctx := r.Context()
	name := r.PathValue("instance")
	i, err := c.instances.GetInstance(ctx, name)
	if err != nil {
		return nil, err
	}
	d := &instanceData{Instance: i, Description: i.Description, Tags: formatTags(i.Tags), Errs: map[string]string{}}
	b, err := c.instances.ListBindings(ctx, name)
	if err != nil {
		return nil, err
	}
	d.Bindings = b.Items
	if d.Devices, err = listAll(driverhub.MaxDevicesPerInstance, func(p driverhub.Page) (driverhub.List[*driverhub.Device], error) {
		return c.instances.ListDevices(ctx, name, p)
	}); err != nil {
		return nil, err
	}
	deps, err := c.deployments.ListDeployments(ctx, name, driverhub.Page{Limit: 20, Cursor: r.URL.Query().Get("cursor")})
	if err != nil {
		return nil, err
	}
	d.Deployments = deps.Items
	if deps.NextCursor != "" {
		d.Next = url.Values{"cursor": {deps.NextCursor}}.Encode()
	}
	if d.Choices, err = c.bindChoices(ctx); err != nil {
		return nil, err
	}
	all, err := c.instances.ListDevices(ctx, "", driverhub.Page{Limit: driverhub.MaxPageLimit})
	if err != nil {
		return nil, err
	}
	for _, dev := range all.Items {
		if dev.Instance == "" {
			d.Free = append(d.Free, dev)
		}
	}
	if len(d.Bindings) > 0 {
		d.Device.Driver = d.Bindings[0].Driver
	}
	return d, nil
}

// bindChoices lists what can be bound: each own driver's versions (drafts
// too, for debugging) and each acquired driver's published versions.
func (c *Console) bindChoices(ctx context.Context) ([]bindGroup, error) {
	var out []bindGroup
	own, err := c.drivers.ListDrivers(ctx, driverhub.DriverFilter{}, driverhub.Page{Limit: 200})
	if err != nil {
		return nil, err
	}
	for _, drv := range own.Items {
		vs, err := c.drivers.ListVersions(ctx, drv.Name, "", driverhub.Page{Limit: 20})
		if err != nil {
			return nil, err
		}
		g := bindGroup{Label: drv.Name, Options: []bindOption{{Value: "|" + drv.Name + "|"}}}
		for _, v := range vs.Items {
			g.Options = append(g.Options, bindOption{Value: "|" + drv.Name + "|" + v.Version, Label: v.Version, Draft: !v.Published()})
		}
		out = append(out, g)
	}
	acq, err := c.market.ListAcquisitions(ctx, driverhub.Page{Limit: 200})
	if err != nil {
		return nil, err
	}
	for _, a := range acq.Items {
		m, err := c.market.GetMarketDriver(ctx, a.Publisher, a.Driver)
		if err != nil {
			continue // no longer visible: nothing to bind
		}
		g := bindGroup{Label: a.Publisher + "/" + a.Driver, Options: []bindOption{{Value: a.Publisher + "|" + a.Driver + "|"}}}
		for _, v := range m.Versions {
			g.Options = append(g.Options, bindOption{Value: a.Publisher + "|" + a.Driver + "|" + v.Version, Label: v.Version})
		}
		out = append(out, g)
	}
	return out, nil
}

// refuseOnInstance shows the instance page again with the error (and
// every problem of a refused deployment).
func (c *Console) refuseOnInstance(w http.ResponseWriter, r *http.Request, s *session, err error, fill func(d *instanceData)) error {
	e := c.publicError(r, err)
	d, derr := c.instanceData(r)
	if derr != nil {
		return derr
	}
	if e.Field != "" {
		d.Errs[fieldRoot(e.Field)] = e.Message
	}
	if fill != nil {
		fill(d)
	}
	c.render(w, r, s, statusOf(e), "instance", view{Title: "instance.title", Nav: "instances", Err: e, Data: d})
	return nil
}

// associateDevice puts a device on the instance with one of its drivers
// and a device config, creating the device when it does not exist yet.
// It also saves the config of a device already there.
func (c *Console) associateDevice(w http.ResponseWriter, r *http.Request, s *session) error {
	ctx := r.Context()
	name := r.PathValue("instance")
	pf := r.PostForm
	f := deviceForm{Product: strings.TrimSpace(pf.Get("product")), Name: strings.TrimSpace(pf.Get("name")),
		Description: pf.Get("description"), Driver: pf.Get("driver"), Config: pf.Get("config"), Existing: pf.Get("existing") != ""}
	fill := func(d *instanceData) { d.Device = f }
	if r.URL.Query().Get("op") == "validate-json" {
		msg, ok := jsonCheck(languageOf(r), "device_config", f.Config)
		f.Check = &checkResult{OK: ok, Message: msg}
		d, err := c.instanceData(r)
		if err != nil {
			return err
		}
		fill(d)
		c.render(w, r, s, http.StatusOK, "instance", view{Title: "instance.title", Nav: "instances", Data: d})
		return nil
	}
	if _, err := c.instances.GetDevice(ctx, f.Product, f.Name); driverhub.ErrorCode(err) == driverhub.ENotFound && !f.Existing {
		_, err = c.instances.CreateDevice(ctx, driverhub.DeviceInput{Product: f.Product, Name: f.Name, Description: f.Description})
		if err != nil {
			return c.refuseOnInstance(w, r, s, prefixField(err, "device."), fill)
		}
	} else if err != nil {
		return c.refuseOnInstance(w, r, s, prefixField(err, "device."), fill)
	}
	in := driverhub.DeviceAssociation{Driver: f.Driver}
	if strings.TrimSpace(f.Config) != "" {
		in.Config, _ = json.Marshal(f.Config) // the editor's text as a JSON string: the service parses it
	}
	if _, err := c.instances.AssociateDevice(ctx, name, f.Product, f.Name, in); err != nil {
		return c.refuseOnInstance(w, r, s, prefixField(err, "device."), fill)
	}
	redirect(w, r, localPath(pf.Get("next"), "/instances/"+esc(name)), "device_saved")
	return nil
}

func (c *Console) dissociateDevice(w http.ResponseWriter, r *http.Request, s *session) error {
	name := r.PathValue("instance")
	if err := c.instances.DissociateDevice(r.Context(), name, r.PathValue("product"), r.PathValue("name")); err != nil {
		return c.refuseOnInstance(w, r, s, err, nil)
	}
	redirect(w, r, localPath(r.PostForm.Get("next"), "/instances/"+esc(name)), "device_removed")
	return nil
}
