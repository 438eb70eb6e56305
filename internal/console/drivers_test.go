package console_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/driverhub/driverhub"
	"github.com/driverhub/driverhub/internal/apitest"
)

// meterForm is the seed's form filled in, in the order of the page.
func meterForm(t testing.TB, name string, pkg []byte) []part {
	parts := []part{
		field("name", name), field("protocol", "modbus"), field("runtime", "python3"), field("builtin", "no"),
		field("version", "1.0.0"), field("min_edge_version", "1.0.0"), field("description", "Reads power meters"),
	}
	if pkg != nil {
		parts = append(parts, part{Name: "package", Filename: "meter.zip", Data: pkg})
	}
	return append(parts,
		field("config_format", "kv"), field("kv_key", "poll_ms"), field("kv_value", "500"), field("kv_note", "poll period"),
		field("json", ""),
		field("host_network", "no"), field("port_host", "8502"), field("port_container", "502"), field("port_proto", "tcp"),
		field("privileged", "no"), field("dev_path", "/dev/ttyUSB0"), field("dev_perm", "rw"), field("dev_comment", "RS-485"),
		field("vol_host", "/var/lib/meter"), field("vol_container", "/data"), field("vol_perm", "rw"),
		field("memory_limit_mb", "256"), field("driver_config_required", "on"))
}

func replace(parts []part, name, value string) []part {
	out := append([]part(nil), parts...)
	for i := range out {
		if out[i].Name == name && out[i].Filename == "" {
			out[i].Value = value
			return out
		}
	}
	return append(out, field(name, value))
}

func TestNewDriverFormCreatesDriverVersionAndPackage(t *testing.T) {
	srv := apitest.New(t)
	b := adminBrowser(t, srv)
	form := b.mustGet("/drivers/new").Body
	for _, want := range []string{`accept=".zip"`, `name="memory_limit_mb" value="1024"`, `id="cpu-arch-field" data-show-when="runtime=c" hidden disabled`,
		`id="ports-field" data-show-when="host_network=no" hidden disabled`, `data-max="100"`, `name="driver_config_required"`, `name="device_config_required"`,
		`data-max-bytes="52428800"`} {
		if !strings.Contains(form, want) {
			t.Errorf("new driver form lacks %s", want)
		}
	}
	pkg := pythonPackage(t)
	// The file uploads, and the form shows what it holds for the user to
	// confirm (the seed: 上传成功后，单击确认); nothing is saved yet.
	p := b.postMultipart("/drivers/new", meterForm(t, "modbus_meter", pkg)...)
	if p.Status != http.StatusOK || !strings.Contains(p.Body, `class="upload-summary confirm-upload"`) {
		t.Fatalf("submit with a package: %d %s", p.Status, snippet(p.Body))
	}
	summary := p.Body[strings.Index(p.Body, `id="package-summary"`):]
	summary = summary[:strings.Index(summary, `<p class="hint">`)]
	for _, want := range []string{"meter.zip", strconv.Itoa(len(pkg)) + " B", sha256Hex(pkg), "index.py found at the top level"} {
		if !strings.Contains(summary, want) {
			t.Errorf("the uploaded file's summary lacks %q: %s", want, summary)
		}
	}
	if !strings.Contains(p.Body, "The driver file is uploaded. Check what it holds below") {
		t.Error("the page does not ask to check and confirm the file")
	}
	if r := srv.Do(t, "GET", "/api/v1/drivers/modbus_meter", srv.AdminToken, nil); r.Status != http.StatusNotFound {
		t.Fatalf("the driver exists before the file was confirmed: %d", r.Status)
	}
	p = b.saveDraft("/drivers/new", meterForm(t, "modbus_meter", pkg)...)
	if p.Status != http.StatusSeeOther || p.Location != "/drivers/modbus_meter?notice=driver_created" {
		t.Fatalf("confirm: %d %q: %s", p.Status, p.Location, snippet(p.Body))
	}
	ctx := driverhub.WithPrincipal(context.Background(), principal(t, srv))
	d, err := srv.Service.GetDriver(ctx, "modbus_meter")
	if err != nil || d.Protocol != "modbus" || d.Runtime != "python3" || d.Description != "Reads power meters" {
		t.Fatalf("driver: %+v %v", d, err)
	}
	v, err := srv.Service.GetVersion(ctx, "modbus_meter", "1.0.0")
	if err != nil {
		t.Fatal(err)
	}
	if v.Package == nil || v.Package.Filename != "meter.zip" || v.Package.Size != int64(len(pkg)) {
		t.Errorf("package: %+v", v.Package)
	}
	c := v.Container
	if c.HostNetwork || len(c.PortMappings) != 1 || c.PortMappings[0].HostPort != 8502 || len(c.DeviceMappings) != 1 ||
		c.DeviceMappings[0].Comment != "RS-485" || len(c.VolumeMappings) != 1 || c.MemoryLimitMB != 256 {
		t.Errorf("container: %+v", c)
	}
	if v.DriverConfig == nil || v.DriverConfig.Format != "kv" || len(v.DriverConfig.KV) != 1 || v.DriverConfig.KV[0].Note != "poll period" {
		t.Errorf("driver config: %+v", v.DriverConfig)
	}
	if !v.ConfigChecks.DriverConfigRequired || v.ConfigChecks.DeviceConfigRequired || v.MinEdgeVersion != "1.0.0" {
		t.Errorf("checks and edge version: %+v %q", v.ConfigChecks, v.MinEdgeVersion)
	}
	page := b.mustGet(p.Location)
	if !strings.Contains(page.Body, "Driver created.") || !strings.Contains(page.Body, `data-version="1.0.0"`) {
		t.Errorf("driver page: %s", snippet(page.Body))
	}
	// The same name again is refused beside the name, and the first driver stays.
	p = b.postMultipart("/drivers/new", meterForm(t, "modbus_meter", pkg)...)
	if p.Status != http.StatusConflict || !strings.Contains(p.Body, `id="err-name"`) {
		t.Errorf("duplicate name: %d %s", p.Status, snippet(p.Body))
	}
	if _, err := srv.Service.GetVersion(ctx, "modbus_meter", "1.0.0"); err != nil {
		t.Errorf("a refused duplicate removed the existing driver: %v", err)
	}
}

