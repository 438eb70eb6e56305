package console_test

import (
	"context"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/driverhub/driverhub"
	"github.com/driverhub/driverhub/internal/apitest"
)

// withConfigFile puts a config file part after the JSON editor, as the page does.
func withConfigFile(parts []part, name string, data []byte) []part {
	parts = replace(parts, "config_format", "file")
	for i := range parts {
		if parts[i].Name == "json" {
			return append(parts[:i+1], append([]part{{Name: "config_file", Filename: name, Data: data}}, parts[i+1:]...)...)
		}
	}
	return parts
}

// hiddenFields returns the hidden fields of a page, in order.
func hiddenFields(page string) []part {
	var out []part
	for _, m := range regexp.MustCompile(`<input type="hidden" name="([a-z_]+)" value="([^"]*)">`).FindAllStringSubmatch(page, -1) {
		if m[1] != "csrf" {
			out = append(out, field(m[1], m[2]))
		}
	}
	return out
}

func TestRefusedFormKeepsTheChosenFiles(t *testing.T) {
	srv := apitest.New(t)
	b := adminBrowser(t, srv)
	pkg, ini := pythonPackage(t), []byte("[meter]\npoll=500\n")
	p := b.postMultipart("/drivers/new", withConfigFile(meterForm(t, "9meter", pkg), "meter.ini", ini)...)
	if p.Status != http.StatusBadRequest || !strings.Contains(p.Body, `id="err-name"`) {
		t.Fatalf("bad name: %d %s", p.Status, snippet(p.Body))
	}
	for _, want := range []string{`id="package-kept">Uploaded file: meter.zip</strong>`, `id="config_file-kept">Uploaded file: meter.ini</strong>`,
		`name="package_upload_name" value="meter.zip"`, `name="config_file_upload_name" value="meter.ini"`, `<input type="file" id="package"`} {
		if !strings.Contains(p.Body, want) {
			t.Errorf("the refused form lacks %s", want)
		}
	}
	kept := hiddenFields(p.Body)
	if len(kept) != 4 {
		t.Fatalf("hidden fields of the refused form: %v", kept)
	}

	// Sent again with the name corrected and no file chosen, it uses the kept files.
	p = b.postMultipart("/drivers/new", append(replace(meterForm(t, "meter", nil), "config_format", "file"), kept...)...)
	if p.Status != http.StatusSeeOther {
		t.Fatalf("resubmit with the kept files: %d %s", p.Status, snippet(p.Body))
	}
	ctx := driverhub.WithPrincipal(context.Background(), principal(t, srv))
	v, err := srv.Service.GetVersion(ctx, "meter", "1.0.0")
	if err != nil {
		t.Fatal(err)
	}
	if v.Package == nil || v.Package.Filename != "meter.zip" || v.Package.Size != int64(len(pkg)) {
		t.Errorf("package: %+v", v.Package)
	}
	if v.DriverConfig == nil || v.DriverConfig.File == nil || v.DriverConfig.File.Name != "meter.ini" || v.DriverConfig.File.Size != int64(len(ini)) {
		t.Errorf("config file: %+v", v.DriverConfig)
	}
	if dl := b.get("/drivers/meter/versions/1.0.0/package"); dl.Body != string(pkg) {
		t.Error("the kept package downloads as other bytes")
	}

	// The kept files were used up: the same hidden fields cannot make another version.
	p = b.postMultipart("/drivers/meter/versions/new", append(replace(meterForm(t, "", nil)[1:], "version", "1.0.1"), kept[:2]...)...)
	if p.Status != http.StatusBadRequest || !strings.Contains(p.Body, `id="err-package"`) || !strings.Contains(p.Body, "choose the file again") {
		t.Errorf("a used-up upload: %d %s", p.Status, snippet(p.Body))
	}
}

