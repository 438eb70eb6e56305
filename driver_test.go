package driverhub_test

import (
	"slices"
	"testing"

	"github.com/driverhub/driverhub"
	"github.com/google/go-cmp/cmp"
)

func validDriver() driverhub.Driver {
	return driverhub.Driver{Name: "modbus_rtu", Protocol: "modbus", Runtime: "python3"}
}

func TestDriverValidate(t *testing.T) {
	tests := []struct {
		name  string
		edit  func(*driverhub.Driver)
		field string // "" when valid
	}{
		{"minimal", func(d *driverhub.Driver) {}, ""},

		// name: ^[A-Za-z][A-Za-z0-9_]{0,19}$
		{"name one letter", func(d *driverhub.Driver) { d.Name = "a" }, ""},
		{"name mixed", func(d *driverhub.Driver) { d.Name = "Ab_9_z" }, ""},
		{"name 20 chars", func(d *driverhub.Driver) { d.Name = "A" + rep("b", 19) }, ""},
		{"name 20 chars digits", func(d *driverhub.Driver) { d.Name = "A" + rep("9", 19) }, ""},
		{"name 21 chars", func(d *driverhub.Driver) { d.Name = "A" + rep("b", 20) }, "name"},
		{"name empty", func(d *driverhub.Driver) { d.Name = "" }, "name"},
		{"name leading digit", func(d *driverhub.Driver) { d.Name = "1modbus" }, "name"},
		{"name leading underscore", func(d *driverhub.Driver) { d.Name = "_modbus" }, "name"},
		{"name dash", func(d *driverhub.Driver) { d.Name = "modbus-rtu" }, "name"},
		{"name dot", func(d *driverhub.Driver) { d.Name = "modbus.rtu" }, "name"},
		{"name space", func(d *driverhub.Driver) { d.Name = "modbus rtu" }, "name"},
		{"name trailing newline", func(d *driverhub.Driver) { d.Name = "modbus\n" }, "name"},
		{"name latin accent", func(d *driverhub.Driver) { d.Name = "modbüs" }, "name"},
		{"name chinese", func(d *driverhub.Driver) { d.Name = "驱动" }, "name"},
		{"name fullwidth letter", func(d *driverhub.Driver) { d.Name = "ａbc" }, "name"},

		// protocol
		{"protocol modbus", func(d *driverhub.Driver) { d.Protocol = "modbus" }, ""},
		{"protocol opcua", func(d *driverhub.Driver) { d.Protocol = "opcua" }, ""},
		{"protocol lorawan", func(d *driverhub.Driver) { d.Protocol = "lorawan" }, ""},
		{"protocol custom", func(d *driverhub.Driver) { d.Protocol = "custom" }, ""},
		{"protocol empty", func(d *driverhub.Driver) { d.Protocol = "" }, "protocol"},
		{"protocol upper case", func(d *driverhub.Driver) { d.Protocol = "MODBUS" }, "protocol"},
		{"protocol unknown", func(d *driverhub.Driver) { d.Protocol = "bacnet" }, "protocol"},

		// runtime
		{"runtime nodejs", func(d *driverhub.Driver) { d.Runtime = "nodejs" }, ""},
		{"runtime python3", func(d *driverhub.Driver) { d.Runtime = "python3" }, ""},
		{"runtime java", func(d *driverhub.Driver) { d.Runtime = "java" }, ""},
		{"runtime c", func(d *driverhub.Driver) { d.Runtime, d.CPUArch = "c", "armv7" }, ""},
		{"runtime empty", func(d *driverhub.Driver) { d.Runtime = "" }, "runtime"},
		{"runtime unknown", func(d *driverhub.Driver) { d.Runtime = "go" }, "runtime"},
		{"runtime upper case", func(d *driverhub.Driver) { d.Runtime = "Python3" }, "runtime"},

		// cpu_arch: required for c, refused otherwise
		{"cpu_arch armv7", func(d *driverhub.Driver) { d.Runtime, d.CPUArch = "c", "armv7" }, ""},
		{"cpu_arch armv7-hf", func(d *driverhub.Driver) { d.Runtime, d.CPUArch = "c", "armv7-hf" }, ""},
		{"cpu_arch aarch64", func(d *driverhub.Driver) { d.Runtime, d.CPUArch = "c", "aarch64" }, ""},
		{"cpu_arch x86-64", func(d *driverhub.Driver) { d.Runtime, d.CPUArch = "c", "x86-64" }, ""},
		{"cpu_arch x86", func(d *driverhub.Driver) { d.Runtime, d.CPUArch = "c", "x86" }, ""},
		{"cpu_arch missing for c", func(d *driverhub.Driver) { d.Runtime, d.CPUArch = "c", "" }, "cpu_arch"},
		{"cpu_arch unknown", func(d *driverhub.Driver) { d.Runtime, d.CPUArch = "c", "arm64" }, "cpu_arch"},
		{"cpu_arch x86_64 spelling", func(d *driverhub.Driver) { d.Runtime, d.CPUArch = "c", "x86_64" }, "cpu_arch"},
		{"cpu_arch for python3", func(d *driverhub.Driver) { d.CPUArch = "x86" }, "cpu_arch"},
		{"cpu_arch for nodejs", func(d *driverhub.Driver) { d.Runtime, d.CPUArch = "nodejs", "aarch64" }, "cpu_arch"},
		{"cpu_arch for java", func(d *driverhub.Driver) { d.Runtime, d.CPUArch = "java", "armv7" }, "cpu_arch"},
		{"cpu_arch junk for java", func(d *driverhub.Driver) { d.Runtime, d.CPUArch = "java", "sparc" }, "cpu_arch"},

		// description: 256 bytes, not characters
		{"description empty", func(d *driverhub.Driver) { d.Description = "" }, ""},
		{"description 256 bytes", func(d *driverhub.Driver) { d.Description = bytes256 }, ""},
		{"description 257 bytes", func(d *driverhub.Driver) { d.Description = bytes257 }, "description"},
		{"description 256 bytes multi-byte", func(d *driverhub.Driver) { d.Description = cjk256 }, ""},
		{"description 86 chars 258 bytes", func(d *driverhub.Driver) { d.Description = cjk258 }, "description"},
		{"description invalid utf-8", func(d *driverhub.Driver) { d.Description = "a\xffb" }, "description"},

		{"builtin", func(d *driverhub.Driver) { d.Builtin = true }, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := validDriver()
			tt.edit(&d)
			checkField(t, d.Validate(), tt.field)
		})
	}
}