func principal(t testing.TB, srv *apitest.Server) *driverhub.Principal {
	t.Helper()
	p, err := srv.Service.Authenticate(context.Background(), srv.AdminToken)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestRefusedFormKeepsValuesAndShowsErrorsBesideFields(t *testing.T) {
	srv := apitest.New(t)
	b := adminBrowser(t, srv)
	pkg := pythonPackage(t)
	cases := []struct {
		name   string
		parts  []part
		status int
		errID  string
		msg    string
	}{
		{"bad name", meterForm(t, "9meter", pkg), 400, "err-name", "must start with a letter"},
		{"port not a number", replace(meterForm(t, "meter_a", pkg), "port_host", "80x"), 400, "err-container-port_mappings-0-host_port", "must be a whole number"},
		{"memory too low", replace(meterForm(t, "meter_b", pkg), "memory_limit_mb", "8"), 400, "err-container-memory_limit_mb", "must be 16-65536"},
		{"C without arch", replace(meterForm(t, "meter_c", nil), "runtime", "c"), 400, "err-cpu_arch", "is required when runtime is c"},
		{"package without entry file", meterForm(t, "meter_d", zipOf(t, map[string]string{"main.js": "x"})), 400, "err-package", "index.py"},
		{"malformed JSON", replace(replace(meterForm(t, "meter_e", pkg), "config_format", "json"), "json", "{\n  \"a\": 1,\n}"), 400, "err-driver_config-json", "line 3, column 1"},
		{"bad edge version", replace(meterForm(t, "meter_f", pkg), "min_edge_version", "1.0"), 400, "err-min_edge_version", "MAJOR.MINOR.PATCH"},
		{"file format without file", replace(meterForm(t, "meter_g", pkg), "config_format", "file"), 400, "err-config_file", "upload the file"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := b.postMultipart("/drivers/new", c.parts...)
			if p.Status != c.status {
				t.Fatalf("status %d, want %d: %s", p.Status, c.status, snippet(p.Body))
			}
			i := strings.Index(p.Body, `id="`+c.errID+`"`)
			if i < 0 {
				t.Fatalf("no %s beside its field: %s", c.errID, snippet(p.Body))
			}
			if !strings.Contains(p.Body[i:min(len(p.Body), i+400)], c.msg) {
				t.Errorf("%s does not say %q: %s", c.errID, c.msg, p.Body[i:min(len(p.Body), i+400)])
			}
			for _, kept := range []string{`value="poll_ms"`, `value="poll period"`, `value="/dev/ttyUSB0"`, `value="/var/lib/meter"`, "Reads power meters", `value="1.0.0"`} {
				if !strings.Contains(p.Body, kept) {
					t.Errorf("the refused form lost %s", kept)
				}
			}
			name := ""
			for _, f := range c.parts {
				if f.Name == "name" {
					name = f.Value
				}
			}
			if !strings.Contains(p.Body, `value="`+name+`"`) {
				t.Errorf("the refused form lost the name %q", name)
			}
			if r := srv.Do(t, "GET", "/api/v1/drivers/"+url.PathEscape(name), srv.AdminToken, nil); r.Status != http.StatusNotFound {
				t.Errorf("a refused form left driver %s behind: %d", name, r.Status)
			}
		})
	}
	// C shows its architecture field once chosen.
	p := b.postMultipart("/drivers/new", replace(meterForm(t, "meter_c", nil), "runtime", "c")...)
	if !strings.Contains(p.Body, `id="cpu-arch-field" data-show-when="runtime=c">`) {
		t.Error("the CPU architecture field is hidden for a C driver")
	}
}

