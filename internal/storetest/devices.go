package storetest

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
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

func testDevices(t *testing.T, s driverhub.Store) {
	a, b := newTenant("acme"), newTenant("globex")
	d, od := newDriver(a, "modbus"), newDriver(b, "opcua")
	i, i2 := edgeInstance(a, "gw1"), edgeInstance(a, "gw2")
	own, acquired := edgeBinding(i, a, d, "1.0.0"), edgeBinding(i, b, od, "2.0.0")
	other := edgeBinding(i2, a, d, "1.0.0")
	create(t, s, a, b, d, od, i, i2, own, acquired, other)

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

	t.Run("UpdateDevice", func(t *testing.T) {
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
	})

	t.Run("DevicesOfBinding and counts", func(t *testing.T) {
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
	})

	t.Run("DeleteDevice", func(t *testing.T) {
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
	})
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

func testBindings(t *testing.T, s driverhub.Store) {
	a, b := newTenant("acme"), newTenant("globex")
	d, d2, od := newDriver(a, "modbus"), newDriver(a, "opcua"), newDriver(b, "lorawan")
	i, i2 := edgeInstance(a, "gw1"), edgeInstance(a, "gw2")
	create(t, s, a, b, d, d2, od, i, i2)
	at := now().Add(-time.Second)
	with := func(bd *driverhub.Binding, change func(b *driverhub.Binding)) *driverhub.Binding {
		change(bd)
		return bd
	}
	kv := &driverhub.DriverConfig{Format: driverhub.ConfigKV, KV: []driverhub.KVPair{{Key: "host", Value: "10.0.0.1", Note: "PLC"}}}
	jsonCfg := &driverhub.DriverConfig{Format: driverhub.ConfigJSON, JSON: json.RawMessage(`{"a":[1,2],"b":"é"}`)}
	fileCfg := &driverhub.DriverConfig{Format: driverhub.ConfigFile, File: &driverhub.ConfigFileRef{Name: "c.yaml", Size: 12, SHA256: digest()}}
	status := &driverhub.DriverStatus{State: driverhub.DriverCrashloop, Version: "1.0.0", Restarts: 7, LastExit: "exit status 1", MemoryBytes: 1 << 30, ReportedAt: at}

	for _, tc := range []struct {
		name string
		in   *driverhub.Binding
	}{
		{"own driver", edgeBinding(i, a, d, "1.0.0")},
		{"acquired driver", edgeBinding(i, b, od, "版本-β")},
		{"kv config and runtime", with(edgeBinding(i2, a, d, "1.0.1"), func(b *driverhub.Binding) { b.Config, b.Runtime = kv, status })},
		{"json config", with(edgeBinding(i2, a, d2, "2.0.0"), func(b *driverhub.Binding) { b.Config = jsonCfg })},
		{"file config", with(edgeBinding(i2, b, od, "3.0.0"), func(b *driverhub.Binding) { b.Config = fileCfg })},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := tc.in
			in := *want
			in.Publisher, in.PublisherID, in.Devices = "ignored", driverhub.NewID(), 42 // derived, never stored
			create(t, s, &in)
			edgeWant(t, s, "BindingByName", want, func(ctx context.Context, tx driverhub.Tx) (*driverhub.Binding, error) {
				return tx.BindingByName(ctx, want.InstanceID, want.Driver)
			})
		})
	}

	t.Run("stale is never stored", func(t *testing.T) {
		want := with(edgeBinding(i, a, d2, "1.0.2"), func(b *driverhub.Binding) { b.Runtime = status })
		in := *want
		stale := *status
		stale.Stale = true // the service computes it when it reads
		in.Runtime = &stale
		create(t, s, &in)
		edgeWant(t, s, "BindingByName", want, func(ctx context.Context, tx driverhub.Tx) (*driverhub.Binding, error) {
			return tx.BindingByName(ctx, want.InstanceID, want.Driver)
		})
	})

	t.Run("ListBindings", func(t *testing.T) {
		i3 := edgeInstance(a, "gw3")
		zeta, alpha, mid := newDriver(b, "zeta"), newDriver(a, "alpha"), newDriver(a, "mid")
		bz, ba, bm := edgeBinding(i3, b, zeta, "1"), edgeBinding(i3, a, alpha, "2"), edgeBinding(i3, a, mid, "3")
		ba.Config = kv
		create(t, s, i3, zeta, alpha, mid, bz, ba, bm, edgeBinding(i, a, alpha, "9"))
		var devs []any
		for n := range 3 {
			devs = append(devs, edgeAssociate(edgeDevice(a, "lb", fmt.Sprintf("z%d", n)), i3, bz, ""))
		}
		devs = append(devs, edgeAssociate(edgeDevice(a, "lb", "a0"), i3, ba, ""), edgeDevice(a, "lb", "free"))
		create(t, s, devs...)
		bz.Devices, ba.Devices = 3, 1
		edgeWant(t, s, "ListBindings", []*driverhub.Binding{ba, bm, bz}, func(ctx context.Context, tx driverhub.Tx) ([]*driverhub.Binding, error) {
			return tx.ListBindings(ctx, i3.ID)
		})
		edgeWant(t, s, "BindingByName counts devices too", bz, func(ctx context.Context, tx driverhub.Tx) (*driverhub.Binding, error) {
			return tx.BindingByName(ctx, i3.ID, bz.Driver)
		})
		edgeWant(t, s, "ListBindings of an unknown instance", []*driverhub.Binding{}, func(ctx context.Context, tx driverhub.Tx) ([]*driverhub.Binding, error) {
			return tx.ListBindings(ctx, driverhub.NewID())
		})
		// A rollout's batch reads the bindings and instances of many at
		// once, over more ids than one statement takes.
		i5 := edgeInstance(a, "gw3b")
		b5 := edgeBinding(i5, a, mid, "4")
		create(t, s, i5, b5)
		ids := manyIDs(450, map[int]string{10: i3.ID, 300: i5.ID})
		edgeWant(t, s, "BindingsOfInstances", []*driverhub.Binding{ba, bm, bz, b5}, func(ctx context.Context, tx driverhub.Tx) ([]*driverhub.Binding, error) {
			return tx.BindingsOfInstances(ctx, ids)
		})
		want := []*driverhub.Instance{fetch(t, s, func(ctx context.Context, tx driverhub.Tx) (*driverhub.Instance, error) {
			return tx.InstanceByID(ctx, i3.ID)
		}),
			fetch(t, s, func(ctx context.Context, tx driverhub.Tx) (*driverhub.Instance, error) {
				return tx.InstanceByID(ctx, i5.ID)
			})}
		edgeWant(t, s, "InstancesByIDs", want, func(ctx context.Context, tx driverhub.Tx) ([]*driverhub.Instance, error) {
			is, err := tx.InstancesByIDs(ctx, ids)
			slices.SortFunc(is, func(x, y *driverhub.Instance) int { return strings.Compare(x.Name, y.Name) })
			return is, err
		})
		edgeWant(t, s, "CountBindingsOfDriver", 2, func(ctx context.Context, tx driverhub.Tx) (int, error) {
			return tx.CountBindingsOfDriver(ctx, alpha.ID)
		})
		edgeWant(t, s, "CountBindingsOfDriver of an unbound driver", 0, func(ctx context.Context, tx driverhub.Tx) (int, error) {
			return tx.CountBindingsOfDriver(ctx, driverhub.NewID())
		})
	})

	t.Run("UpdateBinding", func(t *testing.T) {
		i4 := edgeInstance(a, "gw4")
		bd, bystander := edgeBinding(i4, a, d, "1.0.0"), edgeBinding(i4, a, d2, "1.0.0")
		create(t, s, i4, bd, bystander)
		want := *bd
		want.Version, want.Config, want.Runtime = "1.1.0", jsonCfg, status
		want.UpdatedAt = bd.UpdatedAt.Add(time.Second)
		update(t, s, func(ctx context.Context, tx driverhub.Tx) error { return tx.UpdateBinding(ctx, &want) })
		edgeWant(t, s, "after UpdateBinding", &want, func(ctx context.Context, tx driverhub.Tx) (*driverhub.Binding, error) {
			return tx.BindingByName(ctx, i4.ID, d.Name)
		})
		// Another publisher's driver of the same name takes the binding's place.
		same := newDriver(b, d.Name)
		create(t, s, same)
		want.DriverID, want.PublisherID, want.Publisher, want.Config, want.Runtime = same.ID, b.ID, b.Name, nil, nil
		update(t, s, func(ctx context.Context, tx driverhub.Tx) error { return tx.UpdateBinding(ctx, &want) })
		edgeWant(t, s, "after switching publisher", &want, func(ctx context.Context, tx driverhub.Tx) (*driverhub.Binding, error) {
			return tx.BindingByName(ctx, i4.ID, d.Name)
		})
		edgeWant(t, s, "another binding", bystander, func(ctx context.Context, tx driverhub.Tx) (*driverhub.Binding, error) {
			return tx.BindingByName(ctx, i4.ID, d2.Name)
		})
	})

	t.Run("DeleteBinding", func(t *testing.T) {
		i5 := edgeInstance(a, "gw5")
		bd, bystander := edgeBinding(i5, a, d, "1.0.0"), edgeBinding(i5, a, d2, "1.0.0")
		create(t, s, i5, bd, bystander)
		update(t, s, func(ctx context.Context, tx driverhub.Tx) error {
			return tx.AppendDriverLogs(ctx, bd.ID, []driverhub.LogLine{{Time: now(), Stream: "stdout", Text: "hi"}}, 10)
		})
		update(t, s, func(ctx context.Context, tx driverhub.Tx) error { return tx.DeleteBinding(ctx, bd.ID) })
		edgeWantErr(t, s, "BindingByName after DeleteBinding", false, driverhub.ErrNotFound, func(ctx context.Context, tx driverhub.Tx) error {
			_, err := tx.BindingByName(ctx, i5.ID, d.Name)
			return err
		})
		edgeWant(t, s, "logs after DeleteBinding", []driverhub.LogLine{}, func(ctx context.Context, tx driverhub.Tx) ([]driverhub.LogLine, error) {
			return tx.TailDriverLogs(ctx, bd.ID, 10)
		})
		edgeWant(t, s, "ListBindings", []*driverhub.Binding{bystander}, func(ctx context.Context, tx driverhub.Tx) ([]*driverhub.Binding, error) {
			return tx.ListBindings(ctx, i5.ID)
		})
		create(t, s, edgeBinding(i5, a, d, "2.0.0")) // the name is free again
	})
}

