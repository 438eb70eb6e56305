package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/driverhub/driverhub"
	"github.com/google/go-cmp/cmp"
)

// manyIDs is n new ids but at the positions of known, which it holds:
// more ids than one statement takes, for the reads of many at once.
func manyIDs(n int, known map[int]string) []string {
	ids := make([]string, n)
	for k := range ids {
		ids[k] = driverhub.NewID()
	}
	for k, id := range known {
		ids[k] = id
	}
	return ids
}

// edgeReadDevice reads a device back by its name.
func edgeReadDevice(t testing.TB, s driverhub.Store, d *driverhub.Device) *driverhub.Device {
	t.Helper()
	return fetch(t, s, func(ctx context.Context, tx driverhub.Tx) (*driverhub.Device, error) {
		return tx.DeviceByName(ctx, d.TenantID, d.Product, d.Name)
	})
}

// deviceFixture is what the subtests of testDevices share: two tenants,
// a driver of each, and gw1 with a binding of both.
type deviceFixture struct {
	a, b          *driverhub.Tenant
	d, od         *driverhub.Driver
	i             *driverhub.Instance
	own, acquired *driverhub.Binding
}

func testDevices(t *testing.T, s driverhub.Store) {
	a, b := newTenant("acme"), newTenant("globex")
	d, od := newDriver(a, "modbus"), newDriver(b, "opcua")
	i, i2 := edgeInstance(a, "gw1"), edgeInstance(a, "gw2")
	own, acquired := edgeBinding(i, a, d, "1.0.0"), edgeBinding(i, b, od, "2.0.0")
	other := edgeBinding(i2, a, d, "1.0.0")
	create(t, s, a, b, d, od, i, i2, own, acquired, other)
	f := &deviceFixture{a: a, b: b, d: d, od: od, i: i, own: own, acquired: acquired}

	for _, tc := range []struct {
		name string
		in   *driverhub.Device
	}{
		{"not associated", edgeDevice(a, "meter", "m1")},
		{"associated with config", edgeAssociate(edgeDevice(a, "meter", "m2"), i, own, `{"slave":1,"名":"é"}`)},
		{"associated without config", edgeAssociate(edgeDevice(a, "sensor.v2", "s:1@x_y-z"), i, acquired, "")},
		{"another tenant", edgeAssociate(edgeDevice(b, "meter", "m1"), i2, other, `{}`)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := tc.in
			in := *want
			in.Instance, in.Driver = "ignored", "ignored" // filled by reads, never stored
			create(t, s, &in)
			if diff := cmp.Diff(want, edgeReadDevice(t, s, want)); diff != "" {
				t.Errorf("DeviceByName (-want +got):\n%s", diff)
			}
		})
	}

	t.Run("UpdateDevice", func(t *testing.T) { checkUpdateDevice(t, s, f) })
	t.Run("DevicesOfBinding and counts", func(t *testing.T) { checkDevicesOfBinding(t, s, f) })
	t.Run("DeleteDevice", func(t *testing.T) { checkDeleteDevice(t, s, f) })
}

