package service_test

import (
	"context"
	"strings"
	"testing"

	"github.com/driverhub/driverhub"
)

// textEnv is a tenant with a published driver "modbus_rtu" bound to
// instance "gw1", for the text tests to write into.
func textEnv(t *testing.T) (*testService, context.Context) {
	t.Helper()
	ts := newTestService(t)
	ctx := ts.admin
	ts.ready(t, ctx, driverIn("modbus_rtu", driverhub.RuntimePython3))
	ts.newInstance(t, ctx, "gw1")
	ts.bind(t, ctx, "gw1", "modbus_rtu", "")
	return ts, ctx
}

// serviceText is one stored human text: a write of s there through the
// service, the field a refusal names, and (for texts that may hold
// non-ASCII) how to read back what was stored.
type serviceText struct {
	name  string
	field string
	write func(ctx context.Context, ts *testService, s string) error
	read  func(ctx context.Context, ts *testService) (string, error)
}

var serviceTexts = []serviceText{
	{"driver description", "description", func(ctx context.Context, ts *testService, s string) error {
		in := driverIn("other", driverhub.RuntimePython3)
		in.Description = &s
		_, err := ts.CreateDriver(ctx, in)
		return err
	}, func(ctx context.Context, ts *testService) (string, error) {
		d, err := ts.GetDriver(ctx, "other")
		return field(d, err, func(d *driverhub.Driver) string { return d.Description })
	}},
	{"version", "version", func(ctx context.Context, ts *testService, s string) error {
		_, err := ts.CreateVersion(ctx, "modbus_rtu", driverhub.VersionInput{Version: &s, MinEdgeVersion: ptr("1.0.0")})
		return err
	}, func(ctx context.Context, ts *testService) (string, error) {
		l, err := ts.ListVersions(ctx, "modbus_rtu", driverhub.StatusDraft, driverhub.Page{})
		if err != nil || len(l.Items) != 1 {
			return "", err
		}
		return l.Items[0].Version, nil
	}},
	{"version description", "description", func(ctx context.Context, ts *testService, s string) error {
		_, err := ts.UpdateVersion(ctx, "modbus_rtu", "1", driverhub.VersionInput{Description: &s})
		return err
	}, func(ctx context.Context, ts *testService) (string, error) {
		v, err := ts.GetVersion(ctx, "modbus_rtu", "1")
		return field(v, err, func(v *driverhub.DriverVersion) string { return v.Description })
	}},
	{"kv key", "driver_config.kv[0].key", func(ctx context.Context, ts *testService, s string) error {
		_, err := ts.CreateVersion(ctx, "modbus_rtu", driverhub.VersionInput{Version: ptr("2"), MinEdgeVersion: ptr("1.0.0"),
			DriverConfig: &driverhub.DriverConfig{Format: driverhub.ConfigKV, KV: []driverhub.KVPair{{Key: s}}}})
		return err
	}, func(ctx context.Context, ts *testService) (string, error) {
		v, err := ts.GetVersion(ctx, "modbus_rtu", "2")
		return field(v, err, func(v *driverhub.DriverVersion) string { return v.DriverConfig.KV[0].Key })
	}},
	{"instance kv note", "kv[0].note", func(ctx context.Context, ts *testService, s string) error {
		_, err := ts.SetBindingConfig(ctx, "gw1", "modbus_rtu", driverhub.DriverConfig{Format: driverhub.ConfigKV,
			KV: []driverhub.KVPair{{Key: "port", Value: "502", Note: s}}})
		return err
	}, func(ctx context.Context, ts *testService) (string, error) {
		b, err := ts.GetBinding(ctx, "gw1", "modbus_rtu")
		return field(b, err, func(b *driverhub.Binding) string { return b.Config.KV[0].Note })
	}},
	{"device mapping comment", "container.device_mappings[0].comment", func(ctx context.Context, ts *testService, s string) error {
		c := driverhub.DefaultContainer()
		c.DeviceMappings = []driverhub.DeviceMapping{{HostPath: "/dev/ttyS0", Permission: "rw", Comment: s}}
		_, err := ts.CreateVersion(ctx, "modbus_rtu", driverhub.VersionInput{Version: ptr("3"), MinEdgeVersion: ptr("1.0.0"), Container: &c})
		return err
	}, func(ctx context.Context, ts *testService) (string, error) {
		v, err := ts.GetVersion(ctx, "modbus_rtu", "3")
		return field(v, err, func(v *driverhub.DriverVersion) string { return v.Container.DeviceMappings[0].Comment })
	}},
	{"instance description", "description", func(ctx context.Context, ts *testService, s string) error {
		_, err := ts.UpdateInstance(ctx, "gw1", driverhub.InstanceInput{Description: &s})
		return err
	}, func(ctx context.Context, ts *testService) (string, error) {
		i, err := ts.GetInstance(ctx, "gw1")
		return field(i, err, func(i *driverhub.Instance) string { return i.Description })
	}},
	{"tag key", "tags", func(ctx context.Context, ts *testService, s string) error {
		_, err := ts.UpdateInstance(ctx, "gw1", driverhub.InstanceInput{Tags: &map[string]string{s: "v"}})
		return err
	}, func(ctx context.Context, ts *testService) (string, error) {
		i, err := ts.GetInstance(ctx, "gw1")
		return field(i, err, func(i *driverhub.Instance) string {
			for k := range i.Tags {
				return k
			}
			return ""
		})
	}},
	{"tag value", "tags.site", func(ctx context.Context, ts *testService, s string) error {
		_, err := ts.UpdateInstance(ctx, "gw1", driverhub.InstanceInput{Tags: &map[string]string{"site": s}})
		return err
	}, func(ctx context.Context, ts *testService) (string, error) {
		i, err := ts.GetInstance(ctx, "gw1")
		return field(i, err, func(i *driverhub.Instance) string { return i.Tags["site"] })
	}},
	{"device description", "description", func(ctx context.Context, ts *testService, s string) error {
		_, err := ts.CreateDevice(ctx, driverhub.DeviceInput{Product: "meter", Name: "m1", Description: s})
		return err
	}, func(ctx context.Context, ts *testService) (string, error) {
		d, err := ts.GetDevice(ctx, "meter", "m1")
		return field(d, err, func(d *driverhub.Device) string { return d.Description })
	}},
	{"listing title", "title", func(ctx context.Context, ts *testService, s string) error {
		_, err := ts.PutListing(ctx, "modbus_rtu", driverhub.ListingInput{Title: s})
		return err
	}, func(ctx context.Context, ts *testService) (string, error) {
		l, err := ts.GetMarketDriver(ctx, "default", "modbus_rtu")
		return field(l, err, func(l *driverhub.MarketDriver) string { return l.Title })
	}},
	{"listing summary", "summary", func(ctx context.Context, ts *testService, s string) error {
		_, err := ts.PutListing(ctx, "modbus_rtu", driverhub.ListingInput{Title: "Modbus", Summary: s})
		return err
	}, func(ctx context.Context, ts *testService) (string, error) {
		l, err := ts.GetMarketDriver(ctx, "default", "modbus_rtu")
		return field(l, err, func(l *driverhub.MarketDriver) string { return l.Summary })
	}},
	{"token name", "name", func(ctx context.Context, ts *testService, s string) error {
		_, err := ts.CreateToken(ctx, s, driverhub.RoleViewer)
		return err
	}, func(ctx context.Context, ts *testService) (string, error) {
		l, err := ts.ListTokens(ctx, driverhub.Page{})
		if err != nil {
			return "", err
		}
		for _, k := range l.Items {
			if k.Name != "initial-admin" {
				return k.Name, nil
			}
		}
		return "", nil
	}},
	{"draft version", "version", func(ctx context.Context, ts *testService, s string) error {
		_, err := ts.SaveDraft(ctx, driverhub.DraftInput{Driver: "modbus_rtu",
			Fields: driverhub.VersionInput{Version: &s, MinEdgeVersion: ptr("1.0.0")}})
		return err
	}, func(ctx context.Context, ts *testService) (string, error) {
		l, err := ts.ListVersions(ctx, "modbus_rtu", driverhub.StatusDraft, driverhub.Page{})
		if err != nil || len(l.Items) != 1 {
			return "", err
		}
		return l.Items[0].Version, nil
	}},
	// Names that are ASCII by rule: a control or bidi character is refused
	// all the same, naming the field.
	{"driver name", "name", func(ctx context.Context, ts *testService, s string) error {
		_, err := ts.CreateDriver(ctx, driverIn(s, driverhub.RuntimePython3))
		return err
	}, nil},
	{"instance name", "name", func(ctx context.Context, ts *testService, s string) error {
		_, err := ts.CreateInstance(ctx, driverhub.InstanceInput{Name: &s})
		return err
	}, nil},
	{"device name", "name", func(ctx context.Context, ts *testService, s string) error {
		_, err := ts.CreateDevice(ctx, driverhub.DeviceInput{Product: "meter", Name: s})
		return err
	}, nil},
	{"username", "username", func(ctx context.Context, ts *testService, s string) error {
		_, err := ts.CreateUser(ctx, driverhub.UserInput{Username: &s, Password: ptr("long enough"), Role: ptr(driverhub.RoleViewer)})
		return err
	}, nil},
	{"tenant name", "name", func(ctx context.Context, ts *testService, s string) error {
		_, err := ts.CreateTenant(ctx, s)
		return err
	}, nil},
}

