package service_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/driverhub/driverhub"
)

func TestCreateDriverNamesTheFieldAtFault(t *testing.T) {
	t.Parallel()
	ts := newTestService(t)
	tests := []struct {
		name  string
		edit  func(*driverhub.DriverInput)
		field string // "" when accepted
	}{
		{"accepted", func(*driverhub.DriverInput) {}, ""},
		{"name of 20", func(in *driverhub.DriverInput) { in.Name = ptr("A" + strings.Repeat("b", 19)) }, ""},
		{"c for armv7", func(in *driverhub.DriverInput) { in.Runtime, in.CPUArch = ptr(driverhub.Runtime("c")), ptr("armv7") }, ""},
		{"no name", func(in *driverhub.DriverInput) { in.Name = nil }, "name"},
		{"no protocol", func(in *driverhub.DriverInput) { in.Protocol = nil }, "protocol"},
		{"no runtime", func(in *driverhub.DriverInput) { in.Runtime = nil }, "runtime"},
		{"name of 21", func(in *driverhub.DriverInput) { in.Name = ptr("A" + strings.Repeat("b", 20)) }, "name"},
		{"name starts with a digit", func(in *driverhub.DriverInput) { in.Name = ptr("1pump") }, "name"},
		{"name with a dash", func(in *driverhub.DriverInput) { in.Name = ptr("my-pump") }, "name"},
		{"unknown protocol", func(in *driverhub.DriverInput) { in.Protocol = ptr("http") }, "protocol"},
		{"unknown runtime", func(in *driverhub.DriverInput) { in.Runtime = ptr(driverhub.Runtime("go")) }, "runtime"},
		{"c without arch", func(in *driverhub.DriverInput) { in.Runtime = ptr(driverhub.Runtime("c")) }, "cpu_arch"},
		{"c for an unknown arch", func(in *driverhub.DriverInput) { in.Runtime, in.CPUArch = ptr(driverhub.Runtime("c")), ptr("mips") }, "cpu_arch"},
		{"arch without c", func(in *driverhub.DriverInput) { in.CPUArch = ptr("armv7") }, "cpu_arch"},
		{"description of 257 bytes", func(in *driverhub.DriverInput) { in.Description = ptr(strings.Repeat("x", 257)) }, "description"},
	}
	for k, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := driverIn("Drv"+string(rune('a'+k)), "python3")
			tt.edit(&in)
			d, err := ts.CreateDriver(ts.admin, in)
			if tt.field != "" {
				wantErr(t, err, driverhub.EInvalid, tt.field)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := must(ts.GetDriver(ts.admin, d.Name))(t); got.Runtime != *in.Runtime || got.Protocol != *in.Protocol {
				t.Errorf("stored %+v, want %+v", got, in)
			}
		})
	}
}

func TestDriverNamesAreUniquePerTenant(t *testing.T) {
	t.Parallel()
	ts := newTestService(t)
	ts.newDriver(t, ts.admin, driverIn("Pump", "python3"))
	_, err := ts.CreateDriver(ts.admin, driverIn("Pump", "nodejs"))
	wantErr(t, err, driverhub.EConflict, "name")
	ts.newDriver(t, ts.tenantCtx(t, "acme"), driverIn("Pump", "nodejs"))
}