func TestValidateVersionName(t *testing.T) {
	tests := []struct {
		name, version string
		ok            bool
	}{
		{"one digit", "1", true},
		{"semver", "1.0.0", true},
		{"symbols", "v1.2-beta_3", true},
		{"three dots", "...", true},
		{"leading dot", ".1", true},
		{"64 ascii", rep("a", 64), true},
		{"65 ascii", rep("a", 65), false},
		{"64 chinese characters", rep("版", 64), true}, // 192 bytes: characters count, not bytes
		{"65 chinese characters", rep("版", 65), false},
		{"chinese with digits", "版本1.0", true},
		{"cyrillic", "версия-2", true},
		{"greek", "έκδοση_1", true},
		{"arabic", "الإصدار", true},
		{"arabic-indic digits", "١٢٣", true},
		{"japanese", "バージョン2", true},
		{"empty", "", false},
		{"dot", ".", false},
		{"dot dot", "..", false},
		{"space", "1 0", false},
		{"slash", "1/0", false},
		{"backslash", `1\0`, false},
		{"plus", "1.0+build", false},
		{"at", "v1@", false},
		{"emoji", "v🚀", false},
		{"nul", "a\x00", false},
		{"newline", "1.0\n", false},
		{"invalid utf-8", "1.\xff", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			field := "version"
			if tt.ok {
				field = ""
			}
			checkField(t, driverhub.ValidateVersionName(tt.version), field)
		})
	}
}

func TestValidateVersionNameCombiningMarks(t *testing.T) {
	for _, v := range []string{"संस्करण", "รุ่น2", "cafe\u0301"} { // the last one: e + combining acute
		checkField(t, driverhub.ValidateVersionName(v), "")
	}
}

