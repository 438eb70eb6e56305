package console

import (
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/driverhub/driverhub"
)

// Modes of the driver form (the seed's 新建驱动 page and its version management).
const (
	modeNewDriver  = "new_driver"  // driver and first version
	modeNewVersion = "new_version" // another version of a driver
	modeEdit       = "edit"        // a draft: every field but the version
	modeView       = "view"        // published: only the description changes
)

// portRow keeps a port mapping as typed, so that "80x" comes back as typed.
type portRow struct{ Host, Container, Protocol string }

// driverForm is the seed's form, section by section, as the user filled it.
type driverForm struct {
	Mode    string
	Action  string
	Driver  *driverhub.Driver        // version modes
	Version *driverhub.DriverVersion // edit and view

	// 驱动信息
	Name, Protocol, Runtime, CPUArch string
	Builtin                          bool
	VersionName, MinEdge             string
	Description, JVMArgs             string
	// 驱动配置
	ConfigFormat string
	KV           []driverhub.KVPair
	JSON         string
	JSONCheck    *checkResult
	ConfigFile   *driverhub.ConfigFileRef // the version's current file config
	// 容器配置
	HostNetwork bool
	Ports       []portRow
	Privileged  bool
	Devices     []driverhub.DeviceMapping
	Volumes     []driverhub.VolumeMapping
	Memory      string
	// 配置校验
	DriverConfigRequired, DeviceConfigRequired bool

	Errs map[string]string

	lang         string
	present      url.Values
	fileUploaded bool
	// shown[kind][i] is the row on screen of the i-th row sent to the service (blank rows are skipped).
	shown map[string][]int
}

type checkResult struct {
	OK      bool
	Message string
}

func newDriverForm(mode, lang string) *driverForm {
	f := &driverForm{Mode: mode, lang: lang, Protocol: driverhub.Protocols[0], Runtime: string(driverhub.AllRuntimes[0]),
		MinEdge: driverhub.Version, ConfigFormat: driverhub.ConfigKV, HostNetwork: true,
		Memory: strconv.Itoa(driverhub.DefaultMemoryLimitMB), Errs: map[string]string{}, present: url.Values{}}
	if mode == modeNewDriver {
		f.VersionName = "1.0.0" // a first version; the field is the user's to change
	}
	return f
}

// fromDriver fills the driver's own fields (version modes show them read-only).
func (f *driverForm) fromDriver(d *driverhub.Driver) {
	f.Driver = d
	f.Name, f.Protocol, f.Runtime, f.CPUArch, f.Builtin = d.Name, d.Protocol, string(d.Runtime), d.CPUArch, d.Builtin
}

// fromVersion fills the form with a version's settings.
func (f *driverForm) fromVersion(v *driverhub.DriverVersion) {
	f.VersionName, f.MinEdge, f.Description, f.JVMArgs = v.Version, v.MinEdgeVersion, v.Description, v.JVMArgs
	f.KV, f.JSON, f.ConfigFile = nil, "", nil
	if cfg := v.DriverConfig; cfg != nil {
		f.ConfigFormat = cfg.Format
		f.KV = slices.Clone(cfg.KV)
		f.JSON = jsonText(cfg.JSON)
		f.ConfigFile = cfg.File
	}
	c := v.Container
	f.HostNetwork, f.Privileged = c.HostNetwork, c.Privileged
	f.Ports = nil
	for _, p := range c.PortMappings {
		f.Ports = append(f.Ports, portRow{strconv.Itoa(p.HostPort), strconv.Itoa(p.ContainerPort), p.Protocol})
	}
	f.Devices, f.Volumes = slices.Clone(c.DeviceMappings), slices.Clone(c.VolumeMappings)
	f.Memory = strconv.Itoa(c.MemoryLimitMB)
	f.DriverConfigRequired, f.DeviceConfigRequired = v.ConfigChecks.DriverConfigRequired, v.ConfigChecks.DeviceConfigRequired
}