func TestUpdateDriver(t *testing.T) {
	t.Parallel()
	ts := newTestService(t)
	ts.newDriver(t, ts.admin, driverIn("Pump", "python3"))

	_, err := ts.UpdateDriver(ts.admin, "Pump", driverhub.DriverInput{Name: ptr("Pump2")})
	wantErr(t, err, driverhub.EInvalid, "name")
	_, err = ts.UpdateDriver(ts.admin, "Pump", driverhub.DriverInput{Protocol: ptr("smtp")})
	wantErr(t, err, driverhub.EInvalid, "protocol")
	d := must(ts.UpdateDriver(ts.admin, "Pump", driverhub.DriverInput{Runtime: ptr(driverhub.Runtime("nodejs")), Description: ptr("moves water")}))(t)
	if d.Runtime != "nodejs" || d.Description != "moves water" {
		t.Errorf("updated driver is %+v", d)
	}

	// Packages were checked against the runtime: once there are versions
	// it stays, and so do the arch and the built-in flag.
	ts.newVersion(t, ts.admin, "Pump", "1")
	for name, in := range map[string]driverhub.DriverInput{
		"runtime": {Runtime: ptr(driverhub.Runtime("python3"))},
		"builtin": {Builtin: ptr(true)},
		"arch":    {Runtime: ptr(driverhub.Runtime("c")), CPUArch: ptr("x86")},
	} {
		t.Run("change "+name, func(t *testing.T) {
			_, err := ts.UpdateDriver(ts.admin, "Pump", in)
			wantErr(t, err, driverhub.EConflict, "")
		})
	}
	must(ts.UpdateDriver(ts.admin, "Pump", driverhub.DriverInput{Protocol: ptr("opcua")}))(t)

	_, err = ts.ListDrivers(ts.admin, driverhub.DriverFilter{Protocol: "smtp"}, driverhub.Page{})
	wantErr(t, err, driverhub.EInvalid, "protocol")
	_, err = ts.ListDrivers(ts.admin, driverhub.DriverFilter{Runtime: "go"}, driverhub.Page{})
	wantErr(t, err, driverhub.EInvalid, "runtime")
	if l := must(ts.ListDrivers(ts.admin, driverhub.DriverFilter{Protocol: "opcua"}, driverhub.Page{}))(t); len(l.Items) != 1 {
		t.Errorf("opcua drivers: %d, want 1", len(l.Items))
	}
}

func TestDeleteDriver(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		setup func(t *testing.T, ts *testService)
		code  string // "" when deleted
	}{
		{"drafts only", func(t *testing.T, ts *testService) {
			ts.newVersion(t, ts.admin, "Pump", "1")
			ts.newVersion(t, ts.admin, "Pump", "2")
		}, ""},
		{"a published version", func(t *testing.T, ts *testService) {
			ts.newVersion(t, ts.admin, "Pump", "1")
			ts.upload(t, ts.admin, "Pump", "1")
			must(ts.PublishVersion(ts.admin, "Pump", "1"))(t)
		}, driverhub.EConflict},
		{"a bound draft", func(t *testing.T, ts *testService) {
			ts.newVersion(t, ts.admin, "Pump", "dbg")
			ts.newInstance(t, ts.admin, "edge")
			ts.bind(t, ts.admin, "edge", "Pump", "dbg")
		}, driverhub.EConflict},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ts := newTestService(t)
			ts.newDriver(t, ts.admin, driverIn("Pump", "python3"))
			tt.setup(t, ts)
			err := ts.DeleteDriver(ts.admin, "Pump")
			if tt.code != "" {
				wantErr(t, err, tt.code, "")
				must(ts.GetDriver(ts.admin, "Pump"))(t)
				return
			}
			ok(t, err)
			_, err = ts.GetDriver(ts.admin, "Pump")
			wantErr(t, err, driverhub.ENotFound, "")
			// The name is free again, without the old drafts.
			ts.newDriver(t, ts.admin, driverIn("Pump", "nodejs"))
			if l := must(ts.ListVersions(ts.admin, "Pump", "", driverhub.Page{}))(t); len(l.Items) != 0 {
				t.Errorf("a new driver inherited %d versions", len(l.Items))
			}
		})
	}
}

