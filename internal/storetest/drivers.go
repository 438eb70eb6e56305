package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/driverhub/driverhub"
	"github.com/google/go-cmp/cmp"
)

func testDrivers(t *testing.T, s driverhub.Store) {
	tn, other := newTenant("acme"), newTenant("globex")
	create(t, s, tn, other)

	cDriver := newDriver(tn, "gpio_reader")
	cDriver.Runtime, cDriver.CPUArch, cDriver.Protocol = driverhub.RuntimeC, "armv7-hf", "custom"
	builtin := newDriver(tn, "ModbusTCP")
	builtin.Builtin, builtin.Runtime = true, driverhub.RuntimeNodeJS
	java := newDriver(tn, "opcua")
	java.Runtime, java.Protocol, java.Description = driverhub.RuntimeJava, "opcua", "读取 OPC UA 节点 — «quoted» 'single' \"double\" \\ %_"
	bare := newDriver(tn, "L")
	bare.Description, bare.Protocol = "", "lorawan"
	for _, tc := range []struct {
		name   string
		driver *driverhub.Driver
	}{
		{"python", newDriver(tn, "modbus_rtu")},
		{"c with cpu arch", cDriver},
		{"builtin", builtin},
		{"unicode description", java},
		{"empty description", bare},
		{"other tenant", newDriver(other, "modbus_rtu")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := tc.driver
			create(t, s, want)
			byName := fetch(t, s, func(ctx context.Context, tx driverhub.Tx) (*driverhub.Driver, error) {
				return tx.DriverByName(ctx, want.TenantID, want.Name)
			})
			if diff := cmp.Diff(want, byName); diff != "" {
				t.Errorf("DriverByName(%q) (-want +got):\n%s", want.Name, diff)
			}
			byID := fetch(t, s, func(ctx context.Context, tx driverhub.Tx) (*driverhub.Driver, error) {
				return tx.DriverByID(ctx, want.ID)
			})
			if diff := cmp.Diff(want, byID); diff != "" {
				t.Errorf("DriverByID (-want +got):\n%s", diff)
			}
		})
	}

	t.Run("UpdateDriver", func(t *testing.T) { checkUpdateDriver(t, s, tn) })
	t.Run("DeleteDriver", func(t *testing.T) { checkDeleteDriver(t, s, tn) })
}

// checkUpdateDriver changes every field a driver's owner writes, next to
// a driver that stays as it was.
func checkUpdateDriver(t *testing.T, s driverhub.Store, tn *driverhub.Tenant) {
	d, bystander := newDriver(tn, "changing"), newDriver(tn, "steady")
	create(t, s, d, bystander)
	want := *d
	want.Protocol, want.Runtime, want.CPUArch = "lorawan", driverhub.RuntimeC, "aarch64"
	want.Builtin = true
	want.Description = "now in C"
	want.UpdatedAt = d.UpdatedAt.Add(time.Hour + time.Microsecond)
	update(t, s, func(ctx context.Context, tx driverhub.Tx) error { return tx.UpdateDriver(ctx, &want) })
	got := fetch(t, s, func(ctx context.Context, tx driverhub.Tx) (*driverhub.Driver, error) {
		return tx.DriverByID(ctx, d.ID)
	})
	if diff := cmp.Diff(&want, got); diff != "" {
		t.Errorf("after UpdateDriver (-want +got):\n%s", diff)
	}
	got = fetch(t, s, func(ctx context.Context, tx driverhub.Tx) (*driverhub.Driver, error) {
		return tx.DriverByID(ctx, bystander.ID)
	})
	if diff := cmp.Diff(bystander, got); diff != "" {
		t.Errorf("another driver changed by UpdateDriver (-want +got):\n%s", diff)
	}
}

// checkDeleteDriver deletes a driver, twice, next to one that stays.
func checkDeleteDriver(t *testing.T, s driverhub.Store, tn *driverhub.Tenant) {
	d, bystander := newDriver(tn, "doomed"), newDriver(tn, "kept")
	create(t, s, d, bystander)
	update(t, s, func(ctx context.Context, tx driverhub.Tx) error { return tx.DeleteDriver(ctx, d.ID) })
	wantIs(t, "DriverByID after DeleteDriver", viewErr(t, s, func(ctx context.Context, tx driverhub.Tx) error {
		_, err := tx.DriverByID(ctx, d.ID)
		return err
	}), driverhub.ErrNotFound)
	wantIs(t, "DriverByName after DeleteDriver", viewErr(t, s, func(ctx context.Context, tx driverhub.Tx) error {
		_, err := tx.DriverByName(ctx, tn.ID, d.Name)
		return err
	}), driverhub.ErrNotFound)
	wantIs(t, "DeleteDriver twice", updateErr(t, s, func(ctx context.Context, tx driverhub.Tx) error {
		return tx.DeleteDriver(ctx, d.ID)
	}), driverhub.ErrNotFound)
	got := fetch(t, s, func(ctx context.Context, tx driverhub.Tx) (*driverhub.Driver, error) {
		return tx.DriverByID(ctx, bystander.ID)
	})
	if diff := cmp.Diff(bystander, got); diff != "" {
		t.Errorf("another driver changed by DeleteDriver (-want +got):\n%s", diff)
	}
	// The name is free again.
	create(t, s, newDriver(tn, d.Name))
}

