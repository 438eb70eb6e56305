package service_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/driverhub/driverhub"
)

func TestInstanceFields(t *testing.T) {
	t.Parallel()
	ts := newTestService(t)
	ts.newInstance(t, ts.admin, "edge")
	many := map[string]string{}
	for k := range driverhub.MaxInstanceTags + 1 {
		many[fmt.Sprint("k", k)] = "v"
	}
	tests := []struct {
		name  string
		in    driverhub.InstanceInput
		code  string
		field string
	}{
		{"no name", driverhub.InstanceInput{}, driverhub.EInvalid, "name"},
		{"bad name", driverhub.InstanceInput{Name: ptr("edge one")}, driverhub.EInvalid, "name"},
		{"long name", driverhub.InstanceInput{Name: ptr(strings.Repeat("e", 21))}, driverhub.EInvalid, "name"},
		{"too many tags", driverhub.InstanceInput{Name: ptr("e2"), Tags: &many}, driverhub.EInvalid, "tags"},
		{"long tag value", driverhub.InstanceInput{Name: ptr("e2"), Tags: &map[string]string{"site": strings.Repeat("v", 257)}}, driverhub.EInvalid, "tags.site"},
		{"taken name", driverhub.InstanceInput{Name: ptr("edge")}, driverhub.EConflict, "name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ts.CreateInstance(ts.admin, tt.in)
			wantErr(t, err, tt.code, tt.field)
		})
	}
	_, err := ts.UpdateInstance(ts.admin, "edge", driverhub.InstanceInput{Name: ptr("edge2")})
	wantErr(t, err, driverhub.EInvalid, "name")
	i := must(ts.UpdateInstance(ts.admin, "edge", driverhub.InstanceInput{Description: ptr("roof"), Tags: &map[string]string{"site": "north"}}))(t)
	if i.Description != "roof" || i.Tags["site"] != "north" {
		t.Errorf("updated instance %+v", i)
	}
}

func TestGatewaySecretShownOnceAndRotated(t *testing.T) {
	t.Parallel()
	ts := newTestService(t)
	i := ts.newInstance(t, ts.admin, "edge")
	if !strings.HasPrefix(i.GatewaySecret, driverhub.GatewaySecretPrefix) {
		t.Fatalf("new instance's secret %q lacks prefix %s", i.GatewaySecret, driverhub.GatewaySecretPrefix)
	}
	if got := must(ts.GetInstance(ts.admin, "edge"))(t); got.GatewaySecret != "" {
		t.Error("reading an instance shows its gateway secret")
	}
	for _, l := range must(ts.ListInstances(ts.admin, driverhub.Page{}))(t).Items {
		if l.GatewaySecret != "" {
			t.Error("listing instances shows a gateway secret")
		}
	}
	if g := driverhub.GatewayFrom(ts.gatewayCtx(t, i.GatewaySecret)); g.Name != "edge" {
		t.Errorf("secret authenticates instance %s", g.Name)
	}

	r := must(ts.RotateGatewaySecret(ts.admin, "edge"))(t)
	if r.GatewaySecret == "" || r.GatewaySecret == i.GatewaySecret {
		t.Fatalf("rotation answered secret %q", r.GatewaySecret)
	}
	_, err := ts.AuthenticateGateway(context.Background(), i.GatewaySecret)
	wantErr(t, err, driverhub.EUnauthenticated, "")
	ts.gatewayCtx(t, r.GatewaySecret)
	for _, wrong := range []string{"", ts.adminToken, strings.TrimPrefix(r.GatewaySecret, driverhub.GatewaySecretPrefix)} {
		_, err = ts.AuthenticateGateway(context.Background(), wrong)
		wantErr(t, err, driverhub.EUnauthenticated, "")
	}
	_, err = ts.RotateGatewaySecret(ts.userCtx(t, ts.admin, "vic", driverhub.RoleViewer), "edge")
	wantErr(t, err, driverhub.EPermissionDenied, "")
}