// load reads the submitted fields. Fields of a disabled section (the
// CPU architecture of a non-C driver, port mappings on the host network…)
// are not sent by the browser, so they are absent here too.
func (f *driverForm) load(v url.Values) {
	f.present = v
	if f.Mode == modeNewDriver {
		f.Name = strings.TrimSpace(v.Get("name"))
		f.Protocol, f.Runtime, f.CPUArch = v.Get("protocol"), v.Get("runtime"), v.Get("cpu_arch")
		f.Builtin = v.Get("builtin") == "yes"
	}
	f.Description = v.Get("description")
	if f.Mode == modeView {
		return
	}
	if f.Mode != modeEdit {
		f.VersionName = strings.TrimSpace(v.Get("version"))
	}
	f.MinEdge = strings.TrimSpace(v.Get("min_edge_version"))
	f.JVMArgs = v.Get("jvm_args")
	f.ConfigFormat = v.Get("config_format")
	f.KV = nil
	keys, vals, notes := v["kv_key"], v["kv_value"], v["kv_note"]
	for i := range max(len(keys), len(vals), len(notes)) {
		f.KV = append(f.KV, driverhub.KVPair{Key: at(keys, i), Value: at(vals, i), Note: at(notes, i)})
	}
	f.JSON = v.Get("json")
	f.HostNetwork = v.Get("host_network") != "no"
	f.Ports = nil
	hosts, ctrs, protos := v["port_host"], v["port_container"], v["port_proto"]
	for i := range max(len(hosts), len(ctrs), len(protos)) {
		f.Ports = append(f.Ports, portRow{strings.TrimSpace(at(hosts, i)), strings.TrimSpace(at(ctrs, i)), at(protos, i)})
	}
	f.Privileged = v.Get("privileged") == "yes"
	f.Devices = nil
	paths, perms, comments := v["dev_path"], v["dev_perm"], v["dev_comment"]
	for i := range max(len(paths), len(perms), len(comments)) {
		f.Devices = append(f.Devices, driverhub.DeviceMapping{HostPath: strings.TrimSpace(at(paths, i)), Permission: at(perms, i), Comment: at(comments, i)})
	}
	f.Volumes = nil
	vh, vc, vp := v["vol_host"], v["vol_container"], v["vol_perm"]
	for i := range max(len(vh), len(vc), len(vp)) {
		f.Volumes = append(f.Volumes, driverhub.VolumeMapping{HostPath: strings.TrimSpace(at(vh, i)), ContainerPath: strings.TrimSpace(at(vc, i)), Permission: at(vp, i)})
	}
	f.Memory = strings.TrimSpace(v.Get("memory_limit_mb"))
	f.DriverConfigRequired = v.Get("driver_config_required") != ""
	f.DeviceConfigRequired = v.Get("device_config_required") != ""
}

func at(s []string, i int) string {
	if i < len(s) {
		return s[i]
	}
	return ""
}

// driverInput is the driver the form describes.
func (f *driverForm) driverInput() driverhub.DriverInput {
	in := driverhub.DriverInput{Name: &f.Name, Protocol: &f.Protocol, Runtime: (*driverhub.Runtime)(&f.Runtime), Builtin: &f.Builtin, Description: &f.Description}
	if f.present.Has("cpu_arch") {
		in.CPUArch = &f.CPUArch
	}
	return in
}

// versionInput is the version the form describes: only the driver-info
// fields when infoOnly (the rest of the form has not arrived yet).
func (f *driverForm) versionInput(infoOnly bool) (driverhub.VersionInput, error) {
	in := driverhub.VersionInput{Description: &f.Description}
	if f.Mode == modeView {
		return in, nil
	}
	if f.Mode != modeEdit {
		in.Version = &f.VersionName
	}
	in.MinEdgeVersion = &f.MinEdge
	if f.present.Has("jvm_args") {
		in.JVMArgs = &f.JVMArgs
	}
	if infoOnly {
		return in, nil
	}
	f.shown = map[string][]int{}
	cfg, err := f.driverConfig()
	if err != nil {
		return in, err
	}
	in.DriverConfig = cfg
	ct, err := f.container()
	if err != nil {
		return in, err
	}
	in.Container = &ct
	in.ConfigChecks = &driverhub.ConfigChecks{DriverConfigRequired: f.DriverConfigRequired, DeviceConfigRequired: f.DeviceConfigRequired}
	return in, nil
}

// driverConfig is the version's default driver config; nil leaves it as it is.
func (f *driverForm) driverConfig() (*driverhub.DriverConfig, error) {
	switch f.ConfigFormat {
	case driverhub.ConfigKV:
		pairs := []driverhub.KVPair{}
		for i, p := range f.KV {
			if p.Key == "" && p.Value == "" && p.Note == "" {
				continue
			}
			f.shown["kv"] = append(f.shown["kv"], i)
			pairs = append(pairs, p)
		}
		return &driverhub.DriverConfig{Format: driverhub.ConfigKV, KV: pairs}, nil
	case driverhub.ConfigJSON:
		raw, _ := json.Marshal(f.JSON) // the editor's text, as a JSON string: the service parses it
		return &driverhub.DriverConfig{Format: driverhub.ConfigJSON, JSON: raw}, nil
	case driverhub.ConfigFile:
		if f.fileUploaded || (f.ConfigFile != nil && f.Version != nil && f.Version.DriverConfig != nil && f.Version.DriverConfig.Format == driverhub.ConfigFile) {
			return nil, nil // set by the upload, or kept
		}
		cfg := driverhub.DriverConfig{Format: driverhub.ConfigFile}
		return nil, cfg.Clean("driver_config") // the domain says the file is required
	}
	cfg := driverhub.DriverConfig{Format: f.ConfigFormat}
	return nil, cfg.Clean("driver_config")
}