func TestValidateEdgeVersion(t *testing.T) {
	tests := []struct {
		name, version string
		ok            bool
	}{
		{"zeros", "0.0.0", true},
		{"simple", "1.2.3", true},
		{"two digits", "10.20.30", true},
		{"nine digits", "999999999.0.0", true},
		{"empty", "", false},
		{"missing patch", "1.0", false},
		{"major only", "1", false},
		{"four parts", "1.0.0.0", false},
		{"empty part", "1..0", false},
		{"trailing dot", "1.0.", false},
		{"leading zero major", "01.0.0", false},
		{"leading zero minor", "1.00.0", false},
		{"leading zero patch", "1.0.01", false},
		{"v prefix", "v1.0.0", false},
		{"pre-release", "1.0.0-beta", false},
		{"build", "1.0.0+1", false},
		{"letter", "1.a.0", false},
		{"negative", "-1.0.0", false},
		{"space", " 1.0.0", false},
		{"fullwidth digits", "１.０.０", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			field := "min_edge_version"
			if tt.ok {
				field = ""
			}
			checkField(t, driverhub.ValidateEdgeVersion("min_edge_version", tt.version), field)
		})
	}
}

func TestCompareEdgeVersions(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"1.0.0", "1.0.0", 0},
		{"1.10.0", "1.9.0", 1},
		{"1.9.0", "1.10.0", -1},
		{"1.0.10", "1.0.9", 1},
		{"10.0.0", "9.99.99", 1},
		{"2.0.0", "1.99.99", 1},
		{"0.1.0", "0.0.9", 1},
		{"0.0.1", "0.0.0", 1},
		{"1.2.3", "1.2.4", -1},
		{"bogus", "0.0.0", -1}, // an invalid version sorts below every valid one
		{"0.0.0", "1.0", 1},
		{"01.0.0", "0.0.0", -1},
		{"bogus", "1.0", 0},
	}
	for _, tt := range tests {
		t.Run(tt.a+" vs "+tt.b, func(t *testing.T) {
			if got := driverhub.CompareEdgeVersions(tt.a, tt.b); got != tt.want {
				t.Errorf("CompareEdgeVersions(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
			}
			if got := driverhub.CompareEdgeVersions(tt.b, tt.a); got != -tt.want {
				t.Errorf("CompareEdgeVersions(%q, %q) = %d, want %d", tt.b, tt.a, got, -tt.want)
			}
		})
	}
}

func TestCompareEdgeVersionsSorts(t *testing.T) {
	got := []string{"1.10.0", "x", "0.0.1", "1.9.0", "1.9.10", "2.0.0", "1.9.2", "0.0.0"}
	slices.SortStableFunc(got, driverhub.CompareEdgeVersions)
	want := []string{"x", "0.0.0", "0.0.1", "1.9.0", "1.9.2", "1.9.10", "1.10.0", "2.0.0"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("sorted versions (-want +got):\n%s", diff)
	}
}

func validVersion() *driverhub.DriverVersion {
	v := driverhub.NewDriverVersion()
	v.Version = "1.0.0"
	v.MinEdgeVersion = "1.0.0"
	return v
}

func TestNewDriverVersion(t *testing.T) {
	v := driverhub.NewDriverVersion()
	if v.Status != driverhub.StatusDraft || v.Published() {
		t.Errorf("status = %q, published = %v; want a draft", v.Status, v.Published())
	}
	if diff := cmp.Diff(driverhub.DefaultContainer(), v.Container); diff != "" {
		t.Errorf("container (-want +got):\n%s", diff)
	}
	v.Status = driverhub.StatusPublished
	if !v.Published() {
		t.Error("Published() = false for a published version")
	}
}