func testListDriversFilter(t *testing.T, s driverhub.Store) {
	tn, other := newTenant("acme"), newTenant("globex")
	mk := func(name, protocol string, runtime driverhub.Runtime, arch, desc string) *driverhub.Driver {
		d := newDriver(tn, name)
		d.Protocol, d.Runtime, d.CPUArch, d.Description = protocol, runtime, arch, desc
		return d
	}
	// First letters differ, so that the order by name is the same under
	// any collation.
	var (
		backslash = mk("backslash", "custom", driverhub.RuntimeC, "x86-64", `reads C:\drivers`)
		fast      = mk("fastModbus", "modbus", driverhub.RuntimeC, "aarch64", "")
		java      = mk("javaTool", "custom", driverhub.RuntimeJava, "", "uses a_b naming")
		lora      = mk("loraBridge", "lorawan", driverhub.RuntimeC, "armv7", "Bridges LoRaWAN gateways")
		modbus    = mk("modbusReader", "modbus", driverhub.RuntimePython3, "", "Reads holding REGISTERS")
		opc       = mk("opc_client", "opcua", driverhub.RuntimeNodeJS, "", "OPC UA client, 100% pure JS")
		wild      = mk("wildcard", "custom", driverhub.RuntimePython3, "", "matches axb and ab")
	)
	all := []*driverhub.Driver{backslash, fast, java, lora, modbus, opc, wild}
	// Created out of order; another tenant holds look-alikes that must never show.
	create(t, s, tn, other, wild, newDriver(other, "modbusOther"), opc, lora, modbus, java, fast, backslash)
	otherModbus := newDriver(other, "fastModbus")
	otherModbus.Protocol = "modbus"
	create(t, s, otherModbus)

	for _, tc := range []struct {
		name   string
		filter driverhub.DriverFilter
		want   []*driverhub.Driver
	}{
		{"none", driverhub.DriverFilter{}, all},
		{"protocol", driverhub.DriverFilter{Protocol: "modbus"}, []*driverhub.Driver{fast, modbus}},
		{"runtime", driverhub.DriverFilter{Runtime: driverhub.RuntimeC}, []*driverhub.Driver{backslash, fast, lora}},
		{"protocol and runtime", driverhub.DriverFilter{Protocol: "modbus", Runtime: driverhub.RuntimeC}, []*driverhub.Driver{fast}},
		{"unknown protocol", driverhub.DriverFilter{Protocol: "bacnet"}, nil},
		{"q in name, other case", driverhub.DriverFilter{Q: "MODBUS"}, []*driverhub.Driver{fast, modbus}},
		{"q in description", driverhub.DriverFilter{Q: "registers"}, []*driverhub.Driver{modbus}},
		{"q in description, other case", driverhub.DriverFilter{Q: "lorawan gateways"}, []*driverhub.Driver{lora}},
		{"q in name or description", driverhub.DriverFilter{Q: "client"}, []*driverhub.Driver{opc}},
		{"q whole name", driverhub.DriverFilter{Q: "javaTool"}, []*driverhub.Driver{java}},
		{"q percent is literal", driverhub.DriverFilter{Q: "%"}, []*driverhub.Driver{opc}},
		{"q percent inside", driverhub.DriverFilter{Q: "100%"}, []*driverhub.Driver{opc}},
		{"q underscore is literal", driverhub.DriverFilter{Q: "_"}, []*driverhub.Driver{java, opc}},
		{"q underscore inside", driverhub.DriverFilter{Q: "a_b"}, []*driverhub.Driver{java}},
		{"q backslash is literal", driverhub.DriverFilter{Q: `\`}, []*driverhub.Driver{backslash}},
		{"q backslash and percent", driverhub.DriverFilter{Q: `\%`}, nil},
		{"q no match", driverhub.DriverFilter{Q: "zigbee"}, nil},
		{"q and protocol", driverhub.DriverFilter{Protocol: "custom", Q: "a"}, []*driverhub.Driver{backslash, java, wild}},
		{"all filters", driverhub.DriverFilter{Protocol: "lorawan", Runtime: driverhub.RuntimeC, Q: "BRIDGE"}, []*driverhub.Driver{lora}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := tc.want
			if want == nil {
				want = []*driverhub.Driver{}
			}
			// One page, then pages of one item: the cursor must keep the filter.
			for _, limit := range []int{0, 1} {
				got := pageAll(t, limit, func(p driverhub.Page) (driverhub.List[*driverhub.Driver], error) {
					var l driverhub.List[*driverhub.Driver]
					err := viewErr(t, s, func(ctx context.Context, tx driverhub.Tx) error {
						var err error
						l, err = tx.ListDrivers(ctx, tn.ID, tc.filter, p)
						return err
					})
					return l, err
				})
				if diff := cmp.Diff(want, flatten(got)); diff != "" {
					t.Errorf("ListDrivers(%+v), limit %d (-want +got):\n%s", tc.filter, limit, diff)
				}
			}
		})
	}
}
