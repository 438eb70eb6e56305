package storetest

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/driverhub/driverhub"
	"github.com/google/go-cmp/cmp"
)

// RunInstances runs the cases of InstanceTx: instances and their gateways,
// devices, bindings and driver logs. newStore returns a fresh, empty,
// migrated store for each call; every subtest runs in parallel on its own.
func RunInstances(t *testing.T, newStore func(t testing.TB) driverhub.Store) {
	t.Helper()
	edgeRun(t, newStore, []edgeCase{
		{"Instances", testInstances},
		{"InstanceRules", testInstanceRules},
		{"ListInstances", testListInstances},
		{"Devices", testDevices},
		{"ListDevices", testListDevices},
		{"DeviceByteOrder", testDeviceByteOrder},
		{"Bindings", testBindings},
		{"DriverLogs", testDriverLogs},
	})
}

type edgeCase struct {
	name string
	fn   func(t *testing.T, s driverhub.Store)
}

func edgeRun(t *testing.T, newStore func(t testing.TB) driverhub.Store, cases []edgeCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, newStore(t))
		})
	}
}

func edgeInstance(tn *driverhub.Tenant, name string) *driverhub.Instance {
	at := now()
	return &driverhub.Instance{
		ID: driverhub.NewID(), TenantID: tn.ID, Name: name, Description: "instance " + name,
		Tags: map[string]string{"site": "plant-1"}, SecretHash: digest(), CreatedAt: at, UpdatedAt: at,
	}
}

func edgeDevice(tn *driverhub.Tenant, product, name string) *driverhub.Device {
	at := now()
	return &driverhub.Device{
		ID: driverhub.NewID(), TenantID: tn.ID, Product: product, Name: name,
		Description: "device " + product + "/" + name, CreatedAt: at, UpdatedAt: at,
	}
}

// edgeBinding binds version v of d (published by pub) to i, with the
// fields a read fills in.
func edgeBinding(i *driverhub.Instance, pub *driverhub.Tenant, d *driverhub.Driver, v string) *driverhub.Binding {
	at := now()
	return &driverhub.Binding{
		ID: driverhub.NewID(), InstanceID: i.ID, DriverID: d.ID, Driver: d.Name,
		Publisher: pub.Name, PublisherID: pub.ID, Version: v, CreatedAt: at, UpdatedAt: at,
	}
}

// edgeAssociate puts dv on the binding b of instance i, and fills in the names a read returns.
func edgeAssociate(dv *driverhub.Device, i *driverhub.Instance, b *driverhub.Binding, config string) *driverhub.Device {
	dv.InstanceID, dv.Instance, dv.BindingID, dv.Driver = i.ID, i.Name, b.ID, b.Driver
	if config != "" {
		dv.Config = json.RawMessage(config)
	}
	return dv
}

// edgeWant compares want with what get reads in a View.
func edgeWant[T any](t testing.TB, s driverhub.Store, what string, want T, get func(ctx context.Context, tx driverhub.Tx) (T, error)) {
	t.Helper()
	if diff := cmp.Diff(want, fetch(t, s, get)); diff != "" {
		t.Errorf("%s (-want +got):\n%s", what, diff)
	}
}

// edgeWantErr checks that fn, run in an Update (write) or a View, fails with target.
func edgeWantErr(t testing.TB, s driverhub.Store, what string, write bool, target error, fn func(ctx context.Context, tx driverhub.Tx) error) {
	t.Helper()
	run := viewErr
	if write {
		run = updateErr
	}
	wantIs(t, what, run(t, s, fn), target)
}

