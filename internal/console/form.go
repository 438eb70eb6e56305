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
	// Signature of a published version (SPEC §11); nil: not shown.
	Signature *signatureView

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
	// Staged are files staged by a submit of this form, by file field
	// ("package", "config_file"): the form sends them back until it is saved.
	Staged map[string]*stagedFile
	// Uploads describe the staged files (formfacts.go); Confirm asks the user
	// to confirm a package this submit uploaded, as the seed's 确认 does.
	Uploads map[string]*driverhub.StagedUpload
	Confirm bool
	Facts   formFacts
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
	fileUploaded bool // an instance config file came with the form
	// shown[kind][i] is the row on screen of the i-th row sent to the service (blank rows are skipped).
	shown map[string][]int
}

// stagedFile is an upload staged by an earlier submit, carried in the
// hidden fields FIELD_upload (its id) and FIELD_upload_name.
type stagedFile struct{ ID, Name string }

// fileKinds are the form's file fields and what their uploads hold.
var fileKinds = map[string]driverhub.UploadKind{"package": driverhub.UploadPackage, "config_file": driverhub.UploadConfigFile}

type checkResult struct {
	OK      bool
	Message string
}

func newDriverForm(mode, lang string) *driverForm {
	f := &driverForm{Mode: mode, lang: lang, Protocol: driverhub.Protocols[0], Runtime: string(driverhub.AllRuntimes[0]),
		MinEdge: driverhub.Version, ConfigFormat: driverhub.ConfigKV, HostNetwork: true,
		Memory: strconv.Itoa(driverhub.DefaultMemoryLimitMB), Errs: map[string]string{}, present: url.Values{},
		Staged: map[string]*stagedFile{}, Uploads: map[string]*driverhub.StagedUpload{}}
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
	for field := range fileKinds {
		if id := v.Get(field + "_upload"); id != "" {
			f.Staged[field] = &stagedFile{ID: id, Name: v.Get(field + "_upload_name")}
		}
	}
	if f.Mode != modeEdit {
		f.VersionName = strings.TrimSpace(v.Get("version"))
	}
	f.MinEdge = strings.TrimSpace(v.Get("min_edge_version"))
	if other := strings.TrimSpace(v.Get("min_edge_version_other")); other != "" || f.MinEdge == otherEdgeVersion {
		f.MinEdge = other // typed beside the list, it wins over the list
	}
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

// draftInput is what the form asks the services to save. What the form
// cannot read itself (a port that is not a number) comes back as problems
// and is sent as zero, so that the services still check everything else.
func (f *driverForm) draftInput() (driverhub.DraftInput, []*driverhub.Error) {
	var in driverhub.DraftInput
	switch f.Mode {
	case modeNewDriver:
		d := f.driverInput()
		in.NewDriver = &d
	case modeEdit:
		in.Driver, in.Version = f.Driver.Name, f.Version.Version
	default:
		in.Driver = f.Driver.Name
	}
	var problems []*driverhub.Error
	in.Fields, problems = f.versionInput()
	if st := f.Staged["package"]; st != nil {
		in.PackageUpload = st.ID
	}
	if st := f.Staged["config_file"]; st != nil && f.ConfigFormat == driverhub.ConfigFile {
		in.ConfigFileUpload = st.ID
	}
	return in, problems
}

// versionInput is the version the form describes.
func (f *driverForm) versionInput() (driverhub.VersionInput, []*driverhub.Error) {
	in := driverhub.VersionInput{Description: &f.Description, MinEdgeVersion: &f.MinEdge}
	if f.Mode != modeEdit {
		in.Version = &f.VersionName
	}
	if f.present.Has("jvm_args") {
		in.JVMArgs = &f.JVMArgs
	}
	f.shown = map[string][]int{}
	var problems []*driverhub.Error
	cfg, err := f.driverConfig()
	if e, ok := driverhub.AsError(err); ok {
		problems = append(problems, e)
	}
	in.DriverConfig = cfg
	ct, bad := f.container()
	in.Container = &ct
	in.ConfigChecks = &driverhub.ConfigChecks{DriverConfigRequired: f.DriverConfigRequired, DeviceConfigRequired: f.DeviceConfigRequired}
	return in, append(problems, bad...)
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
		if f.fileUploaded || f.Staged["config_file"] != nil {
			return nil, nil // set by the upload
		}
		// The file the version holds, or the services ask for one.
		return &driverhub.DriverConfig{Format: driverhub.ConfigFile}, nil
	}
	cfg := driverhub.DriverConfig{Format: f.ConfigFormat}
	return nil, cfg.Clean("driver_config")
}