func TestDeleteInstanceOnlyWhenEmpty(t *testing.T) {
	t.Parallel()
	ts := newTestService(t)
	ts.ready(t, ts.admin, driverIn("Pump", "python3"))
	i := ts.newInstance(t, ts.admin, "edge")
	ts.bind(t, ts.admin, "edge", "Pump", "")
	ts.device(t, ts.admin, "pump", "p1", "edge", "Pump", "")
	ts.deploy(t, ts.admin, "edge")

	wantErr(t, ts.DeleteInstance(ts.admin, "edge"), driverhub.EConflict, "")
	wantErr(t, ts.Unbind(ts.admin, "edge", "Pump"), driverhub.EConflict, "") // its device first
	ok(t, ts.DissociateDevice(ts.admin, "edge", "pump", "p1"))
	wantErr(t, ts.DeleteInstance(ts.admin, "edge"), driverhub.EConflict, "")
	ok(t, ts.Unbind(ts.admin, "edge", "Pump"))

	ok(t, ts.DeleteInstance(ts.admin, "edge")) // its deployment history goes with it
	_, err := ts.GetInstance(ts.admin, "edge")
	wantErr(t, err, driverhub.ENotFound, "")
	_, err = ts.AuthenticateGateway(context.Background(), i.GatewaySecret)
	wantErr(t, err, driverhub.EUnauthenticated, "")
	ts.newInstance(t, ts.admin, "edge")
}

func TestBindDefaultsToTheNewestPublishedVersion(t *testing.T) {
	t.Parallel()
	ts := newTestService(t)
	ts.newDriver(t, ts.admin, driverIn("Pump", "python3"))
	ts.newInstance(t, ts.admin, "edge")
	ts.newVersion(t, ts.admin, "Pump", "dbg")
	_, err := ts.Bind(ts.admin, "edge", "Pump", driverhub.BindingInput{})
	wantErr(t, err, driverhub.EInvalid, "version")

	// "2.0" is made first but published last: newest means last published.
	for _, v := range []string{"2.0", "1.5"} {
		ts.newVersion(t, ts.admin, "Pump", v)
		ts.upload(t, ts.admin, "Pump", v)
	}
	for _, v := range []string{"1.5", "2.0"} {
		ts.clock.Advance(60e9)
		must(ts.PublishVersion(ts.admin, "Pump", v))(t)
	}
	b := ts.bind(t, ts.admin, "edge", "Pump", "")
	if b.Version != "2.0" || b.Publisher != "default" {
		t.Errorf("bound %s of %s, want 2.0 of default", b.Version, b.Publisher)
	}
	// A draft of one's own driver may be bound, for debugging; rebinding
	// changes the version in place.
	b = ts.bind(t, ts.admin, "edge", "Pump", "dbg")
	if b.Version != "dbg" {
		t.Errorf("rebound version %s, want dbg", b.Version)
	}
	if l := must(ts.ListBindings(ts.admin, "edge"))(t); len(l.Items) != 1 {
		t.Errorf("%d bindings after rebinding, want 1", len(l.Items))
	}
	_, err = ts.Bind(ts.admin, "edge", "Pump", driverhub.BindingInput{Version: ptr("9.9")})
	wantErr(t, err, driverhub.ENotFound, "")
	_, err = ts.Bind(ts.admin, "nowhere", "Pump", driverhub.BindingInput{})
	wantErr(t, err, driverhub.ENotFound, "")
}