func testInstances(t *testing.T, s driverhub.Store) {
	tn := newTenant("acme")
	create(t, s, tn)
	seen := now().Add(-time.Minute)
	for _, tc := range []struct {
		name string
		in   *driverhub.Instance
	}{
		{"no tags", with(edgeInstance(tn, "bare"), func(i *driverhub.Instance) { i.Tags, i.Description = nil, "" })},
		{"empty tags", with(edgeInstance(tn, "empty-tags"), func(i *driverhub.Instance) { i.Tags = map[string]string{} })},
		{"tags and unicode", with(edgeInstance(tn, "plant_2"), func(i *driverhub.Instance) {
			i.Tags = map[string]string{"楼层": "三层", "quote": `"'\%_`, "empty": ""}
			i.Description = "二号车间 — «gateway»"
		})},
		{"gateway seen, builtins reported", with(edgeInstance(tn, "seen"), func(i *driverhub.Instance) {
			i.Gateway = driverhub.Gateway{LastSeenAt: &seen, EdgeVersion: "1.2.3", Arch: "aarch64",
				BuiltinDrivers: []string{"ModbusTCP", "OPCUA"}, BuiltinsReported: true}
			i.CurrentDeploymentID = driverhub.NewID()
		})},
		{"capabilities and runtime versions reported", with(edgeInstance(tn, "capable"), func(i *driverhub.Instance) {
			i.Gateway = driverhub.Gateway{LastSeenAt: &seen, EdgeVersion: "1.1.0", Arch: "x86-64",
				Capabilities:    &driverhub.Capabilities{Runtimes: []string{"process", "runc"}, Isolation: true, Cgroup: "v2"},
				RuntimeVersions: map[driverhub.Runtime]string{"python3": "3.11.2", "java": "17.0.9+9-Debian-1"}}
		})},
		{"capabilities of a gateway that cannot isolate", with(edgeInstance(tn, "plain"), func(i *driverhub.Instance) {
			i.Gateway = driverhub.Gateway{LastSeenAt: &seen, EdgeVersion: "1.1.0", Arch: "armv7",
				Capabilities: &driverhub.Capabilities{Runtimes: []string{"process"}, Cgroup: ""}}
		})},
		{"empty builtins reported", with(edgeInstance(tn, "none-built-in"), func(i *driverhub.Instance) {
			i.Gateway = driverhub.Gateway{LastSeenAt: &seen, EdgeVersion: "1.0.0", Arch: "x86-64",
				BuiltinDrivers: []string{}, BuiltinsReported: true}
		})},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := *tc.in
			in := *tc.in
			in.GatewaySecret = driverhub.NewSecret(driverhub.GatewaySecretPrefix, 32) // never stored
			in.Gateway.Online = true                                                  // computed by the service
			in.CurrentDeployment = &driverhub.Deployment{ID: in.CurrentDeploymentID}  // likewise
			create(t, s, &in)
			edgeWant(t, s, "InstanceByName", &want, func(ctx context.Context, tx driverhub.Tx) (*driverhub.Instance, error) {
				return tx.InstanceByName(ctx, tn.ID, want.Name)
			})
			edgeWant(t, s, "InstanceByID", &want, func(ctx context.Context, tx driverhub.Tx) (*driverhub.Instance, error) {
				return tx.InstanceByID(ctx, want.ID)
			})
			edgeWant(t, s, "InstanceBySecretHash", &want, func(ctx context.Context, tx driverhub.Tx) (*driverhub.Instance, error) {
				return tx.InstanceBySecretHash(ctx, want.SecretHash)
			})
			edgeWant(t, s, "CurrentDeploymentOf", want.CurrentDeploymentID, func(ctx context.Context, tx driverhub.Tx) (string, error) {
				return tx.CurrentDeploymentOf(ctx, want.ID)
			})
		})
	}

	t.Run("UpdateInstance", func(t *testing.T) { checkUpdateInstance(t, s, tn, seen) })
	t.Run("UpdateGateway", func(t *testing.T) { checkUpdateGateway(t, s, tn) })
	t.Run("TouchGateways", func(t *testing.T) { checkTouchGateways(t, s, tn) })
	t.Run("DeleteInstance", func(t *testing.T) { checkDeleteInstance(t, s, tn) })
}

