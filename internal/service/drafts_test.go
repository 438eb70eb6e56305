package service_test

import (
	"bytes"
	"context"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/driverhub/driverhub"
)

// meterDriver describes a new python3 driver named name.
func meterDriver(name string) *driverhub.DriverInput {
	return &driverhub.DriverInput{Name: draftPtr(name), Protocol: draftPtr("modbus"), Runtime: draftPtr(driverhub.RuntimePython3),
		Description: draftPtr("Reads power meters")}
}

// withMeter gives the env a python3 driver "meter" with a published
// version 1.0.0 and a draft 1.1.0.
func (e *draftEnv) withMeter(t *testing.T) {
	t.Helper()
	pkg := e.stage(t, e.acme, driverhub.UploadPackage, "meter.zip", "python3", draftPythonZip(t))
	if _, err := e.svc.SaveDraft(e.acme, driverhub.DraftInput{NewDriver: meterDriver("meter"), PackageUpload: pkg.ID,
		Fields: driverhub.VersionInput{Version: draftPtr("1.0.0"), MinEdgeVersion: draftPtr("1.0.0")}}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.PublishVersion(e.acme, "meter", "1.0.0"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.SaveDraft(e.acme, driverhub.DraftInput{Driver: "meter",
		Fields: driverhub.VersionInput{Version: draftPtr("1.1.0"), MinEdgeVersion: draftPtr("1.0.0")}}); err != nil {
		t.Fatal(err)
	}
}

func TestSaveDraftCreatesDriverVersionAndFilesInOneCall(t *testing.T) {
	e := newDraftEnv(t)
	data, ini := draftPythonZip(t), []byte("[meter]\npoll=500\n")
	pkg := e.stage(t, e.acme, driverhub.UploadPackage, "meter.zip", "python3", data)
	cfg := e.stage(t, e.acme, driverhub.UploadConfigFile, "meter.ini", "", ini)
	ct := driverhub.DefaultContainer()
	ct.HostNetwork, ct.PortMappings, ct.MemoryLimitMB = false, []driverhub.PortMapping{{HostPort: 8502, ContainerPort: 502, Protocol: "tcp"}}, 256
	v, err := e.svc.SaveDraft(e.acme, driverhub.DraftInput{NewDriver: meterDriver("meter"), PackageUpload: pkg.ID, ConfigFileUpload: cfg.ID,
		Fields: driverhub.VersionInput{Version: draftPtr("1.0.0"), MinEdgeVersion: draftPtr("1.0.0"), Container: &ct}})
	if err != nil {
		t.Fatal(err)
	}
	if d, err := e.svc.GetDriver(e.acme, "meter"); err != nil || d.Runtime != "python3" || d.Description != "Reads power meters" {
		t.Errorf("driver: %+v %v", d, err)
	}
	got, err := e.svc.GetVersion(e.acme, "meter", "1.0.0")
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != driverhub.StatusDraft || got.Container.MemoryLimitMB != 256 || len(got.Container.PortMappings) != 1 {
		t.Errorf("version: %+v", got)
	}
	if p := got.Package; p == nil || *p != (driverhub.PackageRef{Filename: "meter.zip", Size: int64(len(data)), SHA256: draftSHA256(data)}) {
		t.Errorf("package: %+v", got.Package)
	}
	if c := got.DriverConfig; c == nil || c.Format != driverhub.ConfigFile ||
		*c.File != (driverhub.ConfigFileRef{Name: "meter.ini", Size: int64(len(ini)), SHA256: draftSHA256(ini)}) {
		t.Errorf("driver config: %+v", got.DriverConfig)
	}
	if v.ID != got.ID {
		t.Errorf("SaveDraft returned version %s, stored %s", v.ID, got.ID)
	}
	dl, err := e.svc.OpenPackage(e.acme, "meter", "1.0.0")
	if err != nil {
		t.Fatal(err)
	}
	defer dl.Body.Close()
	if b, _ := io.ReadAll(dl.Body); !bytes.Equal(b, data) {
		t.Error("the package downloads as other bytes than were staged")
	}
	if e.uploadExists(t, pkg.ID) || e.uploadExists(t, cfg.ID) {
		t.Error("the uploads the draft used are still staged")
	}
}

func TestSaveDraftUpdatesADraft(t *testing.T) {
	e := newDraftEnv(t)
	e.withMeter(t)
	cfg := e.stage(t, e.acme, driverhub.UploadConfigFile, "meter.ini", "", []byte("a=1"))
	if _, err := e.svc.SaveDraft(e.acme, driverhub.DraftInput{Driver: "meter", Version: "1.1.0", ConfigFileUpload: cfg.ID,
		Fields: driverhub.VersionInput{Description: draftPtr("first edit")}}); err != nil {
		t.Fatal(err)
	}
	data := draftZip(t, map[string]string{"index.py": "print('v2')\n"})
	pkg := e.stage(t, e.acme, driverhub.UploadPackage, "v2.zip", "python3", data)
	// A second edit without a config file upload keeps the file.
	if _, err := e.svc.SaveDraft(e.acme, driverhub.DraftInput{Driver: "meter", Version: "1.1.0", PackageUpload: pkg.ID,
		Fields: driverhub.VersionInput{Description: draftPtr("second edit"), JVMArgs: draftPtr("")}}); err != nil {
		t.Fatal(err)
	}
	v, err := e.svc.GetVersion(e.acme, "meter", "1.1.0")
	if err != nil {
		t.Fatal(err)
	}
	if v.Description != "second edit" || v.Package == nil || v.Package.SHA256 != draftSHA256(data) ||
		v.DriverConfig == nil || v.DriverConfig.File == nil || v.DriverConfig.File.Name != "meter.ini" || v.MinEdgeVersion != "1.0.0" {
		t.Errorf("edited draft: %+v (config %+v)", v, v.DriverConfig)
	}
}

func TestSaveDraftValidateOnlySavesNothing(t *testing.T) {
	e := newDraftEnv(t)
	pkg := e.stage(t, e.acme, driverhub.UploadPackage, "meter.zip", "python3", draftPythonZip(t))
	v, err := e.svc.SaveDraft(e.acme, driverhub.DraftInput{NewDriver: meterDriver("meter"), PackageUpload: pkg.ID, ValidateOnly: true,
		Fields: driverhub.VersionInput{Version: draftPtr("1.0.0"), MinEdgeVersion: draftPtr("1.0.0")}})
	if err != nil || v == nil || v.Package == nil {
		t.Fatalf("a valid draft checked: %+v %v", v, err)
	}
	if names := e.driverNames(t, e.acme); len(names) != 0 {
		t.Errorf("checking created drivers %v", names)
	}
	if !e.uploadExists(t, pkg.ID) {
		t.Error("checking used up the upload")
	}
	_, err = e.svc.SaveDraft(e.acme, driverhub.DraftInput{NewDriver: meterDriver("9meter"), ValidateOnly: true,
		Fields: driverhub.VersionInput{Version: draftPtr("1.0.0"), MinEdgeVersion: draftPtr("1.0")}})
	wantDraftFields(t, err, driverhub.EInvalid, "name", "min_edge_version")
}

func TestSaveDraftRefusals(t *testing.T) {
	for _, tc := range slices.Concat(saveDraftFieldAndUploadRefusals(), saveDraftOtherRefusals()) {
		t.Run(tc.name, func(t *testing.T) {
			e := newDraftEnv(t)
			e.withMeter(t)
			in := tc.input(t, e)
			before, beforeVersions := e.driverNames(t, e.acme), e.versionsOf(t, "meter")
			ctx := e.acme
			if tc.ctx != nil {
				ctx = tc.ctx(e)
			}
			_, err := e.svc.SaveDraft(ctx, in)
			got := wantDraftFields(t, err, tc.code, tc.fields...)
			if !strings.Contains(got.Message, tc.says) {
				t.Errorf("message %q does not say %q", got.Message, tc.says)
			}
			if after := e.driverNames(t, e.acme); !slices.Equal(after, before) {
				t.Errorf("a refused draft changed the drivers: %v, then %v", before, after)
			}
			if after := e.versionsOf(t, "meter"); !slices.Equal(after, beforeVersions) {
				t.Errorf("a refused draft changed meter's versions:\n%v\nthen\n%v", beforeVersions, after)
			}
		})
	}
}

// saveDraftRefusal is a draft that SaveDraft must refuse with code, for
// fields; ctx, when set, gives the caller (else e.acme, the admin).
type saveDraftRefusal struct {
	name   string
	ctx    func(e *draftEnv) context.Context
	input  func(t *testing.T, e *draftEnv) driverhub.DraftInput
	code   string
	fields []string
	says   string // the message of the first field
}

// saveDraftFieldAndUploadRefusals refuse bad fields and bad uploads.
func saveDraftFieldAndUploadRefusals() []saveDraftRefusal {
	long := strings.Repeat("x", driverhub.MaxDescriptionBytes+1)
	return []saveDraftRefusal{
		{"every field wrong", nil, func(t *testing.T, e *draftEnv) driverhub.DraftInput {
			cfg := e.stage(t, e.acme, driverhub.UploadConfigFile, "c.ini", "", []byte("a=1"))
			ct := driverhub.Container{HostNetwork: true, PortMappings: []driverhub.PortMapping{{HostPort: 80, ContainerPort: 80, Protocol: "tcp"}},
				DeviceMappings: []driverhub.DeviceMapping{{HostPath: "/etc/shadow", Permission: "rw"}}, MemoryLimitMB: 8}
			return driverhub.DraftInput{
				NewDriver:     &driverhub.DriverInput{Name: draftPtr("9meter"), Protocol: draftPtr("smoke"), Runtime: draftPtr(driverhub.RuntimePython3), Description: &long},
				PackageUpload: cfg.ID,
				Fields: driverhub.VersionInput{Version: draftPtr(""), MinEdgeVersion: draftPtr("1.0"), Description: &long, JVMArgs: draftPtr("-Xmx64m"),
					DriverConfig: &driverhub.DriverConfig{Format: "kv", KV: []driverhub.KVPair{{Key: "a"}, {Key: "a"}}}, Container: &ct},
			}
		}, driverhub.EInvalid, []string{"name", "protocol", "description", "version", "min_edge_version", "description", "driver_config.kv[1].key",
			"container.port_mappings", "container.device_mappings[0].host_path", "container.memory_limit_mb", "jvm_args", "package_upload"},
			"must start with a letter"},
		{"expired upload", nil, func(t *testing.T, e *draftEnv) driverhub.DraftInput {
			pkg := e.stage(t, e.acme, driverhub.UploadPackage, "m.zip", "python3", draftPythonZip(t))
			e.now = e.now.Add(time.Hour)
			return driverhub.DraftInput{Driver: "meter", Version: "1.1.0", PackageUpload: pkg.ID}
		}, driverhub.EInvalid, []string{"package_upload"}, "expired at 2025-03-01T10:00:00Z"},
		{"another tenant's upload", nil, func(t *testing.T, e *draftEnv) driverhub.DraftInput {
			pkg := e.stage(t, e.globex, driverhub.UploadPackage, "m.zip", "python3", draftPythonZip(t))
			return driverhub.DraftInput{Driver: "meter", Version: "1.1.0", PackageUpload: pkg.ID}
		}, driverhub.EInvalid, []string{"package_upload"}, "names no staged upload"},
		{"a package as the config file", nil, func(t *testing.T, e *draftEnv) driverhub.DraftInput {
			pkg := e.stage(t, e.acme, driverhub.UploadPackage, "m.zip", "python3", draftPythonZip(t))
			return driverhub.DraftInput{Driver: "meter", Version: "1.1.0", ConfigFileUpload: pkg.ID}
		}, driverhub.EInvalid, []string{"config_file_upload"}, "names a staged package, not a config_file"},
		{"a package for another runtime", nil, func(t *testing.T, e *draftEnv) driverhub.DraftInput {
			pkg := e.stage(t, e.acme, driverhub.UploadPackage, "m.zip", "nodejs", draftZip(t, map[string]string{"index.js": "1"}))
			return driverhub.DraftInput{Driver: "meter", Version: "1.1.0", PackageUpload: pkg.ID}
		}, driverhub.EInvalid, []string{"package_upload"}, "was checked for runtime nodejs, but driver meter runs python3"},
		{"an upload used already", nil, func(t *testing.T, e *draftEnv) driverhub.DraftInput {
			pkg := e.stage(t, e.acme, driverhub.UploadPackage, "m.zip", "python3", draftPythonZip(t))
			if _, err := e.svc.SaveDraft(e.acme, driverhub.DraftInput{Driver: "meter", Version: "1.1.0", PackageUpload: pkg.ID}); err != nil {
				t.Fatal(err)
			}
			return driverhub.DraftInput{Driver: "meter", PackageUpload: pkg.ID,
				Fields: driverhub.VersionInput{Version: draftPtr("1.2.0"), MinEdgeVersion: draftPtr("1.0.0")}}
		}, driverhub.EInvalid, []string{"package_upload"}, "used already"},
	}
}

// saveDraftOtherRefusals refuse a published version, taken names, an
// unknown driver and a viewer.
func saveDraftOtherRefusals() []saveDraftRefusal {
	return []saveDraftRefusal{
		{"a published version", nil, func(t *testing.T, e *draftEnv) driverhub.DraftInput {
			return driverhub.DraftInput{Driver: "meter", Version: "1.0.0", Fields: driverhub.VersionInput{MinEdgeVersion: draftPtr("2.0.0")}}
		}, driverhub.EVersionPublished, []string{""}, "is published"},
		{"a driver name taken", nil, func(t *testing.T, e *draftEnv) driverhub.DraftInput {
			return driverhub.DraftInput{NewDriver: meterDriver("meter"), Fields: driverhub.VersionInput{Version: draftPtr("1.0.0"), MinEdgeVersion: draftPtr("1.0.0")}}
		}, driverhub.EConflict, []string{"name"}, `a driver named "meter" exists already`},
		{"a version name taken", nil, func(t *testing.T, e *draftEnv) driverhub.DraftInput {
			return driverhub.DraftInput{Driver: "meter", Fields: driverhub.VersionInput{Version: draftPtr("1.1.0"), MinEdgeVersion: draftPtr("1.0.0")}}
		}, driverhub.EConflict, []string{"version"}, `has a version "1.1.0" already`},
		{"a taken name and a bad field", nil, func(t *testing.T, e *draftEnv) driverhub.DraftInput {
			return driverhub.DraftInput{Driver: "meter", Fields: driverhub.VersionInput{Version: draftPtr("1.1.0"), MinEdgeVersion: draftPtr("x")}}
		}, driverhub.EInvalid, []string{"version", "min_edge_version"}, "has a version"},
		{"a package for a built-in driver", nil, func(t *testing.T, e *draftEnv) driverhub.DraftInput {
			d := meterDriver("builtin_meter")
			d.Builtin = draftPtr(true)
			pkg := e.stage(t, e.acme, driverhub.UploadPackage, "m.zip", "python3", draftPythonZip(t))
			return driverhub.DraftInput{NewDriver: d, PackageUpload: pkg.ID,
				Fields: driverhub.VersionInput{Version: draftPtr("1.0.0"), MinEdgeVersion: draftPtr("1.0.0")}}
		}, driverhub.EInvalid, []string{"package"}, "built-in driver has no package"},
		{"an unknown driver", nil, func(t *testing.T, e *draftEnv) driverhub.DraftInput {
			return driverhub.DraftInput{Driver: "nosuch", Fields: driverhub.VersionInput{Version: draftPtr("1.0.0"), MinEdgeVersion: draftPtr("1.0.0")}}
		}, driverhub.ENotFound, []string{""}, `driver "nosuch" not found`},
		{"a viewer", func(e *draftEnv) context.Context { return e.viewer }, func(t *testing.T, e *draftEnv) driverhub.DraftInput {
			return driverhub.DraftInput{Driver: "meter", Version: "1.1.0"}
		}, driverhub.EPermissionDenied, []string{""}, "developer"},
	}
}

// versionsOf describes a driver's versions: name, status, description, package and update time.
func (e *draftEnv) versionsOf(t *testing.T, driver string) []string {
	t.Helper()
	l, err := e.svc.ListVersions(e.acme, driver, "", driverhub.Page{})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, v := range l.Items {
		pkg := ""
		if v.Package != nil {
			pkg = v.Package.SHA256
		}
		out = append(out, strings.Join([]string{v.Version, v.Status, v.Description, pkg, v.UpdatedAt.String()}, " "))
	}
	return out
}