func TestAnInstanceHoldsAtMost30Drivers(t *testing.T) {
	t.Parallel()
	ts := newTestService(t)
	i := ts.newInstance(t, ts.admin, "edge")
	tenant := driverhub.PrincipalFrom(ts.admin)
	// Seed all but one binding in one transaction.
	ok(t, ts.store.Update(context.Background(), func(tx driverhub.Tx) error {
		now := ts.clock.Now()
		for k := range driverhub.MaxDriversPerInstance - 1 {
			d := &driverhub.Driver{ID: driverhub.NewID(), TenantID: tenant.TenantID, Name: fmt.Sprint("Seed", k),
				Protocol: "modbus", Runtime: "python3", CreatedAt: now, UpdatedAt: now}
			if err := tx.CreateDriver(context.Background(), d); err != nil {
				return err
			}
			b := &driverhub.Binding{ID: driverhub.NewID(), InstanceID: i.ID, DriverID: d.ID, Driver: d.Name,
				Publisher: tenant.TenantName, PublisherID: tenant.TenantID, Version: "1", CreatedAt: now, UpdatedAt: now}
			if err := tx.CreateBinding(context.Background(), b); err != nil {
				return err
			}
		}
		return nil
	}))
	for _, name := range []string{"Thirtieth", "ThirtyFirst"} {
		ts.newDriver(t, ts.admin, driverIn(name, "python3"))
		ts.newVersion(t, ts.admin, name, "1")
		ts.newVersion(t, ts.admin, name, "2")
	}
	ts.bind(t, ts.admin, "edge", "Thirtieth", "1")
	_, err := ts.Bind(ts.admin, "edge", "ThirtyFirst", driverhub.BindingInput{Version: ptr("1")})
	wantErr(t, err, driverhub.EConflict, "")
	ts.bind(t, ts.admin, "edge", "Thirtieth", "2") // a full instance still changes versions
	if l := must(ts.ListBindings(ts.admin, "edge"))(t); len(l.Items) != driverhub.MaxDriversPerInstance {
		t.Errorf("%d bindings, want %d", len(l.Items), driverhub.MaxDriversPerInstance)
	}
}

func TestAcquiredDriversBindOnlyPublishedVersions(t *testing.T) {
	t.Parallel()
	ts := newTestService(t)
	acme := ts.tenantCtx(t, "acme")
	ts.ready(t, acme, driverIn("Meter", "python3"))
	ts.newVersion(t, acme, "Meter", "2-draft")
	ts.ready(t, acme, driverIn("Other", "python3"))
	must(ts.PutListing(acme, "Meter", driverhub.ListingInput{Title: "Meter"}))(t)
	must(ts.Acquire(ts.admin, "acme", "Meter"))(t)
	ts.newInstance(t, ts.admin, "edge")

	acmeIn := func(version string) driverhub.BindingInput {
		in := driverhub.BindingInput{Publisher: ptr("acme")}
		if version != "" {
			in.Version = &version
		}
		return in
	}
	b := must(ts.Bind(ts.admin, "edge", "Meter", acmeIn("")))(t)
	if b.Version != "1" || b.Publisher != "acme" {
		t.Errorf("bound %s/%s, want acme's version 1", b.Publisher, b.Version)
	}
	_, err := ts.Bind(ts.admin, "edge", "Meter", acmeIn("2-draft"))
	wantErr(t, err, driverhub.ENotFound, "")
	must(ts.Bind(ts.admin, "edge", "Meter", acmeIn("1")))(t)
	_, err = ts.Bind(ts.admin, "edge", "Other", acmeIn("")) // not acquired
	wantErr(t, err, driverhub.ENotFound, "")
	_, err = ts.Bind(ts.admin, "edge", "Meter", driverhub.BindingInput{Publisher: ptr("nobody")})
	wantErr(t, err, driverhub.ENotFound, "")
	_, err = ts.Bind(ts.admin, "edge", "Nope", acmeIn(""))
	wantErr(t, err, driverhub.ENotFound, "")
}