func TestCreateVersionNamesTheFieldAtFault(t *testing.T) {
	t.Parallel()
	ts := newTestService(t)
	ts.newDriver(t, ts.admin, driverIn("Py", "python3"))
	ts.newVersion(t, ts.admin, "Py", "1.0")
	tests := []struct {
		name  string
		edit  func(*driverhub.VersionInput)
		code  string
		field string
	}{
		{"no version", func(in *driverhub.VersionInput) { in.Version = nil }, driverhub.EInvalid, "version"},
		{"taken version", func(in *driverhub.VersionInput) { in.Version = ptr("1.0") }, driverhub.EConflict, "version"},
		{"slash in version", func(in *driverhub.VersionInput) { in.Version = ptr("1/0") }, driverhub.EInvalid, "version"},
		{"version ..", func(in *driverhub.VersionInput) { in.Version = ptr("..") }, driverhub.EInvalid, "version"},
		{"no min edge", func(in *driverhub.VersionInput) { in.MinEdgeVersion = nil }, driverhub.EInvalid, "min_edge_version"},
		{"min edge not semver", func(in *driverhub.VersionInput) { in.MinEdgeVersion = ptr("1.0") }, driverhub.EInvalid, "min_edge_version"},
		{"package set", func(in *driverhub.VersionInput) { in.Package = &driverhub.PackageRef{Filename: "x.zip"} }, driverhub.EInvalid, "package"},
		{"jvm args off java", func(in *driverhub.VersionInput) { in.JVMArgs = ptr("-Xmx64m") }, driverhub.EInvalid, "jvm_args"},
		{"long description", func(in *driverhub.VersionInput) { in.Description = ptr(strings.Repeat("é", 129)) }, driverhub.EInvalid, "description"},
		{"config without format", func(in *driverhub.VersionInput) { in.DriverConfig = &driverhub.DriverConfig{} }, driverhub.EInvalid, "driver_config.format"},
		{"config json not an object", func(in *driverhub.VersionInput) {
			in.DriverConfig = &driverhub.DriverConfig{Format: driverhub.ConfigJSON, JSON: json.RawMessage(`[1]`)}
		}, driverhub.EInvalid, "driver_config.json"},
		{"config kv duplicate key", func(in *driverhub.VersionInput) {
			in.DriverConfig = &driverhub.DriverConfig{Format: driverhub.ConfigKV, KV: []driverhub.KVPair{{Key: "a"}, {Key: "a"}}}
		}, driverhub.EInvalid, "driver_config.kv[1].key"},
		{"config file set by hand", func(in *driverhub.VersionInput) {
			in.DriverConfig = &driverhub.DriverConfig{Format: driverhub.ConfigFile, File: &driverhub.ConfigFileRef{Name: "a.ini"}}
		}, driverhub.EInvalid, "driver_config.file"},
		{"memory limit too low", func(in *driverhub.VersionInput) {
			c := driverhub.DefaultContainer()
			c.MemoryLimitMB = driverhub.MinMemoryLimitMB - 1
			in.Container = &c
		}, driverhub.EInvalid, "container.memory_limit_mb"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := driverhub.VersionInput{Version: ptr("2.0"), MinEdgeVersion: ptr("1.0.0")}
			tt.edit(&in)
			_, err := ts.CreateVersion(ts.admin, "Py", in)
			wantErr(t, err, tt.code, tt.field)
		})
	}
	_, err := ts.CreateVersion(ts.admin, "Nope", driverhub.VersionInput{Version: ptr("1"), MinEdgeVersion: ptr("1.0.0")})
	wantErr(t, err, driverhub.ENotFound, "")
	if l := must(ts.ListVersions(ts.admin, "Py", "", driverhub.Page{}))(t); len(l.Items) != 1 {
		t.Errorf("refused versions were stored: %d versions", len(l.Items))
	}
}