func TestKVRowsRenumberedAndOperationsWithoutJavaScript(t *testing.T) {
	srv := apitest.New(t)
	b := adminBrowser(t, srv)
	parts := meterForm(t, "meter", nil)
	parts = append(parts, field("kv_key", ""), field("kv_value", ""), field("kv_note", ""), field("kv_key", "poll_ms"), field("kv_value", "9"), field("kv_note", ""))
	p := b.postMultipart("/drivers/new", parts...)
	if p.Status != http.StatusBadRequest || !strings.Contains(p.Body, `id="err-driver_config-kv-2-key"`) || !strings.Contains(p.Body, "duplicate key") {
		t.Fatalf("duplicate key after a blank row: %d %s", p.Status, snippet(p.Body))
	}
	// Without JavaScript, the buttons post the form with an operation; the form comes back changed.
	p = b.postMultipart("/drivers/new?op=add&kind=kv", meterForm(t, "meter", nil)...)
	if p.Status != http.StatusOK || strings.Count(p.Body, `name="kv_key"`) != 3 { // two rows and the row template
		t.Errorf("add row: %d, %d kv rows", p.Status, strings.Count(p.Body, `name="kv_key"`)-1)
	}
	p = b.postMultipart("/drivers/new?op=remove&kind=ports&i=0", meterForm(t, "meter", nil)...)
	if p.Status != http.StatusOK || strings.Contains(p.Body, `value="8502"`) {
		t.Errorf("remove row: %d", p.Status)
	}
	p = b.postMultipart("/drivers/new?op=validate-json", replace(replace(meterForm(t, "meter", nil), "config_format", "json"), "json", `{"a" 1}`)...)
	if p.Status != http.StatusOK || !strings.Contains(p.Body, "line 1, column 6") {
		t.Errorf("validate JSON: %d %s", p.Status, snippet(p.Body))
	}
	if r := srv.Do(t, "GET", "/api/v1/drivers/meter", srv.AdminToken, nil); r.Status != http.StatusNotFound {
		t.Error("a form operation created the driver")
	}
	// The editor's button asks the server for the same check as the services.
	r := b.post("/console/check-json", url.Values{"kind": {"device_config"}, "text": {`[1]`}})
	if r.Status != http.StatusOK || !strings.Contains(r.Body, `"ok":false`) || !strings.Contains(r.Body, "JSON object") {
		t.Errorf("check-json: %d %s", r.Status, r.Body)
	}
}

func TestVersionManagement(t *testing.T) {
	srv := apitest.New(t)
	b := adminBrowser(t, srv)
	pkg := pythonPackage(t)
	if p := b.saveDraft("/drivers/new", meterForm(t, "meter", pkg)...); p.Status != http.StatusSeeOther {
		t.Fatalf("create: %d %s", p.Status, snippet(p.Body))
	}
	versionsAddAndEdit(t, srv, b, pkg)
	versionsPublishAndView(t, b, pkg)
	versionsDownloadDeleteAndList(t, b, pkg)
}