func TestDevices(t *testing.T) {
	t.Parallel()
	ts := newTestService(t)
	ts.ready(t, ts.admin, driverIn("Pump", "python3"))
	ts.ready(t, ts.admin, driverIn("Valve", "nodejs"))
	for _, inst := range []string{"a", "b"} {
		ts.newInstance(t, ts.admin, inst)
		ts.bind(t, ts.admin, inst, "Pump", "")
	}
	ts.bind(t, ts.admin, "a", "Valve", "")

	for _, tt := range []struct {
		name  string
		in    driverhub.DeviceInput
		code  string
		field string
	}{
		{"bad product", driverhub.DeviceInput{Product: "p/1", Name: "d"}, driverhub.EInvalid, "product"},
		{"dot name", driverhub.DeviceInput{Product: "p", Name: ".."}, driverhub.EInvalid, "name"},
		{"long name", driverhub.DeviceInput{Product: "p", Name: strings.Repeat("n", 65)}, driverhub.EInvalid, "name"},
		{"long description", driverhub.DeviceInput{Product: "p", Name: "d", Description: strings.Repeat("x", 257)}, driverhub.EInvalid, "description"},
	} {
		_, err := ts.CreateDevice(ts.admin, tt.in)
		wantErr(t, err, tt.code, tt.field)
	}
	ts.device(t, ts.admin, "pump", "d1", "", "", "")
	_, err := ts.CreateDevice(ts.admin, driverhub.DeviceInput{Product: "pump", Name: "d1"})
	wantErr(t, err, driverhub.EConflict, "name")
	ts.device(t, ts.admin, "valve", "d1", "", "", "") // unique by product and name together

	assoc := func(inst, driver, config string) error {
		_, err := ts.AssociateDevice(ts.admin, inst, "pump", "d1", driverhub.DeviceAssociation{Driver: driver, Config: []byte(config)})
		return err
	}
	wantErr(t, assoc("a", "", ""), driverhub.EInvalid, "driver")
	wantErr(t, assoc("a", "Nope", ""), driverhub.ENotFound, "")
	wantErr(t, assoc("a", "Pump", `[1]`), driverhub.EInvalid, "config")
	wantErr(t, assoc("a", "Pump", `{"a":`), driverhub.EInvalid, "config")
	ok(t, assoc("a", "Pump", `{"slave": 1}`))

	// One instance at a time: moving means removing first.
	wantErr(t, assoc("b", "Pump", ""), driverhub.EConflict, "")
	wantErr(t, ts.DeleteDevice(ts.admin, "pump", "d1"), driverhub.EConflict, "")
	wantErr(t, ts.DissociateDevice(ts.admin, "b", "pump", "d1"), driverhub.ENotFound, "")
	// On its own instance it may change driver and config.
	ok(t, assoc("a", "Valve", `{"slave": 2}`))
	d := must(ts.GetDevice(ts.admin, "pump", "d1"))(t)
	if d.Instance != "a" || d.Driver != "Valve" || string(d.Config) != `{"slave":2}` {
		t.Errorf("device after re-association: %+v", d)
	}
	if b := must(ts.GetBinding(ts.admin, "a", "Valve"))(t); b.Devices != 1 {
		t.Errorf("Valve on a has %d devices, want 1", b.Devices)
	}

	ok(t, ts.DissociateDevice(ts.admin, "a", "pump", "d1"))
	if d := must(ts.GetDevice(ts.admin, "pump", "d1"))(t); d.Instance != "" || d.Driver != "" || d.Config != nil {
		t.Errorf("dissociated device keeps %+v", d)
	}
	ok(t, assoc("b", "Pump", ""))
	if l := must(ts.ListDevices(ts.admin, "b", driverhub.Page{}))(t); len(l.Items) != 1 || l.Items[0].Name != "d1" {
		t.Errorf("devices of b: %+v", l.Items)
	}
	ok(t, ts.DissociateDevice(ts.admin, "b", "pump", "d1"))
	ok(t, ts.DeleteDevice(ts.admin, "pump", "d1"))
	_, err = ts.GetDevice(ts.admin, "pump", "d1")
	wantErr(t, err, driverhub.ENotFound, "")
}