func TestVersionLifecycle(t *testing.T) {
	t.Parallel()
	ts := newTestService(t)
	ts.newDriver(t, ts.admin, driverIn("Py", "python3"))
	kv := &driverhub.DriverConfig{Format: driverhub.ConfigJSON, JSON: json.RawMessage(`{"a": 1}`)}
	v := ts.newVersion(t, ts.admin, "Py", "1", func(in *driverhub.VersionInput) { in.DriverConfig = kv })
	if v.Status != driverhub.StatusDraft || v.PublishedAt != nil || v.Container.MemoryLimitMB != driverhub.DefaultMemoryLimitMB {
		t.Fatalf("new version %+v: want a draft with default container", v)
	}

	// A draft changes freely.
	v = must(ts.UpdateVersion(ts.admin, "Py", "1", driverhub.VersionInput{MinEdgeVersion: ptr("1.2.0"),
		ConfigChecks: &driverhub.ConfigChecks{DriverConfigRequired: true}}))(t)
	if v.MinEdgeVersion != "1.2.0" || !v.ConfigChecks.DriverConfigRequired {
		t.Errorf("draft after update: %+v", v)
	}
	_, err := ts.UpdateVersion(ts.admin, "Py", "1", driverhub.VersionInput{Version: ptr("2")})
	wantErr(t, err, driverhub.EInvalid, "version")

	// Publishing needs the package first.
	_, err = ts.PublishVersion(ts.admin, "Py", "1")
	e := wantErr(t, err, driverhub.EFailedPrecondition, "")
	if len(e.Problems) != 1 || e.Problems[0].Code != driverhub.ProblemPackageMissing || !strings.Contains(e.Problems[0].Resource, "Py/1") {
		t.Errorf("problems %+v, want package_missing of Py/1", e.Problems)
	}
	ts.upload(t, ts.admin, "Py", "1")
	ts.clock.Advance(3600e9)
	v = must(ts.PublishVersion(ts.admin, "Py", "1"))(t)
	if v.Status != driverhub.StatusPublished || v.PublishedAt == nil || !v.PublishedAt.Equal(ts.clock.Now()) {
		t.Errorf("published version %+v: want published at %v", v, ts.clock.Now())
	}
	_, err = ts.PublishVersion(ts.admin, "Py", "1")
	wantErr(t, err, driverhub.EVersionPublished, "")

	// Published: only the description changes, and a client may send
	// back what it read (the config in another spelling).
	v = must(ts.UpdateVersion(ts.admin, "Py", "1", driverhub.VersionInput{Description: ptr("now documented"),
		DriverConfig:   &driverhub.DriverConfig{Format: driverhub.ConfigJSON, JSON: json.RawMessage(`"{\"a\":1}"`)},
		MinEdgeVersion: ptr("1.2.0")}))(t)
	if v.Description != "now documented" || string(v.DriverConfig.JSON) != `{"a":1}` {
		t.Errorf("published version after a description change: %+v", v)
	}
	frozen := map[string]driverhub.VersionInput{
		"min edge":      {MinEdgeVersion: ptr("1.3.0")},
		"config checks": {ConfigChecks: &driverhub.ConfigChecks{}},
		"config":        {DriverConfig: &driverhub.DriverConfig{Format: driverhub.ConfigKV}},
		"container":     {Container: &driverhub.Container{MemoryLimitMB: 64}},
	}
	for name, in := range frozen {
		t.Run("published "+name, func(t *testing.T) {
			_, err := ts.UpdateVersion(ts.admin, "Py", "1", in)
			wantErr(t, err, driverhub.EVersionPublished, "")
		})
	}
	wantErr(t, ts.DeleteVersion(ts.admin, "Py", "1"), driverhub.EVersionPublished, "")
	_, err = ts.PutPackage(ts.admin, "Py", "1", "", bytes.NewReader(packageFor(t, "python3", "other")))
	wantErr(t, err, driverhub.EVersionPublished, "")
	_, err = ts.PutConfigFile(ts.admin, "Py", "1", "a.ini", strings.NewReader("a=1"))
	wantErr(t, err, driverhub.EVersionPublished, "")
	if got := must(ts.GetVersion(ts.admin, "Py", "1"))(t); got.MinEdgeVersion != "1.2.0" || got.Status != driverhub.StatusPublished {
		t.Errorf("published version changed: %+v", got)
	}

	// A draft goes.
	ts.newVersion(t, ts.admin, "Py", "2")
	ok(t, ts.DeleteVersion(ts.admin, "Py", "2"))
	_, err = ts.GetVersion(ts.admin, "Py", "2")
	wantErr(t, err, driverhub.ENotFound, "")

	drafts := must(ts.ListVersions(ts.admin, "Py", driverhub.StatusDraft, driverhub.Page{}))(t)
	published := must(ts.ListVersions(ts.admin, "Py", driverhub.StatusPublished, driverhub.Page{}))(t)
	if len(drafts.Items) != 0 || len(published.Items) != 1 {
		t.Errorf("%d drafts and %d published, want 0 and 1", len(drafts.Items), len(published.Items))
	}
	_, err = ts.ListVersions(ts.admin, "Py", "retired", driverhub.Page{})
	wantErr(t, err, driverhub.EInvalid, "status")
}