// versionsAddAndEdit adds version 1.0.1 of meter from the prefilled form,
// then edits that draft, replacing its package.
func versionsAddAndEdit(t *testing.T, srv *apitest.Server, b *browser, pkg []byte) {
	// Add version: the newest version's settings, the next version number.
	nv := b.mustGet("/drivers/meter/versions/new").Body
	if !strings.Contains(nv, `name="version" value="1.0.1"`) || !strings.Contains(nv, `value="poll_ms"`) || !strings.Contains(nv, `value="8502"`) {
		t.Errorf("add-version form is not prefilled: %s", snippet(nv))
	}
	parts := replace(replace(meterForm(t, "", nil)[1:], "version", "1.0.1"), "description", "second")
	if p := b.postMultipart("/drivers/meter/versions/new", parts...); p.Status != http.StatusSeeOther {
		t.Fatalf("add version: %d %s", p.Status, snippet(p.Body))
	}
	// Edit the draft, replacing its package.
	parts = replace(replace(meterForm(t, "", nil)[1:], "description", "edited"), "memory_limit_mb", "512")
	parts = append(parts[:6], append([]part{{Name: "package", Filename: "v2.zip", Data: pkg}}, parts[6:]...)...)
	if p := b.saveDraft("/drivers/meter/versions/1.0.1", parts...); p.Status != http.StatusSeeOther {
		t.Fatalf("edit: %d %s", p.Status, snippet(p.Body))
	}
	ctx := driverhub.WithPrincipal(context.Background(), principal(t, srv))
	v, _ := srv.Service.GetVersion(ctx, "meter", "1.0.1")
	if v.Description != "edited" || v.Container.MemoryLimitMB != 512 || v.Package == nil || v.Package.Filename != "v2.zip" {
		t.Errorf("edited version: %+v", v)
	}
}

// versionsPublishAndView publishes meter 1.0.0, checks what the rows of
// the published version and the draft offer, then views the published
// one, changes its description and fails to delete it.
func versionsPublishAndView(t *testing.T, b *browser, pkg []byte) {
	// Publish 1.0.0 (the confirmation page is what the dialog shows without JavaScript).
	if p := b.mustGet("/drivers/meter/versions/1.0.0/publish"); !strings.Contains(p.Body, "cannot be undone") ||
		!strings.Contains(p.Body, sha256Hex(pkg)) || !strings.Contains(p.Body, "8502→502/tcp") || !strings.Contains(p.Body, "poll_ms") {
		t.Error("the publish confirmation does not say it cannot be undone, or not what becomes permanent (package digest, ports, config)")
	}
	if p := b.post("/drivers/meter/versions/1.0.0/publish", nil); p.Status != http.StatusSeeOther {
		t.Fatalf("publish: %d %s", p.Status, snippet(p.Body))
	}
	page := b.mustGet("/drivers/meter").Body
	published := rowOf(t, page, "1.0.0")
	draft := rowOf(t, page, "1.0.1")
	if strings.Contains(published, "act-delete") || strings.Contains(published, "act-edit") || !strings.Contains(published, "act-view") || !strings.Contains(published, "act-download") {
		t.Errorf("published row offers the wrong actions: %s", published)
	}
	for _, want := range []string{"act-edit", "act-publish", "act-delete", "act-download", "cannot be undone"} {
		if !strings.Contains(draft, want) {
			t.Errorf("draft row lacks %s", want)
		}
	}
	// View: a page of what the version holds, where only the description changes.
	view := b.mustGet("/drivers/meter/versions/1.0.0").Body
	if strings.Contains(view, `<input`) && regexp.MustCompile(`<(input|select)\b[^>]*name="(version|min_edge_version|package|kv_key|port_host|memory_limit_mb)"`).MatchString(view) {
		t.Error("the published version's page offers fields that cannot change")
	}
	for _, want := range []string{`id="description"`, `class="version-facts"`, "meter.zip", sha256Hex(pkg), "8502→502/tcp", "256 MB", `id="download-package"`} {
		if !strings.Contains(view, want) {
			t.Errorf("the published version's page lacks %s", want)
		}
	}
	if p := b.postMultipart("/drivers/meter/versions/1.0.0", field("description", "now with a longer description")); p.Status != http.StatusSeeOther {
		t.Fatalf("describe published: %d %s", p.Status, snippet(p.Body))
	}
	if p := b.post("/drivers/meter/versions/1.0.0/delete", nil); p.Status != http.StatusConflict {
		t.Errorf("deleting a published version: %d", p.Status)
	}
}