func TestAnInstanceHoldsAtMost1000Devices(t *testing.T) {
	t.Parallel()
	ts := newTestService(t)
	ts.ready(t, ts.admin, driverIn("Pump", "python3"))
	a := ts.newInstance(t, ts.admin, "a")
	ts.newInstance(t, ts.admin, "b")
	b := ts.bind(t, ts.admin, "a", "Pump", "")
	ts.bind(t, ts.admin, "b", "Pump", "")
	tenant := driverhub.PrincipalFrom(ts.admin).TenantID
	ok(t, ts.store.Update(context.Background(), func(tx driverhub.Tx) error {
		now := ts.clock.Now()
		for k := range driverhub.MaxDevicesPerInstance {
			d := &driverhub.Device{ID: driverhub.NewID(), TenantID: tenant, Product: "seed", Name: fmt.Sprint(k),
				InstanceID: a.ID, BindingID: b.ID, CreatedAt: now, UpdatedAt: now}
			if err := tx.CreateDevice(context.Background(), d); err != nil {
				return err
			}
		}
		return nil
	}))
	ts.device(t, ts.admin, "pump", "extra", "", "", "")
	_, err := ts.AssociateDevice(ts.admin, "a", "pump", "extra", driverhub.DeviceAssociation{Driver: "Pump"})
	wantErr(t, err, driverhub.EConflict, "")
	// A device already there may change; another instance has room.
	must(ts.AssociateDevice(ts.admin, "a", "seed", "0", driverhub.DeviceAssociation{Driver: "Pump", Config: []byte(`{}`)}))(t)
	must(ts.AssociateDevice(ts.admin, "b", "pump", "extra", driverhub.DeviceAssociation{Driver: "Pump"}))(t)
}

func TestBindingConfig(t *testing.T) {
	t.Parallel()
	ts := newTestService(t)
	ts.ready(t, ts.admin, driverIn("Pump", "python3"))
	ts.newInstance(t, ts.admin, "edge")
	ts.bind(t, ts.admin, "edge", "Pump", "")
	tests := []struct {
		name  string
		cfg   driverhub.DriverConfig
		field string
	}{
		{"file by hand", driverhub.DriverConfig{Format: driverhub.ConfigFile, File: &driverhub.ConfigFileRef{Name: "a"}}, "file"},
		{"no format", driverhub.DriverConfig{}, "format"},
		{"json array", driverhub.DriverConfig{Format: driverhub.ConfigJSON, JSON: []byte(`[]`)}, "json"},
		{"duplicate key", driverhub.DriverConfig{Format: driverhub.ConfigKV, KV: []driverhub.KVPair{{Key: "k"}, {Key: "k"}}}, "kv[1].key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ts.SetBindingConfig(ts.admin, "edge", "Pump", tt.cfg)
			wantErr(t, err, driverhub.EInvalid, tt.field)
		})
	}
	b := must(ts.SetBindingConfig(ts.admin, "edge", "Pump", driverhub.DriverConfig{Format: driverhub.ConfigKV, KV: []driverhub.KVPair{{Key: "port", Value: "502"}}}))(t)
	if b.Config == nil || b.Config.KV[0].Value != "502" {
		t.Errorf("binding config %+v", b.Config)
	}
	b = must(ts.PutBindingConfigFile(ts.admin, "edge", "Pump", "site.ini", strings.NewReader("site=1")))(t)
	if b.Config.Format != driverhub.ConfigFile || b.Config.File.Name != "site.ini" {
		t.Errorf("binding config after upload %+v", b.Config)
	}
	if got := readAll(t, must(ts.OpenBindingConfigFile(ts.admin, "edge", "Pump"))(t)); string(got) != "site=1" {
		t.Errorf("binding config file reads %q", got)
	}
	_, err := ts.PutBindingConfigFile(ts.admin, "edge", "Nope", "site.ini", strings.NewReader("x"))
	wantErr(t, err, driverhub.ENotFound, "")
	ok(t, ts.DeleteBindingConfig(ts.admin, "edge", "Pump"))
	if b := must(ts.GetBinding(ts.admin, "edge", "Pump"))(t); b.Config != nil {
		t.Errorf("deleted binding config is %+v", b.Config)
	}
	_, err = ts.OpenBindingConfigFile(ts.admin, "edge", "Pump")
	wantErr(t, err, driverhub.ENotFound, "")
}
