package driverhub_test

import (
	"encoding/json"
	"testing"

	"github.com/driverhub/driverhub"
)

// textField is one stored human text: how to check an input that holds s
// there (everything else valid), and the field a problem must name.
type textField struct {
	name  string
	field string
	check func(s string) driverhub.FieldErrors
}

// textFields lists every text a person writes and another reads.
var textFields = []textField{
	{"driver name", "name", func(s string) driverhub.FieldErrors { d := validDriver(); d.Name = s; return d.Check() }},
	{"driver description", "description", func(s string) driverhub.FieldErrors { d := validDriver(); d.Description = s; return d.Check() }},
	{"version", "version", func(s string) driverhub.FieldErrors {
		d, v := validDriver(), validVersion()
		v.Version = s
		return v.Check(&d)
	}},
	{"version description", "description", func(s string) driverhub.FieldErrors {
		d, v := validDriver(), validVersion()
		v.Description = s
		return v.Check(&d)
	}},
	{"jvm args", "jvm_args", func(s string) driverhub.FieldErrors {
		d, v := validDriver(), validVersion()
		d.Runtime, v.JVMArgs = driverhub.RuntimeJava, s
		return v.Check(&d)
	}},
	{"kv key", "driver_config.kv[1].key", func(s string) driverhub.FieldErrors {
		c := driverhub.DriverConfig{Format: driverhub.ConfigKV, KV: []driverhub.KVPair{{Key: "a"}, {Key: s}}}
		return c.Check("driver_config")
	}},
	{"kv note", "driver_config.kv[0].note", func(s string) driverhub.FieldErrors {
		c := driverhub.DriverConfig{Format: driverhub.ConfigKV, KV: []driverhub.KVPair{{Key: "a", Note: s}}}
		return c.Check("driver_config")
	}},
	{"device mapping comment", "container.device_mappings[0].comment", func(s string) driverhub.FieldErrors {
		c := driverhub.DefaultContainer()
		c.DeviceMappings = []driverhub.DeviceMapping{{HostPath: "/dev/ttyS0", Permission: "rw", Comment: s}}
		return c.Check("container")
	}},
	{"volume container path", "container.volume_mappings[0].container_path", func(s string) driverhub.FieldErrors {
		c := driverhub.DefaultContainer()
		c.VolumeMappings = []driverhub.VolumeMapping{{HostPath: "/data", ContainerPath: "/d" + s, Permission: "ro"}}
		return c.Check("container")
	}},
	{"config file name", "driver_config.file.name", func(s string) driverhub.FieldErrors {
		c := driverhub.DriverConfig{Format: driverhub.ConfigFile, File: &driverhub.ConfigFileRef{Name: s, Size: 1, SHA256: validSHA}}
		return c.Check("driver_config")
	}},
	{"instance name", "name", func(s string) driverhub.FieldErrors { i := driverhub.Instance{Name: s}; return i.Check() }},
	{"instance description", "description", func(s string) driverhub.FieldErrors {
		i := driverhub.Instance{Name: "gw1", Description: s}
		return i.Check()
	}},
	{"tag key", "tags", func(s string) driverhub.FieldErrors {
		i := driverhub.Instance{Name: "gw1", Tags: map[string]string{s: "v"}}
		return i.Check()
	}},
	{"tag value", "tags.site", func(s string) driverhub.FieldErrors {
		i := driverhub.Instance{Name: "gw1", Tags: map[string]string{"site": s}}
		return i.Check()
	}},
	{"device product", "product", func(s string) driverhub.FieldErrors { return driverhub.DeviceInput{Product: s, Name: "n"}.Check() }},
	{"device name", "name", func(s string) driverhub.FieldErrors { return driverhub.DeviceInput{Product: "p", Name: s}.Check() }},
	{"device description", "description", func(s string) driverhub.FieldErrors {
		return driverhub.DeviceInput{Product: "p", Name: "n", Description: s}.Check()
	}},
	{"association driver", "driver", func(s string) driverhub.FieldErrors { a := driverhub.DeviceAssociation{Driver: s}; return a.Check() }},
	{"binding publisher", "publisher", func(s string) driverhub.FieldErrors { return driverhub.BindingInput{Publisher: &s}.Check() }},
	{"binding version", "version", func(s string) driverhub.FieldErrors { return driverhub.BindingInput{Version: &s}.Check() }},
	{"listing title", "title", func(s string) driverhub.FieldErrors { return driverhub.ListingInput{Title: s}.Check() }},
	{"listing summary", "summary", func(s string) driverhub.FieldErrors {
		return driverhub.ListingInput{Title: "Modbus", Summary: s}.Check()
	}},
	{"username", "username", func(s string) driverhub.FieldErrors {
		return driverhub.UserInput{Username: &s}.Check(false)
	}},
	{"token name", "name", func(s string) driverhub.FieldErrors { return driverhub.CheckToken(s, driverhub.RoleViewer) }},
	{"tenant name", "name", func(s string) driverhub.FieldErrors {
		var l driverhub.FieldErrors
		l.Add(driverhub.ValidateTenantName(s))
		return l
	}},
}