// checkUpdateInstance changes what an instance's owner writes (its name,
// secret hash and current deployment among them) but not its gateway.
func checkUpdateInstance(t *testing.T, s driverhub.Store, tn *driverhub.Tenant, seen time.Time) {
	i, bystander := edgeInstance(tn, "changing"), edgeInstance(tn, "steady")
	i.Gateway = driverhub.Gateway{LastSeenAt: &seen, EdgeVersion: "1.0.0", Arch: "armv7", BuiltinsReported: true, BuiltinDrivers: []string{"x"}}
	create(t, s, i, bystander)
	want := *i
	want.Name, want.Description, want.Tags = "renamed", "new description", map[string]string{"zone": "b"}
	want.SecretHash, want.CurrentDeploymentID = digest(), driverhub.NewID()
	want.UpdatedAt = i.UpdatedAt.Add(time.Hour + time.Microsecond)
	in := want
	in.Gateway, in.CreatedAt, in.TenantID = driverhub.Gateway{}, time.Time{}, driverhub.NewID() // not written
	update(t, s, func(ctx context.Context, tx driverhub.Tx) error { return tx.UpdateInstance(ctx, &in) })
	edgeWant(t, s, "after UpdateInstance", &want, func(ctx context.Context, tx driverhub.Tx) (*driverhub.Instance, error) {
		return tx.InstanceByID(ctx, i.ID)
	})
	edgeWant(t, s, "its new current deployment", want.CurrentDeploymentID, func(ctx context.Context, tx driverhub.Tx) (string, error) {
		return tx.CurrentDeploymentOf(ctx, i.ID)
	})
	edgeWant(t, s, "by its new secret hash", want.ID, func(ctx context.Context, tx driverhub.Tx) (string, error) {
		got, err := tx.InstanceBySecretHash(ctx, want.SecretHash)
		if err != nil {
			return "", err
		}
		return got.ID, nil
	})
	edgeWantErr(t, s, "InstanceBySecretHash of the old hash", false, driverhub.ErrNotFound, func(ctx context.Context, tx driverhub.Tx) error {
		_, err := tx.InstanceBySecretHash(ctx, i.SecretHash)
		return err
	})
	edgeWantErr(t, s, "InstanceByName of the old name", false, driverhub.ErrNotFound, func(ctx context.Context, tx driverhub.Tx) error {
		_, err := tx.InstanceByName(ctx, tn.ID, i.Name)
		return err
	})
	// Clearing the current deployment.
	want.CurrentDeploymentID = ""
	update(t, s, func(ctx context.Context, tx driverhub.Tx) error { return tx.UpdateInstance(ctx, &want) })
	edgeWant(t, s, "after clearing the current deployment", &want, func(ctx context.Context, tx driverhub.Tx) (*driverhub.Instance, error) {
		return tx.InstanceByID(ctx, i.ID)
	})
	edgeWant(t, s, "another instance", bystander, func(ctx context.Context, tx driverhub.Tx) (*driverhub.Instance, error) {
		return tx.InstanceByID(ctx, bystander.ID)
	})
}

