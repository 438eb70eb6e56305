package service_test

import (
	"context"
	"encoding/json"
	"slices"
	"testing"

	"github.com/driverhub/driverhub"
)

// wantFields checks that err is one invalid_argument error listing a
// problem for each field, in order, with the first as its own field.
func wantFields(t *testing.T, err error, fields ...string) *driverhub.Error {
	t.Helper()
	e := wantErr(t, err, driverhub.EInvalid, fields[0])
	var got []string
	for _, p := range e.Problems {
		got = append(got, p.Field)
		if p.Message == "" || p.Code != driverhub.EInvalid {
			t.Errorf("problem %+v: want a message and code %s", p, driverhub.EInvalid)
		}
	}
	if !slices.Equal(got, fields) {
		t.Fatalf("problems on %q, want %q", got, fields)
	}
	return e
}

// TestEveryWriteReportsEveryField: each write of the services answers one
// submit with every field at fault, not one per submit (SPEC §8, §14).
func TestEveryWriteReportsEveryField(t *testing.T) {
	ts, ctx := textEnv(t)
	for _, tt := range []struct {
		name   string
		write  func(ctx context.Context) error
		fields []string
	}{
		{"create driver", func(ctx context.Context) error {
			_, err := ts.CreateDriver(ctx, driverhub.DriverInput{Name: ptr("9lives"), Runtime: ptr(driverhub.RuntimeC),
				CPUArch: ptr("mips"), Description: ptr("\x1b[31m")})
			return err
		}, []string{"protocol", "name", "cpu_arch", "description"}},
		{"update driver", func(ctx context.Context) error {
			_, err := ts.UpdateDriver(ctx, "modbus_rtu", driverhub.DriverInput{Name: ptr("renamed"), Protocol: ptr("can"), Description: ptr("\u202E")})
			return err
		}, []string{"name", "protocol", "description"}},
		{"create version", func(ctx context.Context) error {
			c := driverhub.DefaultContainer()
			c.PortMappings = []driverhub.PortMapping{{HostPort: 1, ContainerPort: 1, Protocol: "tcp"}}
			c.MemoryLimitMB = 8
			_, err := ts.CreateVersion(ctx, "modbus_rtu", driverhub.VersionInput{Version: ptr(".."), JVMArgs: ptr("-Xmx1g"),
				Container: &c, DriverConfig: &driverhub.DriverConfig{Format: driverhub.ConfigKV, KV: []driverhub.KVPair{{Key: ""}, {Key: "a", Note: "\n"}}}})
			return err
		}, []string{"min_edge_version", "version", "driver_config.kv[0].key", "driver_config.kv[1].note",
			"container.port_mappings", "container.memory_limit_mb", "jvm_args"}},
		{"update version", func(ctx context.Context) error {
			_, err := ts.UpdateVersion(ctx, "modbus_rtu", "1", driverhub.VersionInput{Version: ptr("2"), Description: ptr("\x00")})
			return err
		}, []string{"version", "description"}},
		{"create instance", func(ctx context.Context) error {
			_, err := ts.CreateInstance(ctx, driverhub.InstanceInput{Description: ptr("\u2067"), Tags: &map[string]string{"site": "a\nb"}})
			return err
		}, []string{"name", "description", "tags.site"}},
		{"update instance", func(ctx context.Context) error {
			_, err := ts.UpdateInstance(ctx, "gw1", driverhub.InstanceInput{Name: ptr("gw2"), Description: ptr("\x7f")})
			return err
		}, []string{"name", "description"}},
		{"create device", func(ctx context.Context) error {
			_, err := ts.CreateDevice(ctx, driverhub.DeviceInput{Product: "", Name: "a/b", Description: "\x1b"})
			return err
		}, []string{"product", "name", "description"}},
		{"associate device", func(ctx context.Context) error {
			_, err := ts.AssociateDevice(ctx, "gw1", "meter", "m1", driverhub.DeviceAssociation{Driver: "", Config: json.RawMessage(`[1]`)})
			return err
		}, []string{"driver", "config"}},
		{"bind", func(ctx context.Context) error {
			_, err := ts.Bind(ctx, "gw1", "modbus_rtu", driverhub.BindingInput{Publisher: ptr("No Such"), Version: ptr("a b")})
			return err
		}, []string{"publisher", "version"}},
		{"instance driver config", func(ctx context.Context) error {
			_, err := ts.SetBindingConfig(ctx, "gw1", "modbus_rtu", driverhub.DriverConfig{Format: driverhub.ConfigKV,
				KV: []driverhub.KVPair{{Key: "a"}, {Key: "a"}, {Key: "b", Note: "\u202D"}}})
			return err
		}, []string{"kv[1].key", "kv[2].note"}},
		{"create user", func(ctx context.Context) error {
			_, err := ts.CreateUser(ctx, driverhub.UserInput{Username: ptr("-bad"), Password: ptr("short")})
			return err
		}, []string{"username", "password", "role"}},
		{"update user", func(ctx context.Context) error {
			_, err := ts.UpdateUser(ctx, "admin", driverhub.UserInput{Username: ptr("root"), Password: ptr("x"), Role: ptr(driverhub.Role("god"))})
			return err
		}, []string{"username", "password", "role"}},
		{"create token", func(ctx context.Context) error {
			_, err := ts.CreateToken(ctx, "", "owner")
			return err
		}, []string{"name", "role"}},
		{"listing", func(ctx context.Context) error {
			_, err := ts.PutListing(ctx, "modbus_rtu", driverhub.ListingInput{Title: "", Summary: "\u2068"})
			return err
		}, []string{"title", "summary"}},
	} {
		t.Run(tt.name, func(t *testing.T) { wantFields(t, tt.write(ctx), tt.fields...) })
	}
}

// TestOneProblemStillListsIt: a write with one field at fault names it in
// Field and in Problems alike, so a client reads 400s one way.
func TestOneProblemStillListsIt(t *testing.T) {
	ts, ctx := textEnv(t)
	_, err := ts.CreateInstance(ctx, driverhub.InstanceInput{Name: ptr("bad name")})
	e := wantFields(t, err, "name")
	if e.Message != e.Problems[0].Message {
		t.Errorf("message %q, problem %q", e.Message, e.Problems[0].Message)
	}
}
