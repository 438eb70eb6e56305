package driverhub_test

import (
	"slices"
	"testing"

	"github.com/driverhub/driverhub"
)

// fieldsOf lists the fields of the problems, in order.
func fieldsOf(errs driverhub.FieldErrors) []string {
	var out []string
	for _, e := range errs {
		out = append(out, e.Field)
	}
	return out
}

// TestChecksReportEveryField: each input type's Check names every field at
// fault at once, not the first only (SPEC §8).
func TestChecksReportEveryField(t *testing.T) {
	java := driverhub.Driver{Name: "j", Protocol: "modbus", Runtime: driverhub.RuntimeJava}
	for _, tt := range []struct {
		name  string
		check func() driverhub.FieldErrors
		want  []string
	}{
		{"driver", func() driverhub.FieldErrors {
			d := driverhub.Driver{Name: "1x", Protocol: "can", Runtime: driverhub.RuntimeC, Description: "a\x1b"}
			return d.Check()
		}, []string{"name", "protocol", "cpu_arch", "description"}},
		{"version with container rows and config rows", func() driverhub.FieldErrors {
			v := driverhub.NewDriverVersion()
			v.Version, v.MinEdgeVersion, v.JVMArgs = "..", "1.0", "-X\n"
			v.DriverConfig = &driverhub.DriverConfig{Format: driverhub.ConfigKV, KV: []driverhub.KVPair{{Key: ""}, {Key: "ok"}, {Key: "ok"}}}
			v.Container.HostNetwork = false
			v.Container.PortMappings = []driverhub.PortMapping{{HostPort: 0, ContainerPort: 80, Protocol: "sctp"}}
			v.Container.VolumeMappings = []driverhub.VolumeMapping{{HostPath: "rel", ContainerPath: "/", Permission: "x"}}
			v.Container.MemoryLimitMB = 1
			return v.Check(&java)
		}, []string{"version", "min_edge_version", "driver_config.kv[0].key", "driver_config.kv[2].key",
			"container.port_mappings[0].host_port", "container.port_mappings[0].protocol",
			"container.volume_mappings[0].host_path", "container.volume_mappings[0].container_path",
			"container.volume_mappings[0].permission", "container.memory_limit_mb", "jvm_args"}},
		{"instance", func() driverhub.FieldErrors {
			i := driverhub.Instance{Name: "", Description: "a\u202E", Tags: map[string]string{"": "x", "site": "a\nb"}}
			return i.Check()
		}, []string{"name", "description", "tags", "tags.site"}},
		{"device", func() driverhub.FieldErrors {
			return driverhub.DeviceInput{Product: "..", Name: "a b", Description: "\x07"}.Check()
		}, []string{"product", "name", "description"}},
		{"listing", func() driverhub.FieldErrors {
			return driverhub.ListingInput{Title: "", Summary: "\u2066"}.Check()
		}, []string{"title", "summary"}},
		{"new user", func() driverhub.FieldErrors {
			return driverhub.UserInput{Username: ptr("-x"), Password: ptr("short")}.Check(true)
		}, []string{"username", "password", "role"}},
		{"changed user: absent fields stay", func() driverhub.FieldErrors {
			return driverhub.UserInput{Role: ptr(driverhub.Role("root"))}.Check(false)
		}, []string{"role"}},
		{"token", func() driverhub.FieldErrors { return driverhub.CheckToken("", "owner") }, []string{"name", "role"}},
		{"binding", func() driverhub.FieldErrors {
			return driverhub.BindingInput{Publisher: ptr("Not A Tenant"), Version: ptr("..")}.Check()
		}, []string{"publisher", "version"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := fieldsOf(tt.check()); !slices.Equal(got, tt.want) {
				t.Errorf("fields %q, want %q", got, tt.want)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

// TestFieldErrorsErr: one Error carries every problem; its code, field and
// message are the first's, so a client reading one field still works.
func TestFieldErrorsErr(t *testing.T) {
	var none driverhub.FieldErrors
	if err := none.Err(); err != nil {
		t.Fatalf("Err of nothing = %v", err)
	}
	var l driverhub.FieldErrors
	l.Add(nil, driverhub.Invalid("name", "is required"), driverhub.Invalid("runtime", "must be one of %s", "c, java"))
	e := wantInvalid(t, l.Err(), "name")
	if len(e.Problems) != 2 || e.Problems[1].Field != "runtime" || e.Problems[1].Message != "must be one of c, java" ||
		e.Problems[1].Code != driverhub.EInvalid || e.Problems[1].Resource != "" {
		t.Fatalf("problems %+v", e.Problems)
	}
	if e.Problems[1].Format != "must be one of %s" || len(e.Problems[1].Args) != 1 {
		t.Errorf("problem lost its format and args: %+v", e.Problems[1])
	}
	// Problems that differ in code (a name taken among bad fields) are invalid input.
	l = driverhub.FieldErrors{driverhub.Errorf(driverhub.EConflict, "taken"), driverhub.Invalid("x", "bad")}
	if got := driverhub.ErrorCode(l.Err()); got != driverhub.EInvalid {
		t.Errorf("mixed codes → %q, want %q", got, driverhub.EInvalid)
	}
	// AppendNew leaves out fields reported already.
	l = driverhub.FieldErrors{driverhub.Invalid("name", "is required")}
	l.AppendNew(driverhub.FieldErrors{driverhub.Invalid("name", "must start with a letter"), driverhub.Invalid("protocol", "bad")})
	if got := fieldsOf(l); !slices.Equal(got, []string{"name", "protocol"}) || l[0].Message != "is required" {
		t.Errorf("AppendNew → %v", l)
	}
}

// TestErrorsKeepTheirFormat: a console translates a message by its format
// and arguments.
func TestErrorsKeepTheirFormat(t *testing.T) {
	e := driverhub.NotFound("driver", "modbus")
	if e.Format != "%s %q not found" || len(e.Args) != 2 || e.Args[0] != driverhub.Word("driver") {
		t.Errorf("NotFound: format %q args %#v", e.Format, e.Args)
	}
	p := driverhub.NewProblem("driver d", driverhub.ProblemPackageMissing, "version %s has no package", "1")
	if p.Message != "version 1 has no package" || p.Format != "version %s has no package" {
		t.Errorf("NewProblem = %+v", p)
	}
}