// field reads one field of a result, or passes its error on.
func field[T any](v T, err error, get func(T) string) (string, error) {
	if err != nil {
		return "", err
	}
	return get(v), nil
}

// TestServiceRefusesInvisibleText: through the service (the one door of the
// API, the console and the CLI) a control character or a bidirectional
// override in any stored text is refused with 400 naming the field.
func TestServiceRefusesInvisibleText(t *testing.T) {
	ts, ctx := textEnv(t)
	for _, bad := range []string{"ab\x1b[2Jc", "ab\u202Ec", "ab\u2066c"} {
		for _, f := range serviceTexts {
			t.Run(f.name+"/"+strings.ToValidUTF8(bad, "?"), func(t *testing.T) {
				e := wantErr(t, f.write(ctx, ts, bad), driverhub.EInvalid, f.field)
				if e.Message == "" {
					t.Error("empty message")
				}
			})
		}
	}
}

// TestServiceStoresNFC: text sent decomposed ("e" + U+0301) is stored
// composed ("é"), whichever the field.
func TestServiceStoresNFC(t *testing.T) {
	for _, f := range serviceTexts {
		if f.read == nil {
			continue
		}
		t.Run(f.name, func(t *testing.T) {
			ts, ctx := textEnv(t)
			ok(t, f.write(ctx, ts, "Cafe\u0301"))
			got, err := f.read(ctx, ts)
			ok(t, err)
			if got != "Café" {
				t.Errorf("stored %+q, want %+q (NFC)", got, "Café")
			}
		})
	}
}