// checkUpdateDevice associates a device, moves it to another binding and
// dissociates it, next to a device that stays as it was.
func checkUpdateDevice(t *testing.T, s driverhub.Store, f *deviceFixture) {
	a, i, own, acquired := f.a, f.i, f.own, f.acquired
	dv, bystander := edgeDevice(a, "plc", "p1"), edgeDevice(a, "plc", "p2")
	create(t, s, dv, bystander)
	want := *dv
	edgeAssociate(&want, i, own, `{"unit":3}`)
	want.Description = "moved"
	want.UpdatedAt = dv.UpdatedAt.Add(time.Minute)
	update(t, s, func(ctx context.Context, tx driverhub.Tx) error { return tx.UpdateDevice(ctx, &want) })
	if diff := cmp.Diff(&want, edgeReadDevice(t, s, dv)); diff != "" {
		t.Errorf("after associating (-want +got):\n%s", diff)
	}
	edgeAssociate(&want, i, acquired, "")
	want.Config = nil
	update(t, s, func(ctx context.Context, tx driverhub.Tx) error { return tx.UpdateDevice(ctx, &want) })
	if diff := cmp.Diff(&want, edgeReadDevice(t, s, dv)); diff != "" {
		t.Errorf("after moving to another binding (-want +got):\n%s", diff)
	}
	want.InstanceID, want.Instance, want.BindingID, want.Driver = "", "", "", ""
	update(t, s, func(ctx context.Context, tx driverhub.Tx) error { return tx.UpdateDevice(ctx, &want) })
	if diff := cmp.Diff(&want, edgeReadDevice(t, s, dv)); diff != "" {
		t.Errorf("after dissociating (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(bystander, edgeReadDevice(t, s, bystander)); diff != "" {
		t.Errorf("another device (-want +got):\n%s", diff)
	}
}

// checkDevicesOfBinding reads the devices of one binding and of many, and
// counts those of an instance.
func checkDevicesOfBinding(t *testing.T, s driverhub.Store, f *deviceFixture) {
	a, b, d, od, i, own := f.a, f.b, f.d, f.od, f.i, f.own
	i9 := edgeInstance(a, "gw9")
	b1, b2 := edgeBinding(i9, a, d, "1.0.0"), edgeBinding(i9, b, od, "1.0.0")
	x1 := edgeAssociate(edgeDevice(a, "cnt", "x1"), i9, b1, `{"n":1}`)
	x0 := edgeAssociate(edgeDevice(a, "cnt", "x0"), i9, b1, "")
	y := edgeAssociate(edgeDevice(a, "cnt", "y"), i9, b2, "")
	create(t, s, i9, b1, b2, x1, edgeDevice(a, "cnt", "x2"), y, x0, edgeAssociate(edgeDevice(a, "cnt", "x3"), i, own, ""))
	edgeWant(t, s, "DevicesOfBinding", []*driverhub.Device{x0, x1}, func(ctx context.Context, tx driverhub.Tx) ([]*driverhub.Device, error) {
		return tx.DevicesOfBinding(ctx, b1.ID)
	})
	edgeWant(t, s, "DevicesOfBinding of an unknown binding", []*driverhub.Device{}, func(ctx context.Context, tx driverhub.Tx) ([]*driverhub.Device, error) {
		return tx.DevicesOfBinding(ctx, driverhub.NewID())
	})
	ids := manyIDs(450, map[int]string{5: b1.ID, 300: b2.ID})
	edgeWant(t, s, "DevicesOfBindings, more than one statement takes", []*driverhub.Device{x0, x1, y}, func(ctx context.Context, tx driverhub.Tx) ([]*driverhub.Device, error) {
		return tx.DevicesOfBindings(ctx, ids)
	})
	edgeWant(t, s, "CountDevicesOfInstance", 3, func(ctx context.Context, tx driverhub.Tx) (int, error) {
		return tx.CountDevicesOfInstance(ctx, i9.ID)
	})
	edgeWant(t, s, "CountDevicesOfInstance of an unknown instance", 0, func(ctx context.Context, tx driverhub.Tx) (int, error) {
		return tx.CountDevicesOfInstance(ctx, driverhub.NewID())
	})
}

// checkDeleteDevice deletes a device, twice, next to one that stays.
func checkDeleteDevice(t *testing.T, s driverhub.Store, f *deviceFixture) {
	a, i, own := f.a, f.i, f.own
	dv, bystander := edgeAssociate(edgeDevice(a, "gone", "g1"), i, own, ""), edgeDevice(a, "gone", "g2")
	create(t, s, dv, bystander)
	update(t, s, func(ctx context.Context, tx driverhub.Tx) error { return tx.DeleteDevice(ctx, dv.ID) })
	edgeWantErr(t, s, "DeviceByName after DeleteDevice", false, driverhub.ErrNotFound, func(ctx context.Context, tx driverhub.Tx) error {
		_, err := tx.DeviceByName(ctx, a.ID, dv.Product, dv.Name)
		return err
	})
	edgeWantErr(t, s, "DeleteDevice twice", true, driverhub.ErrNotFound, func(ctx context.Context, tx driverhub.Tx) error {
		return tx.DeleteDevice(ctx, dv.ID)
	})
	if diff := cmp.Diff(bystander, edgeReadDevice(t, s, bystander)); diff != "" {
		t.Errorf("another device (-want +got):\n%s", diff)
	}
	create(t, s, edgeDevice(a, dv.Product, dv.Name)) // the name is free again
}

// testListDevices pages through a tenant's devices, all of them and those
// of one instance, by product, then name.
func testListDevices(t *testing.T, s driverhub.Store) {
	a, b := newTenant("acme"), newTenant("globex")
	d := newDriver(a, "modbus")
	i, i2 := edgeInstance(a, "gw1"), edgeInstance(a, "gw2")
	bi, bi2 := edgeBinding(i, a, d, "1.0.0"), edgeBinding(i2, a, d, "1.0.0")
	items := []any{a, b, d, i, i2, bi, bi2}
	const products, names = 3, 4
	var all, ofI []*driverhub.Device
	for p := range products {
		for n := range names {
			dv := edgeDevice(a, fmt.Sprintf("prod%02d", p), fmt.Sprintf("dev%02d", n))
			switch (p + n) % 3 {
			case 0:
				edgeAssociate(dv, i, bi, `{"k":1}`)
				ofI = append(ofI, dv)
			case 1:
				edgeAssociate(dv, i2, bi2, "")
			}
			all = append(all, dv)
		}
	}
	for _, k := range shuffled(len(all)) {
		items = append(items, all[k], edgeDevice(b, all[k].Product, all[k].Name))
	}
	create(t, s, items...)
	for _, f := range []struct {
		filter driverhub.DeviceFilter
		want   []*driverhub.Device
	}{
		{driverhub.DeviceFilter{}, all},
		{driverhub.DeviceFilter{InstanceID: i.ID}, ofI},
		{driverhub.DeviceFilter{InstanceID: driverhub.NewID()}, []*driverhub.Device{}},
	} {
		for _, limit := range []int{1, 2, 5, 0} {
			pages := pageAll(t, limit, func(p driverhub.Page) (driverhub.List[*driverhub.Device], error) {
				var l driverhub.List[*driverhub.Device]
				err := viewErr(t, s, func(ctx context.Context, tx driverhub.Tx) error {
					var err error
					l, err = tx.ListDevices(ctx, a.ID, f.filter, p)
					return err
				})
				return l, err
			})
			if diff := cmp.Diff(f.want, flatten(pages)); diff != "" {
				t.Errorf("filter %+v, limit %d: devices of all pages (-want +got):\n%s", f.filter, limit, diff)
			}
		}
	}
}

// testDeviceByteOrder lists devices whose products hold upper case and
// the punctuation that sorts below '/': every store orders them by product,
// then name, in byte order, whatever the database's collation.
func testDeviceByteOrder(t *testing.T, s driverhub.Store) {
	ctx := t.Context()
	tn := &driverhub.Tenant{ID: driverhub.NewID(), Name: "acme", CreatedAt: now()}
	pairs := [][2]string{{"A", "z"}, {"B", "a"}, {"a", "z"}, {"a", "z-1"}, {"a-b", "a"}, {"a.b", "a"}, {"a:b", "a"}, {"a@b", "a"}, {"a_b", "a"}, {"ab", "a"}, {"b", "a"}}
	err := s.Update(ctx, func(tx driverhub.Tx) error {
		if err := tx.CreateTenant(ctx, tn); err != nil {
			return err
		}
		for k := len(pairs) - 1; k >= 0; k-- {
			p := pairs[k]
			d := &driverhub.Device{ID: driverhub.NewID(), TenantID: tn.ID, Product: p[0], Name: p[1], CreatedAt: now(), UpdatedAt: now()}
			if err := tx.CreateDevice(ctx, d); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, p := range pairs {
		want = append(want, p[0]+"/"+p[1])
	}
	for _, limit := range []int{1, 3, 0} {
		var got []string
		p := driverhub.Page{Limit: limit}
		for {
			var l driverhub.List[*driverhub.Device]
			if err := s.View(ctx, func(tx driverhub.Tx) error {
				var err error
				l, err = tx.ListDevices(ctx, tn.ID, driverhub.DeviceFilter{}, p)
				return err
			}); err != nil {
				t.Fatal(err)
			}
			for _, d := range l.Items {
				got = append(got, d.Product+"/"+d.Name)
			}
			if l.NextCursor == "" {
				break
			}
			p.Cursor = l.NextCursor
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("limit %d: devices (-want +got):\n%s", limit, diff)
		}
	}
}