func TestDriverVersionValidate(t *testing.T) {
	python := validDriver()
	java := driverhub.Driver{Name: "opc_java", Protocol: "opcua", Runtime: "java"}
	builtin := driverhub.Driver{Name: "modbus", Protocol: "modbus", Runtime: "c", CPUArch: "armv7", Builtin: true}
	pkg := &driverhub.PackageRef{Filename: "d.zip", Size: 10, SHA256: validSHA}

	tests := []struct {
		name   string
		driver driverhub.Driver
		edit   func(*driverhub.DriverVersion)
		field  string
	}{
		{"minimal", python, func(v *driverhub.DriverVersion) {}, ""},
		{"published", python, func(v *driverhub.DriverVersion) { v.Status = driverhub.StatusPublished }, ""},
		{"status empty", python, func(v *driverhub.DriverVersion) { v.Status = "" }, "status"},
		{"status unknown", python, func(v *driverhub.DriverVersion) { v.Status = "deleted" }, "status"},

		{"version 64 chinese", python, func(v *driverhub.DriverVersion) { v.Version = rep("版", 64) }, ""},
		{"version 65 chars", python, func(v *driverhub.DriverVersion) { v.Version = rep("a", 65) }, "version"},
		{"version empty", python, func(v *driverhub.DriverVersion) { v.Version = "" }, "version"},
		{"version dot dot", python, func(v *driverhub.DriverVersion) { v.Version = ".." }, "version"},

		{"min_edge_version missing", python, func(v *driverhub.DriverVersion) { v.MinEdgeVersion = "" }, "min_edge_version"},
		{"min_edge_version short", python, func(v *driverhub.DriverVersion) { v.MinEdgeVersion = "1.0" }, "min_edge_version"},
		{"min_edge_version leading zero", python, func(v *driverhub.DriverVersion) { v.MinEdgeVersion = "1.02.0" }, "min_edge_version"},

		{"description 256 bytes", python, func(v *driverhub.DriverVersion) { v.Description = cjk256 }, ""},
		{"description 258 bytes", python, func(v *driverhub.DriverVersion) { v.Description = cjk258 }, "description"},

		{"package for builtin", builtin, func(v *driverhub.DriverVersion) { v.Package = pkg }, "package"},
		{"builtin without package", builtin, func(v *driverhub.DriverVersion) {}, ""},
		{"package for uploaded driver", python, func(v *driverhub.DriverVersion) { v.Package = pkg }, ""},

		{"jvm_args for java", java, func(v *driverhub.DriverVersion) { v.JVMArgs = "-Xmx128m -Dfile.encoding=UTF-8" }, ""},
		{"jvm_args 256 bytes", java, func(v *driverhub.DriverVersion) { v.JVMArgs = bytes256 }, ""},
		{"jvm_args 256 bytes multi-byte", java, func(v *driverhub.DriverVersion) { v.JVMArgs = cjk256 }, ""},
		{"jvm_args 257 bytes", java, func(v *driverhub.DriverVersion) { v.JVMArgs = bytes257 }, "jvm_args"},
		{"jvm_args 258 bytes multi-byte", java, func(v *driverhub.DriverVersion) { v.JVMArgs = cjk258 }, "jvm_args"},
		{"jvm_args for python3", python, func(v *driverhub.DriverVersion) { v.JVMArgs = "-Xmx128m" }, "jvm_args"},
		{"jvm_args for c", builtin, func(v *driverhub.DriverVersion) { v.JVMArgs = "-Xmx128m" }, "jvm_args"},

		{"driver_config kv", python, func(v *driverhub.DriverVersion) {
			v.DriverConfig = &driverhub.DriverConfig{Format: "kv", KV: []driverhub.KVPair{{Key: "port", Value: "502"}}}
		}, ""},
		{"driver_config bad key", python, func(v *driverhub.DriverVersion) {
			v.DriverConfig = &driverhub.DriverConfig{Format: "kv", KV: []driverhub.KVPair{{Key: "", Value: "502"}}}
		}, "driver_config.kv[0].key"},
		{"driver_config no format", python, func(v *driverhub.DriverVersion) {
			v.DriverConfig = &driverhub.DriverConfig{}
		}, "driver_config.format"},

		{"container memory", python, func(v *driverhub.DriverVersion) { v.Container.MemoryLimitMB = 15 }, "container.memory_limit_mb"},
		{"container port on host network", python, func(v *driverhub.DriverVersion) {
			v.Container.PortMappings = []driverhub.PortMapping{{HostPort: 80, ContainerPort: 80, Protocol: "tcp"}}
		}, "container.port_mappings"},

		{"config checks", python, func(v *driverhub.DriverVersion) {
			v.ConfigChecks = driverhub.ConfigChecks{DriverConfigRequired: true, DeviceConfigRequired: true}
		}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := validVersion()
			tt.edit(v)
			d := tt.driver
			checkField(t, v.Validate(&d), tt.field)
		})
	}
}

func TestDriverVersionValidateCanonicalizesConfig(t *testing.T) {
	v := validVersion()
	v.DriverConfig = &driverhub.DriverConfig{Format: "json", JSON: []byte(`"{ \"slave\" : 1 }"`)}
	d := validDriver()
	if err := v.Validate(&d); err != nil {
		t.Fatal(err)
	}
	if got, want := string(v.DriverConfig.JSON), `{"slave":1}`; got != want {
		t.Errorf("driver_config.json = %s, want %s", got, want)
	}
}