// TestLookAlikeVersionsConflict: "é" and "e"+U+0301 are one version: the
// second is a conflict, and either spelling finds the first.
func TestLookAlikeVersionsConflict(t *testing.T) {
	ts, ctx := textEnv(t)
	ts.newVersion(t, ctx, "modbus_rtu", "v\u00e9")
	_, err := ts.CreateVersion(ctx, "modbus_rtu", driverhub.VersionInput{Version: ptr("ve\u0301"), MinEdgeVersion: ptr("1.0.0")})
	wantErr(t, err, driverhub.EConflict, "version")
	_, err = ts.SaveDraft(ctx, driverhub.DraftInput{Driver: "modbus_rtu",
		Fields: driverhub.VersionInput{Version: ptr("ve\u0301"), MinEdgeVersion: ptr("1.0.0")}})
	wantErr(t, err, driverhub.EConflict, "version")
	v := must(ts.GetVersion(ctx, "modbus_rtu", "ve\u0301"))(t)
	if v.Version != "v\u00e9" {
		t.Errorf("found %+q, want %+q", v.Version, "v\u00e9")
	}
}

// TestTagKeysThatBecomeOne: two tag keys that differ only in their Unicode
// form are one key once normalised: refused, not silently merged.
func TestTagKeysThatBecomeOne(t *testing.T) {
	ts, ctx := textEnv(t)
	_, err := ts.UpdateInstance(ctx, "gw1", driverhub.InstanceInput{Tags: &map[string]string{"caf\u00e9": "1", "cafe\u0301": "2"}})
	wantErr(t, err, driverhub.EInvalid, "tags")
}

// TestDescriptionsKeepLines: a description typed in a browser (CRLF) is
// stored with line feeds, as a script would send it.
func TestDescriptionsKeepLines(t *testing.T) {
	ts, ctx := textEnv(t)
	d := ts.newDriver(t, ctx, func() driverhub.DriverInput {
		in := driverIn("lines", driverhub.RuntimePython3)
		in.Description = ptr("first line\r\nsecond\tline")
		return in
	}())
	if d.Description != "first line\nsecond\tline" {
		t.Errorf("stored %q", d.Description)
	}
}