// checkUpdateGateway writes what a gateway reports, one report after
// another, next to an instance that reports nothing.
func checkUpdateGateway(t *testing.T, s driverhub.Store, tn *driverhub.Tenant) {
	i, bystander := edgeInstance(tn, "reporting"), edgeInstance(tn, "quiet")
	create(t, s, i, bystander)
	at := now()
	for _, g := range []driverhub.Gateway{
		{LastSeenAt: &at, EdgeVersion: "2.0.0", Arch: "armv7-hf", BuiltinDrivers: []string{"ModbusTCP"}, BuiltinsReported: true},
		{LastSeenAt: &at, EdgeVersion: "2.0.1", Arch: "armv7-hf", BuiltinDrivers: []string{}, BuiltinsReported: true},
		{LastSeenAt: &at, EdgeVersion: "2.0.1", Arch: "armv7-hf"},
		{LastSeenAt: &at, EdgeVersion: "2.1.0", Capabilities: &driverhub.Capabilities{Runtimes: []string{"runc"}, Isolation: true, Cgroup: "v1"},
			RuntimeVersions: map[driverhub.Runtime]string{"nodejs": "v18.19.0"}},
		{LastSeenAt: &at, EdgeVersion: "2.1.0", Capabilities: &driverhub.Capabilities{Runtimes: []string{}}},
		{LastSeenAt: &at, EdgeVersion: "2.1.0"}, // capabilities and runtime versions cleared
		{},
	} {
		in := g
		in.Online = true
		want := *i
		want.Gateway = g
		update(t, s, func(ctx context.Context, tx driverhub.Tx) error { return tx.UpdateGateway(ctx, i.ID, in) })
		edgeWant(t, s, fmt.Sprintf("after UpdateGateway(%+v)", g), &want, func(ctx context.Context, tx driverhub.Tx) (*driverhub.Instance, error) {
			return tx.InstanceByID(ctx, i.ID)
		})
	}
	edgeWant(t, s, "another instance", bystander, func(ctx context.Context, tx driverhub.Tx) (*driverhub.Instance, error) {
		return tx.InstanceByID(ctx, bystander.ID)
	})
}

// checkDeleteInstance deletes an instance with a deployment, twice, next to
// one that stays.
func checkDeleteInstance(t *testing.T, s driverhub.Store, tn *driverhub.Tenant) {
	i, bystander := edgeInstance(tn, "doomed"), edgeInstance(tn, "kept")
	create(t, s, i, bystander, edgeDeployment(i, driverhub.DeploySucceeded, edgeManifest(digest())))
	update(t, s, func(ctx context.Context, tx driverhub.Tx) error { return tx.DeleteInstance(ctx, i.ID) })
	edgeWantErr(t, s, "InstanceByID after DeleteInstance", false, driverhub.ErrNotFound, func(ctx context.Context, tx driverhub.Tx) error {
		_, err := tx.InstanceByID(ctx, i.ID)
		return err
	})
	edgeWantErr(t, s, "DeleteInstance twice", true, driverhub.ErrNotFound, func(ctx context.Context, tx driverhub.Tx) error {
		return tx.DeleteInstance(ctx, i.ID)
	})
	edgeWant(t, s, "another instance", bystander, func(ctx context.Context, tx driverhub.Tx) (*driverhub.Instance, error) {
		return tx.InstanceByID(ctx, bystander.ID)
	})
	create(t, s, edgeInstance(tn, i.Name)) // the name is free again
}

// ruleFixture is what the subtests of testInstanceRules share: acme's gw1
// (with a binding and a device next to it) and gw2, and globex's gw9.
type ruleFixture struct {
	a, b      *driverhub.Tenant
	d, d2     *driverhub.Driver
	i, i2, bi *driverhub.Instance
	bind      *driverhub.Binding
	dev       *driverhub.Device
}

// testInstanceRules checks conflicts, absent rows and tenant scope of
// instances, devices and bindings.
func testInstanceRules(t *testing.T, s driverhub.Store) {
	a, b := newTenant("acme"), newTenant("globex")
	d, d2 := newDriver(a, "modbus"), newDriver(a, "opcua")
	i, i2, bi := edgeInstance(a, "gw1"), edgeInstance(a, "gw2"), edgeInstance(b, "gw9")
	bind := edgeBinding(i, a, d, "1.0.0")
	dev := edgeDevice(a, "meter", "m1")
	create(t, s, a, b, d, d2, i, i2, bi, bind, dev)
	f := &ruleFixture{a: a, b: b, d: d, d2: d2, i: i, i2: i2, bi: bi, bind: bind, dev: dev}

	checkInstanceConflicts(t, s, f)
	checkInstancesAbsent(t, s, f)

	t.Run("ListInstances of another tenant", func(t *testing.T) {
		edgeWant(t, s, "ListInstances", []string{i.Name, bi.Name}, func(ctx context.Context, tx driverhub.Tx) ([]string, error) {
			l, err := tx.ListInstances(ctx, b.ID, driverhub.Page{})
			var names []string
			for _, x := range l.Items {
				names = append(names, x.Name)
			}
			return names, err
		})
	})
}