// versionsDownloadDeleteAndList downloads meter 1.0.0's package, deletes
// the draft 1.0.1, lists meter in the marketplace and unlists it, then
// fails to delete meter.
func versionsDownloadDeleteAndList(t *testing.T, b *browser, pkg []byte) {
	// Download.
	dl := b.get("/drivers/meter/versions/1.0.0/package")
	if dl.Status != http.StatusOK || dl.Body != string(pkg) || !strings.Contains(dl.Header.Get("Content-Disposition"), "meter-1.0.0.zip") {
		t.Errorf("download: %d %q", dl.Status, dl.Header.Get("Content-Disposition"))
	}
	// Delete the draft.
	if p := b.post("/drivers/meter/versions/1.0.1/delete", nil); p.Status != http.StatusSeeOther {
		t.Errorf("delete draft: %d", p.Status)
	}
	// List in the marketplace, then unlist.
	if p := b.post("/drivers/meter/listing", url.Values{"title": {""}}); p.Status != http.StatusBadRequest || !strings.Contains(p.Body, `id="err-title"`) {
		t.Errorf("listing without title: %d", p.Status)
	}
	if p := b.post("/drivers/meter/listing", url.Values{"title": {"Power meter"}, "summary": {"Modbus meters"}}); p.Status != http.StatusSeeOther {
		t.Fatalf("list: %d %s", p.Status, snippet(p.Body))
	}
	if m := b.mustGet("/marketplace").Body; !strings.Contains(m, "Power meter") {
		t.Error("the listing is not in the marketplace")
	}
	if p := b.post("/drivers/meter/unlist", nil); p.Status != http.StatusSeeOther {
		t.Errorf("unlist: %d", p.Status)
	}
	if p := b.post("/drivers/meter/delete", nil); p.Status != http.StatusConflict {
		t.Errorf("deleting a driver with a published version: %d", p.Status)
	}
}

// rowOf returns the HTML of a version's row on the driver page.
func rowOf(t testing.TB, page, version string) string {
	t.Helper()
	i := strings.Index(page, `data-version="`+version+`"`)
	if i < 0 {
		t.Fatalf("no row of version %s", version)
	}
	end := strings.Index(page[i:], "</tr>")
	return page[i : i+end]
}

func TestConfigFileUploads(t *testing.T) {
	srv := apitest.New(t)
	b := adminBrowser(t, srv)
	parts := replace(meterForm(t, "meter", pythonPackage(t)), "config_format", "file")
	for i := range parts { // the config file input follows the JSON editor
		if parts[i].Name == "json" {
			parts = append(parts[:i+1], append([]part{{Name: "config_file", Filename: "meter.ini", Data: []byte("[meter]\npoll=500\n")}}, parts[i+1:]...)...)
			break
		}
	}
	if p := b.saveDraft("/drivers/new", parts...); p.Status != http.StatusSeeOther {
		t.Fatalf("create with a config file: %d %s", p.Status, snippet(p.Body))
	}
	ctx := driverhub.WithPrincipal(context.Background(), principal(t, srv))
	v, err := srv.Service.GetVersion(ctx, "meter", "1.0.0")
	if err != nil || v.DriverConfig == nil || v.DriverConfig.Format != "file" || v.DriverConfig.File.Name != "meter.ini" {
		t.Fatalf("config file: %+v %v", v, err)
	}
	if dl := b.get("/drivers/meter/versions/1.0.0/config-file"); dl.Status != http.StatusOK || dl.Body != "[meter]\npoll=500\n" {
		t.Errorf("download config file: %d %q", dl.Status, dl.Body)
	}
	// Editing without choosing a file keeps it.
	edit := replace(meterForm(t, "", nil)[1:], "config_format", "file")
	if p := b.postMultipart("/drivers/meter/versions/1.0.0", edit...); p.Status != http.StatusSeeOther {
		t.Fatalf("edit keeping the file: %d %s", p.Status, snippet(p.Body))
	}
	if v, _ := srv.Service.GetVersion(ctx, "meter", "1.0.0"); v.DriverConfig == nil || v.DriverConfig.File == nil {
		t.Error("editing dropped the config file")
	}
	// An instance driver config from a file.
	b.post("/instances", url.Values{"name": {"gw1"}})
	b.post("/instances/gw1/bind", url.Values{"choice": {"|meter|1.0.0"}})
	p := b.postMultipart("/instances/gw1/drivers/meter/config", field("config_format", "file"), part{Name: "config_file", Filename: "site.ini", Data: []byte("x=1")})
	if p.Status != http.StatusSeeOther {
		t.Fatalf("instance config file: %d %s", p.Status, snippet(p.Body))
	}
	if bp := b.mustGet("/instances/gw1/drivers/meter").Body; !strings.Contains(bp, "site.ini") {
		t.Error("the binding page does not show the instance's config file")
	}
	if p := b.get("/no/such/page"); p.Status != http.StatusNotFound {
		t.Errorf("unknown page: %d", p.Status)
	}
}