func TestRefusedFileReplacesTheKeptOne(t *testing.T) {
	srv := apitest.New(t)
	b := adminBrowser(t, srv)
	p := b.postMultipart("/drivers/new", meterForm(t, "9meter", pythonPackage(t))...)
	kept := hiddenFields(p.Body)
	if len(kept) != 2 {
		t.Fatalf("hidden fields: %v", kept)
	}
	// Another file chosen, and refused: its error shows, and no file is kept.
	parts := append(meterForm(t, "meter", zipOf(t, map[string]string{"main.js": "x"})), kept...)
	p = b.postMultipart("/drivers/new", parts...)
	if p.Status != http.StatusBadRequest || !strings.Contains(p.Body, `id="err-package"`) || strings.Contains(p.Body, "Uploaded file:") {
		t.Errorf("a refused replacement: %d %s", p.Status, snippet(p.Body))
	}
	if r := srv.Do(t, "GET", "/api/v1/drivers/meter", srv.AdminToken, nil); r.Status != http.StatusNotFound {
		t.Errorf("a refused replacement let the driver be created with the older file: %d", r.Status)
	}
}

func TestFormOperationKeepsTheChosenFile(t *testing.T) {
	srv := apitest.New(t)
	b := adminBrowser(t, srv)
	p := b.postMultipart("/drivers/new?op=add&kind=kv", meterForm(t, "meter", pythonPackage(t))...)
	if p.Status != http.StatusOK || !strings.Contains(p.Body, "Uploaded file: meter.zip") || !strings.Contains(p.Body, `name="package_upload"`) {
		t.Errorf("adding a row without JavaScript lost the chosen file: %d %s", p.Status, snippet(p.Body))
	}
}

func TestRefusedFormShowsEveryProblemAtOnce(t *testing.T) {
	srv := apitest.New(t)
	b := adminBrowser(t, srv)
	parts := replace(replace(replace(meterForm(t, "9meter", zipOf(t, map[string]string{"main.js": "x"})),
		"min_edge_version", "1.0"), "memory_limit_mb", "8"), "port_host", "80x")
	p := b.postMultipart("/drivers/new", parts...)
	if p.Status != http.StatusBadRequest {
		t.Fatalf("status %d: %s", p.Status, snippet(p.Body))
	}
	for id, says := range map[string]string{
		"err-name":                                "must start with a letter",
		"err-min_edge_version":                    "MAJOR.MINOR.PATCH",
		"err-container-memory_limit_mb":           "must be 16-65536",
		"err-container-port_mappings-0-host_port": "must be a whole number",
		"err-package":                             "index.py",
	} {
		i := strings.Index(p.Body, `id="`+id+`"`)
		if i < 0 {
			t.Errorf("no %s beside its field", id)
			continue
		}
		if got := p.Body[i:min(len(p.Body), i+300)]; !strings.Contains(got, says) {
			t.Errorf("%s does not say %q: %s", id, says, got)
		}
	}
	if box := p.Body[strings.Index(p.Body, `id="errbox"`):]; strings.Count(box[:strings.Index(box, "</div>")], "<li>") != 5 {
		t.Errorf("the error box does not list the five problems: %s", box[:strings.Index(box, "</div>")])
	}
	if r := srv.Do(t, "GET", "/api/v1/drivers/9meter", srv.AdminToken, nil); r.Status != http.StatusNotFound {
		t.Errorf("a refused form created the driver: %d", r.Status)
	}
}

func TestViewerCannotStageOrSave(t *testing.T) {
	srv := apitest.New(t)
	name, pw := newUser(t, srv, "vera", driverhub.RoleViewer)
	b := newBrowser(t, srv)
	b.login(name, pw)
	p := b.postMultipart("/drivers/new", meterForm(t, "meter", pythonPackage(t))...)
	if p.Status != http.StatusForbidden || strings.Contains(p.Body, "Uploaded file:") {
		t.Errorf("a viewer's form: %d %s", p.Status, snippet(p.Body))
	}
	if n := strings.Count(p.Body, "this needs the developer role"); n != 1 {
		t.Errorf("the refusal shows %d times, want once: %s", n, snippet(p.Body))
	}
}