// edgeLogLines returns n lines, a microsecond apart, numbered from first.
func edgeLogLines(first, n int) []driverhub.LogLine {
	base := now().Add(-time.Hour)
	out := make([]driverhub.LogLine, n)
	for k := range out {
		stream := "stdout"
		if k%3 == 2 {
			stream = "stderr"
		}
		out[k] = driverhub.LogLine{Time: base.Add(time.Duration(first+k) * time.Microsecond), Stream: stream, Text: fmt.Sprintf("line %d — 日志", first+k)}
	}
	return out
}

func testDriverLogs(t *testing.T, s driverhub.Store) {
	tn := newTenant("acme")
	d := newDriver(tn, "modbus")
	i := edgeInstance(tn, "gw1")
	create(t, s, tn, d, i)
	type step struct {
		lines []driverhub.LogLine
		keep  int
	}
	all := edgeLogLines(0, 450)
	for _, tc := range []struct {
		name  string
		steps []step
		tail  int
		want  []driverhub.LogLine
	}{
		{"25 kept to 10", []step{{all[:25], 10}}, 100, all[15:25]},
		{"tail shorter than the ring", []step{{all[:25], 10}}, 3, all[22:25]},
		{"tail of exactly the ring", []step{{all[:25], 10}}, 10, all[15:25]},
		{"fewer lines than kept", []step{{all[:4], 10}}, 100, all[:4]},
		{"appends accumulate then trim", []step{{all[:6], 10}, {all[6:12], 10}}, 100, all[2:12]},
		{"a later append with a larger ring", []step{{all[:6], 3}, {all[6:8], 10}}, 100, all[3:8]},
		{"one large shipment", []step{{all, 1000}}, 1000, all},
		{"one large shipment trimmed", []step{{all, 300}}, 1000, all[150:]},
		{"keep 0", []step{{all[:5], 10}, {all[5:7], 0}}, 100, []driverhub.LogLine{}},
		{"tail 0", []step{{all[:5], 10}}, 0, []driverhub.LogLine{}},
		{"empty", nil, 100, []driverhub.LogLine{}},
		{"empty append", []step{{nil, 10}}, 100, []driverhub.LogLine{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bd := edgeBinding(i, tn, d, "1.0.0")
			bd.Driver = fmt.Sprintf("drv%s", driverhub.NewID()[24:])
			neighbour := edgeBinding(i, tn, d, "1.0.0")
			neighbour.Driver = bd.Driver + "n"
			create(t, s, bd, neighbour)
			update(t, s, func(ctx context.Context, tx driverhub.Tx) error {
				return tx.AppendDriverLogs(ctx, neighbour.ID, all[:7], 5)
			})
			for _, st := range tc.steps {
				update(t, s, func(ctx context.Context, tx driverhub.Tx) error {
					return tx.AppendDriverLogs(ctx, bd.ID, st.lines, st.keep)
				})
			}
			edgeWant(t, s, fmt.Sprintf("TailDriverLogs(%d)", tc.tail), tc.want, func(ctx context.Context, tx driverhub.Tx) ([]driverhub.LogLine, error) {
				return tx.TailDriverLogs(ctx, bd.ID, tc.tail)
			})
			edgeWant(t, s, "the log of another binding", all[2:7], func(ctx context.Context, tx driverhub.Tx) ([]driverhub.LogLine, error) {
				return tx.TailDriverLogs(ctx, neighbour.ID, 100)
			})
			update(t, s, func(ctx context.Context, tx driverhub.Tx) error { return tx.DeleteDriverLogs(ctx, bd.ID) })
			edgeWant(t, s, "after DeleteDriverLogs", []driverhub.LogLine{}, func(ctx context.Context, tx driverhub.Tx) ([]driverhub.LogLine, error) {
				return tx.TailDriverLogs(ctx, bd.ID, 100)
			})
			edgeWant(t, s, "the log of another binding after DeleteDriverLogs", all[2:7], func(ctx context.Context, tx driverhub.Tx) ([]driverhub.LogLine, error) {
				return tx.TailDriverLogs(ctx, neighbour.ID, 100)
			})
		})
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