func TestBuiltinDriverHasNoPackage(t *testing.T) {
	t.Parallel()
	ts := newTestService(t)
	in := driverIn("Bi", "java")
	in.Builtin = ptr(true)
	ts.newDriver(t, ts.admin, in)
	ts.newVersion(t, ts.admin, "Bi", "1", func(in *driverhub.VersionInput) { in.JVMArgs = ptr("-Xmx64m") })
	_, err := ts.PutPackage(ts.admin, "Bi", "1", "", bytes.NewReader(packageFor(t, "java", "jar")))
	wantErr(t, err, driverhub.EInvalid, "package")
	v := must(ts.PublishVersion(ts.admin, "Bi", "1"))(t)
	if v.Package != nil || !v.Published() {
		t.Errorf("built-in version %+v: want published without a package", v)
	}
	_, err = ts.OpenPackage(ts.admin, "Bi", "1")
	wantErr(t, err, driverhub.ENotFound, "")
}

func TestPublishedVersionTakesBackWhatWasRead(t *testing.T) {
	t.Parallel()
	// A client may send back a version it read, with a new description:
	// every other field is as stored, whatever its config.
	configs := map[string]func(t *testing.T, ts *testService){
		"no config": func(*testing.T, *testService) {},
		"empty kv": func(t *testing.T, ts *testService) {
			must(ts.UpdateVersion(ts.admin, "Py", "1", driverhub.VersionInput{DriverConfig: &driverhub.DriverConfig{Format: driverhub.ConfigKV, KV: []driverhub.KVPair{}}}))(t)
		},
		"kv": func(t *testing.T, ts *testService) {
			must(ts.UpdateVersion(ts.admin, "Py", "1", driverhub.VersionInput{DriverConfig: &driverhub.DriverConfig{Format: driverhub.ConfigKV, KV: []driverhub.KVPair{{Key: "k", Value: "v"}}}}))(t)
		},
		"json": func(t *testing.T, ts *testService) {
			must(ts.UpdateVersion(ts.admin, "Py", "1", driverhub.VersionInput{DriverConfig: &driverhub.DriverConfig{Format: driverhub.ConfigJSON, JSON: json.RawMessage(`{ "b" : [1, 2] }`)}}))(t)
		},
		"file": func(t *testing.T, ts *testService) {
			must(ts.PutConfigFile(ts.admin, "Py", "1", "a.ini", strings.NewReader("a=1")))(t)
		},
		"container and checks": func(t *testing.T, ts *testService) {
			c := driverhub.DefaultContainer()
			c.HostNetwork = false
			c.PortMappings = []driverhub.PortMapping{{HostPort: 8080, ContainerPort: 80, Protocol: "tcp"}}
			must(ts.UpdateVersion(ts.admin, "Py", "1", driverhub.VersionInput{Container: &c, ConfigChecks: &driverhub.ConfigChecks{DeviceConfigRequired: true}}))(t)
		},
	}
	for name, setup := range configs {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ts := newTestService(t)
			ts.newDriver(t, ts.admin, driverIn("Py", "python3"))
			ts.newVersion(t, ts.admin, "Py", "1")
			setup(t, ts)
			ts.upload(t, ts.admin, "Py", "1")
			must(ts.PublishVersion(ts.admin, "Py", "1"))(t)
			read := must(ts.GetVersion(ts.admin, "Py", "1"))(t)
			body := must(json.Marshal(read))(t)
			var in driverhub.VersionInput
			ok(t, json.Unmarshal(body, &in))
			in.Description = ptr("documented")
			v := must(ts.UpdateVersion(ts.admin, "Py", "1", in))(t)
			if v.Description != "documented" {
				t.Errorf("description is %q", v.Description)
			}
		})
	}
}