// container reads the container settings, skipping blank rows. A number
// the form cannot read is a problem, and zero in the settings; the ranges
// are the services' to check.
func (f *driverForm) container() (driverhub.Container, []*driverhub.Error) {
	c := driverhub.DefaultContainer()
	c.HostNetwork, c.Privileged = f.HostNetwork, f.Privileged
	var bad []*driverhub.Error
	number := func(field, s string) int {
		n, err := strconv.Atoi(s)
		if err != nil {
			bad = append(bad, driverhub.Invalid(field, "%s", text(f.lang, "form.whole_number")))
		}
		return n
	}
	for i, p := range f.Ports {
		if p.Host == "" && p.Container == "" {
			continue
		}
		n := len(c.PortMappings)
		f.shown["ports"] = append(f.shown["ports"], i)
		c.PortMappings = append(c.PortMappings, driverhub.PortMapping{Protocol: p.Protocol,
			HostPort:      number(fmt.Sprintf("container.port_mappings[%d].host_port", n), p.Host),
			ContainerPort: number(fmt.Sprintf("container.port_mappings[%d].container_port", n), p.Container)})
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
	c.MemoryLimitMB = number("container.memory_limit_mb", f.Memory)
	return c, bad
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
	case field == "driver_config.file" || strings.HasPrefix(field, "driver_config.file.") || field == "config_file_upload":
		return "config_file"
	case field == "driver_config.format":
		return "config_format"
	case field == "package_upload":
		return "package"
	}
	return field
}

// setError puts a service error beside its field, in the form's language.
func (f *driverForm) setError(e *driverhub.Error) {
	if e.Field != "" {
		f.Errs[f.fieldKey(e.Field)] = localize(f.lang, e).Message
	}
}

// setErrors puts each problem beside its field, the first of a field
// winning, and returns the one error to show on top: nil, the problem
// itself, or one listing them all in the order of the page (with their
// code when they share it).
func (f *driverForm) setErrors(problems []*driverhub.Error) *driverhub.Error {
	var shown []*driverhub.Error
	seen := map[string]bool{}
	for _, e := range problems {
		k := f.fieldKey(e.Field)
		if e.Field == "" {
			k = e.Code + ": " + e.Message // the same refusal of an upload and of the save
		}
		if seen[k] {
			continue
		}
		seen[k] = true
		e = localize(f.lang, e)
		if e.Field != "" {
			f.Errs[k] = e.Message
		}
		shown = append(shown, e)
	}
	switch len(shown) {
	case 0:
		return nil
	case 1:
		return shown[0]
	}
	slices.SortStableFunc(shown, func(a, b *driverhub.Error) int { return formOrder(a.Field) - formOrder(b.Field) })
	top := &driverhub.Error{Code: shown[0].Code, Message: fmt.Sprintf(text(f.lang, "form.problems"), len(shown))}
	for _, e := range shown {
		top.Problems = append(top.Problems, driverhub.Problem{Code: driverhub.ProblemCode(e.Code), Field: e.Field, Message: e.Message})
		if e.Code != top.Code {
			top.Code = driverhub.EInvalid
		}
	}
	return top
}

// formFields are the prefixes of the fields, in the order the page shows them.
var formFields = []string{"name", "protocol", "runtime", "cpu_arch", "builtin", "version", "min_edge_version", "description",
	"jvm_args", "package", "driver_config", "config_file", "container.port_mappings", "container.device_mappings",
	"container.volume_mappings", "container.memory_limit_mb"}

// formOrder is where a service field is on the page; unknown fields last.
func formOrder(field string) int {
	for i, p := range formFields {
		if field == p || strings.HasPrefix(field, p+".") || strings.HasPrefix(field, p+"[") || strings.HasPrefix(field, p+"_upload") {
			return i
		}
	}
	return len(formFields)
}

// fieldProblems splits an error about several fields into one per field.
func fieldProblems(e *driverhub.Error) []*driverhub.Error {
	if len(e.Problems) == 0 {
		return []*driverhub.Error{e}
	}
	var out []*driverhub.Error
	for _, p := range e.Problems {
		if p.Field == "" {
			return []*driverhub.Error{e} // not about fields: shown as it is
		}
		out = append(out, &driverhub.Error{Code: string(p.Code), Field: p.Field, Message: p.Message, Format: p.Format, Args: p.Args})
	}
	return out
}

// uploadError names the upload field for a refused file, whose own field
// names ("name", "body", "filename") mean that field. Other refusals (a
// missing role) are not about the file.
func uploadError(err error, field string) error {
	e, ok := driverhub.AsError(err)
	if !ok || (e.Code != driverhub.EInvalid && e.Code != driverhub.ETooLarge) {
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
		msg, ok := jsonCheck(f.lang, "driver_config", f.JSON)
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