// TestTextFieldsRefuseWhatReadersCannotSee: a terminal escape, a NUL, a
// bidirectional override or isolate, a line separator or a zero-width
// space in any stored text is refused, naming the field.
func TestTextFieldsRefuseWhatReadersCannotSee(t *testing.T) {
	for _, bad := range []struct{ name, s string }{
		{"escape", "ab\x1b[31mc"},
		{"NUL", "ab\x00c"},
		{"C1 control", "ab\u009bc"},
		{"right-to-left override", "ab\u202Ec"},
		{"left-to-right embedding", "ab\u202Ac"},
		{"right-to-left isolate", "ab\u2067c"},
		{"pop directional isolate", "ab\u2069c"},
		{"line separator", "ab\u2028c"},
		{"zero-width space", "ab\u200Bc"},
		{"tag character", "ab\U000E0041c"},
		{"invalid UTF-8", "ab\xffc"},
	} {
		for _, f := range textFields {
			t.Run(bad.name+"/"+f.name, func(t *testing.T) {
				if errs := f.check("ab"); len(errs) > 0 {
					t.Fatalf("the valid input is refused: %v", errs)
				}
				wantProblem(t, f.check(bad.s), f.field)
			})
		}
	}
}

// wantProblem asserts that errs holds an invalid_argument problem on field.
func wantProblem(t *testing.T, errs driverhub.FieldErrors, field string) {
	t.Helper()
	for _, e := range errs {
		if e.Field == field && e.Code == driverhub.EInvalid && e.Message != "" {
			return
		}
	}
	t.Fatalf("problems %v, want one on %q", errs, field)
}

// TestTextKinds: descriptions and summaries may span lines; one-line texts
// may not. Joiners and direction marks, which scripts and emoji need, pass
// in text but not in names and keys, where they would make look-alikes.
func TestTextKinds(t *testing.T) {
	description := func(s string) error { return driverhub.ValidateDescription("description", s) }
	title := func(s string) error { return firstOf(driverhub.ListingInput{Title: s}.Check()) }
	kvKey := func(s string) error {
		c := driverhub.DriverConfig{Format: driverhub.ConfigKV, KV: []driverhub.KVPair{{Key: s}}}
		return c.Clean("driver_config")
	}
	for _, tt := range []struct {
		name  string
		check func(string) error
		s     string
		field string // "" accepted
	}{
		{"description with lines and tabs", description, "line one\nline two\tcol", ""},
		{"description with a carriage return", description, "a\rb", "description"},
		{"description in Arabic with a right-to-left mark", description, "مرحبا\u200F 123", ""},
		{"description with an emoji sequence", description, "family 👨\u200D👩\u200D👧", ""},
		{"description in Chinese", description, "用于 Modbus RTU 的驱动", ""},
		{"title with a line feed", title, "a\nb", "title"},
		{"title with a zero-width joiner", title, "a\u200Db", ""},
		{"kv key with a zero-width joiner", kvKey, "a\u200Db", "driver_config.kv[0].key"},
		{"kv key with a left-to-right mark", kvKey, "a\u200Eb", "driver_config.kv[0].key"},
		{"kv key with a soft hyphen", kvKey, "a\u00ADb", "driver_config.kv[0].key"},
		{"kv key in Chinese", kvKey, "端口", ""},
	} {
		t.Run(tt.name, func(t *testing.T) { checkField(t, tt.check(tt.s), tt.field) })
	}
}

// TestTextProblemNamesTheCharacter: the message says which character and
// where, so that someone can find an invisible one.
func TestTextProblemNamesTheCharacter(t *testing.T) {
	e := wantInvalid(t, driverhub.ValidateDescription("description", "abc\u202Edef"), "description")
	if want := "must not hold bidirectional control characters: U+202E at character 4"; e.Message != want {
		t.Errorf("message %q, want %q", e.Message, want)
	}
}

func firstOf(errs driverhub.FieldErrors) error {
	if len(errs) == 0 {
		return nil
	}
	return errs[0]
}

// TestDeviceAssociationCheck: a valid device config is
// kept compact, "null" means none, and a bad driver and a bad config are
// both reported.
func TestDeviceAssociationCheck(t *testing.T) {
	a := driverhub.DeviceAssociation{Driver: "modbus_rtu", Config: json.RawMessage(`{ "slave" : 1 }`)}
	if errs := a.Check(); len(errs) > 0 || string(a.Config) != `{"slave":1}` {
		t.Fatalf("Check = %v, config %s; want none, compact", errs, a.Config)
	}
	a = driverhub.DeviceAssociation{Driver: "modbus_rtu", Config: json.RawMessage(`null`)}
	if errs := a.Check(); len(errs) > 0 || a.Config != nil {
		t.Fatalf("Check = %v, config %s; want none, nil", errs, a.Config)
	}
	a = driverhub.DeviceAssociation{Driver: "1bad", Config: json.RawMessage(`{"a":1,"A":2}`)}
	errs := a.Check()
	wantProblem(t, errs, "driver")
	wantProblem(t, errs, "config.A")
}