// checkInstanceConflicts creates instances, devices and bindings that break,
// or nearly break, a uniqueness rule, and renames an instance onto a taken
// name, each in its own subtest. The gw1 it creates in globex is one that
// "ListInstances of another tenant" finds after.
func checkInstanceConflicts(t *testing.T, s driverhub.Store, f *ruleFixture) {
	a, b, d, d2, i, i2, bind, dev := f.a, f.b, f.d, f.d2, f.i, f.i2, f.bind, f.dev
	sameHash := edgeInstance(b, "copy")
	sameHash.SecretHash = i.SecretHash
	for _, tc := range []struct {
		name     string
		item     any
		conflict bool
	}{
		{"instance name in the same tenant", edgeInstance(a, i.Name), true},
		{"instance name in another tenant", edgeInstance(b, i.Name), false},
		{"gateway secret hash", sameHash, true},
		{"device in the same tenant", edgeDevice(a, dev.Product, dev.Name), true},
		{"device in another tenant", edgeDevice(b, dev.Product, dev.Name), false},
		{"device name of another product", edgeDevice(a, "meter2", dev.Name), false},
		{"device product with another name", edgeDevice(a, dev.Product, "m2"), false},
		{"driver bound twice to an instance", edgeBinding(i, a, d, "2.0.0"), true},
		{"driver bound to another instance", edgeBinding(i2, a, d, bind.Version), false},
		{"another driver bound to the instance", edgeBinding(i, a, d2, bind.Version), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := updateErr(t, s, func(ctx context.Context, tx driverhub.Tx) error { return insert(ctx, tx, tc.item) })
			switch {
			case tc.conflict:
				wantIs(t, "create", err, driverhub.ErrConflict)
			case err != nil:
				t.Errorf("create: %v", err)
			}
		})
	}
	t.Run("rename onto a taken name", func(t *testing.T) {
		moved := *i2
		moved.Name = i.Name
		edgeWantErr(t, s, "UpdateInstance", true, driverhub.ErrConflict, func(ctx context.Context, tx driverhub.Tx) error {
			return tx.UpdateInstance(ctx, &moved)
		})
	})
}