// container reads the container settings, skipping blank rows.
func (f *driverForm) container() (driverhub.Container, error) {
	c := driverhub.DefaultContainer()
	c.HostNetwork, c.Privileged = f.HostNetwork, f.Privileged
	for i, p := range f.Ports {
		if p.Host == "" && p.Container == "" {
			continue
		}
		n := len(c.PortMappings)
		f.shown["ports"] = append(f.shown["ports"], i)
		host, err := f.number(fmt.Sprintf("container.port_mappings[%d].host_port", n), p.Host)
		if err != nil {
			return c, err
		}
		ctr, err := f.number(fmt.Sprintf("container.port_mappings[%d].container_port", n), p.Container)
		if err != nil {
			return c, err
		}
		c.PortMappings = append(c.PortMappings, driverhub.PortMapping{HostPort: host, ContainerPort: ctr, Protocol: p.Protocol})
	}
	for i, d := range f.Devices {
		if d.HostPath == "" && d.Comment == "" {
			continue
		}
		f.shown["devices"] = append(f.shown["devices"], i)
		c.DeviceMappings = append(c.DeviceMappings, d)
	}
	for i, v := range f.Volumes {
		if v.HostPath == "" && v.ContainerPath == "" {
			continue
		}
		f.shown["volumes"] = append(f.shown["volumes"], i)
		c.VolumeMappings = append(c.VolumeMappings, v)
	}
	mem, err := f.number("container.memory_limit_mb", f.Memory)
	if err != nil {
		return c, err
	}
	c.MemoryLimitMB = mem
	return c, nil
}

// number reads a whole number a form field holds; the ranges are the
// services' to check.
func (f *driverForm) number(field, s string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, driverhub.Invalid(field, "%s", text(f.lang, "form.whole_number"))
	}
	return n, nil
}

var rowField = regexp.MustCompile(`^(driver_config\.kv|container\.port_mappings|container\.device_mappings|container\.volume_mappings)\[(\d+)\]`)

var rowKind = map[string]string{"driver_config.kv": "kv", "container.port_mappings": "ports",
	"container.device_mappings": "devices", "container.volume_mappings": "volumes"}

// fieldKey turns a service's field path into the form's: rows renumbered
// as on screen, the config file's sub-fields onto its upload field.
func (f *driverForm) fieldKey(field string) string {
	if m := rowField.FindStringSubmatch(field); m != nil {
		i, _ := strconv.Atoi(m[2])
		if rows := f.shown[rowKind[m[1]]]; i < len(rows) {
			return fmt.Sprintf("%s[%d]%s", m[1], rows[i], field[len(m[0]):])
		}
	}
	switch {
	case field == "driver_config.file" || strings.HasPrefix(field, "driver_config.file."):
		return "config_file"
	case field == "driver_config.format":
		return "config_format"
	}
	return field
}

// setError puts a service error beside its field.
func (f *driverForm) setError(e *driverhub.Error) {
	if e.Field != "" {
		f.Errs[f.fieldKey(e.Field)] = e.Message
	}
}

// uploadError names the upload field for an error of an upload, whose
// own field names ("name", "body", "filename") mean that field.
func uploadError(err error, field string) error {
	e, ok := driverhub.AsError(err)
	if !ok {
		return err
	}
	switch e.Field {
	case "", "name", "body", "filename", "package":
		c := *e
		c.Field = field
		return &c
	}
	return err
}

// apply runs a no-JavaScript form operation: add or remove a row, check
// the JSON editor, or just show the sections the choices call for.
func (f *driverForm) apply(op, kind string, i int) {
	switch op {
	case "add":
		switch kind {
		case "kv":
			f.KV = append(f.KV, driverhub.KVPair{})
		case "ports":
			f.Ports = append(f.Ports, portRow{Protocol: "tcp"})
		case "devices":
			f.Devices = append(f.Devices, driverhub.DeviceMapping{Permission: "rw"})
		case "volumes":
			f.Volumes = append(f.Volumes, driverhub.VolumeMapping{Permission: "ro"})
		}
	case "remove":
		switch kind {
		case "kv":
			f.KV = remove(f.KV, i)
		case "ports":
			f.Ports = remove(f.Ports, i)
		case "devices":
			f.Devices = remove(f.Devices, i)
		case "volumes":
			f.Volumes = remove(f.Volumes, i)
		}
	case "validate-json":
		msg, ok := jsonCheck("driver_config", f.JSON)
		f.JSONCheck = &checkResult{OK: ok, Message: msg}
	}
}

func remove[T any](s []T, i int) []T {
	if i < 0 || i >= len(s) {
		return s
	}
	return slices.Delete(s, i, i+1)
}

// nextVersion suggests the version after v: its last number plus one.
func nextVersion(v string) string {
	i := strings.LastIndexFunc(v, func(r rune) bool { return r < '0' || r > '9' })
	digits := v[i+1:]
	n, err := strconv.Atoi(digits)
	if digits == "" || err != nil {
		return ""
	}
	return v[:i+1] + strconv.Itoa(n+1)
}
