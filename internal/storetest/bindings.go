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
)

// bindingFixture is what the subtests of testBindings share: two tenants,
// their drivers, gw1, and the configs and runtime status bindings hold.
type bindingFixture struct {
	a, b        *driverhub.Tenant
	d, d2       *driverhub.Driver
	i           *driverhub.Instance
	kv, jsonCfg *driverhub.DriverConfig
	status      *driverhub.DriverStatus
}

func testBindings(t *testing.T, s driverhub.Store) {
	a, b := newTenant("acme"), newTenant("globex")
	d, d2, od := newDriver(a, "modbus"), newDriver(a, "opcua"), newDriver(b, "lorawan")
	i, i2 := edgeInstance(a, "gw1"), edgeInstance(a, "gw2")
	create(t, s, a, b, d, d2, od, i, i2)
	at := now().Add(-time.Second)
	kv := &driverhub.DriverConfig{Format: driverhub.ConfigKV, KV: []driverhub.KVPair{{Key: "host", Value: "10.0.0.1", Note: "PLC"}}}
	jsonCfg := &driverhub.DriverConfig{Format: driverhub.ConfigJSON, JSON: json.RawMessage(`{"a":[1,2],"b":"é"}`)}
	fileCfg := &driverhub.DriverConfig{Format: driverhub.ConfigFile, File: &driverhub.ConfigFileRef{Name: "c.yaml", Size: 12, SHA256: digest()}}
	status := &driverhub.DriverStatus{State: driverhub.DriverCrashloop, Version: "1.0.0", Restarts: 7, LastExit: "exit status 1", MemoryBytes: 1 << 30, ReportedAt: at}
	f := &bindingFixture{a: a, b: b, d: d, d2: d2, i: i, kv: kv, jsonCfg: jsonCfg, status: status}

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
	t.Run("ListBindings", func(t *testing.T) { checkListBindings(t, s, f) })
	t.Run("UpdateBinding", func(t *testing.T) { checkUpdateBinding(t, s, f) })
	t.Run("DeleteBinding", func(t *testing.T) { checkDeleteBinding(t, s, f) })
}

// checkListBindings lists the bindings of an instance, with their devices
// counted, and reads those of many instances at once.
func checkListBindings(t *testing.T, s driverhub.Store, f *bindingFixture) {
	a, b, i, kv := f.a, f.b, f.i, f.kv
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
}

// checkUpdateBinding changes a binding's version, config and runtime, then
// moves it to another publisher's driver of the same name.
func checkUpdateBinding(t *testing.T, s driverhub.Store, f *bindingFixture) {
	a, b, d, d2, jsonCfg, status := f.a, f.b, f.d, f.d2, f.jsonCfg, f.status
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
}

// checkDeleteBinding deletes a binding, and its logs with it, next to one
// that stays.
func checkDeleteBinding(t *testing.T, s driverhub.Store, f *bindingFixture) {
	a, d, d2 := f.a, f.d, f.d2
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