// checkInstancesAbsent reads, updates and deletes instances, devices and
// bindings that are not there, or not in the tenant or on the instance
// asked, each in an "absent …" subtest.
func checkInstancesAbsent(t *testing.T, s driverhub.Store, f *ruleFixture) {
	a, b, d, i, i2, bi, bind, dev := f.a, f.b, f.d, f.i, f.i2, f.bi, f.bind, f.dev
	missing := driverhub.NewID()
	ghostInstance, ghostDevice, ghostBinding := *i, *dev, *bind
	ghostInstance.ID, ghostDevice.ID, ghostBinding.ID = missing, missing, missing
	for _, tc := range []absentCase{
		{"InstanceByName", false, func(ctx context.Context, tx driverhub.Tx) error {
			_, err := tx.InstanceByName(ctx, a.ID, "nope")
			return err
		}},
		{"InstanceByName in another tenant", false, func(ctx context.Context, tx driverhub.Tx) error {
			_, err := tx.InstanceByName(ctx, b.ID, i2.Name)
			return err
		}},
		{"InstanceByID", false, func(ctx context.Context, tx driverhub.Tx) error {
			_, err := tx.InstanceByID(ctx, missing)
			return err
		}},
		{"InstanceBySecretHash", false, func(ctx context.Context, tx driverhub.Tx) error {
			_, err := tx.InstanceBySecretHash(ctx, digest())
			return err
		}},
		{"CurrentDeploymentOf", false, func(ctx context.Context, tx driverhub.Tx) error {
			_, err := tx.CurrentDeploymentOf(ctx, missing)
			return err
		}},
		{"UpdateInstance", true, func(ctx context.Context, tx driverhub.Tx) error { return tx.UpdateInstance(ctx, &ghostInstance) }},
		{"UpdateGateway", true, func(ctx context.Context, tx driverhub.Tx) error {
			return tx.UpdateGateway(ctx, missing, driverhub.Gateway{EdgeVersion: "1.0.0"})
		}},
		{"DeleteInstance", true, func(ctx context.Context, tx driverhub.Tx) error { return tx.DeleteInstance(ctx, missing) }},
		{"DeviceByName", false, func(ctx context.Context, tx driverhub.Tx) error {
			_, err := tx.DeviceByName(ctx, a.ID, dev.Product, "m9")
			return err
		}},
		{"DeviceByName in another tenant", false, func(ctx context.Context, tx driverhub.Tx) error {
			_, err := tx.DeviceByName(ctx, b.ID, "meter2", dev.Name)
			return err
		}},
		{"UpdateDevice", true, func(ctx context.Context, tx driverhub.Tx) error { return tx.UpdateDevice(ctx, &ghostDevice) }},
		{"DeleteDevice", true, func(ctx context.Context, tx driverhub.Tx) error { return tx.DeleteDevice(ctx, missing) }},
		{"BindingByName", false, func(ctx context.Context, tx driverhub.Tx) error {
			_, err := tx.BindingByName(ctx, i.ID, "lorawan")
			return err
		}},
		{"BindingByName on another instance", false, func(ctx context.Context, tx driverhub.Tx) error {
			_, err := tx.BindingByName(ctx, bi.ID, d.Name)
			return err
		}},
		{"UpdateBinding", true, func(ctx context.Context, tx driverhub.Tx) error { return tx.UpdateBinding(ctx, &ghostBinding) }},
		{"DeleteBinding", true, func(ctx context.Context, tx driverhub.Tx) error { return tx.DeleteBinding(ctx, missing) }},
	} {
		t.Run("absent "+tc.name, func(t *testing.T) { edgeWantErr(t, s, tc.name, tc.write, driverhub.ErrNotFound, tc.fn) })
	}
}

func testListInstances(t *testing.T, s driverhub.Store) {
	a, b := newTenant("acme"), newTenant("globex")
	items := []any{a, b}
	want := make([]*driverhub.Instance, 7)
	for _, n := range shuffled(len(want)) {
		want[n] = edgeInstance(a, fmt.Sprintf("gw%02d", n))
		items = append(items, want[n], edgeInstance(b, fmt.Sprintf("gw%02d", n)))
	}
	create(t, s, items...)
	for _, limit := range []int{1, 2, 3, 7, 0} {
		pages := pageAll(t, limit, func(p driverhub.Page) (driverhub.List[*driverhub.Instance], error) {
			var l driverhub.List[*driverhub.Instance]
			err := viewErr(t, s, func(ctx context.Context, tx driverhub.Tx) error {
				var err error
				l, err = tx.ListInstances(ctx, a.ID, p)
				return err
			})
			return l, err
		})
		if diff := cmp.Diff(want, flatten(pages)); diff != "" {
			t.Errorf("limit %d: instances of all pages (-want +got):\n%s", limit, diff)
		}
	}
	edgeWant(t, s, "ListInstances of a tenant without any", driverhub.List[*driverhub.Instance]{Items: []*driverhub.Instance{}},
		func(ctx context.Context, tx driverhub.Tx) (driverhub.List[*driverhub.Instance], error) {
			return tx.ListInstances(ctx, driverhub.NewID(), driverhub.Page{})
		})
	err := viewErr(t, s, func(ctx context.Context, tx driverhub.Tx) error {
		_, err := tx.ListInstances(ctx, a.ID, driverhub.Page{Cursor: "!"})
		return err
	})
	wantInvalid(t, "ListInstances with a bad cursor", err, "cursor")
}
