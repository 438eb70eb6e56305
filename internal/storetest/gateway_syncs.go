package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/driverhub/driverhub"
)

// checkTouchGateways writes syncs behind: a gateway's last sync only moves
// forward, its facts stay, an instance that is gone is skipped, and a
// flush of hundreds (one statement where the dialect has it) writes each
// gateway's own time.
func checkTouchGateways(t *testing.T, s driverhub.Store, tn *driverhub.Tenant) {
	t0 := now().Add(-time.Hour)
	t1, t2 := t0.Add(time.Minute), t0.Add(2*time.Minute)
	never, older, newer, bystander := edgeInstance(tn, "sync-never"), edgeInstance(tn, "sync-older"),
		edgeInstance(tn, "sync-newer"), edgeInstance(tn, "sync-bystander")
	older.Gateway = driverhub.Gateway{LastSeenAt: &t0, EdgeVersion: "2.0.0", Arch: "aarch64", BuiltinDrivers: []string{"ModbusTCP"}, BuiltinsReported: true}
	newer.Gateway = driverhub.Gateway{LastSeenAt: &t2, EdgeVersion: "2.1.0"}
	bystander.Gateway = driverhub.Gateway{LastSeenAt: &t0}
	create(t, s, never, older, newer, bystander)
	update(t, s, func(ctx context.Context, tx driverhub.Tx) error {
		return tx.TouchGateways(ctx, []driverhub.GatewaySync{
			{InstanceID: never.ID, At: t1}, {InstanceID: older.ID, At: t1}, {InstanceID: newer.ID, At: t1},
			{InstanceID: driverhub.NewID(), At: t1}, // gone
		})
	})
	for _, c := range []struct {
		what string
		i    *driverhub.Instance
		want *time.Time
	}{
		{"a gateway never seen", never, &t1},
		{"a gateway seen before", older, &t1},
		{"a gateway seen since (by a report written at once)", newer, &t2},
		{"a gateway not in the flush", bystander, &t0},
	} {
		want := *c.i
		want.Gateway.LastSeenAt = c.want
		edgeWant(t, s, c.what, &want, func(ctx context.Context, tx driverhub.Tx) (*driverhub.Instance, error) {
			return tx.InstanceByID(ctx, c.i.ID)
		})
	}
	update(t, s, func(ctx context.Context, tx driverhub.Tx) error { return tx.TouchGateways(ctx, nil) })

	// A flush of many, each its own time.
	fleet := make([]any, 300)
	syncs := make([]driverhub.GatewaySync, len(fleet))
	for k := range fleet {
		i := edgeInstance(tn, fmt.Sprintf("sync-fleet-%03d", k))
		fleet[k], syncs[k] = i, driverhub.GatewaySync{InstanceID: i.ID, At: t1.Add(time.Duration(k) * time.Microsecond)}
	}
	create(t, s, fleet...)
	update(t, s, func(ctx context.Context, tx driverhub.Tx) error { return tx.TouchGateways(ctx, syncs) })
	got := fetch(t, s, func(ctx context.Context, tx driverhub.Tx) ([]*driverhub.Instance, error) {
		ids := make([]string, len(syncs))
		for k, g := range syncs {
			ids[k] = g.InstanceID
		}
		return tx.InstancesByIDs(ctx, ids)
	})
	at := map[string]time.Time{}
	for _, i := range got {
		if i.Gateway.LastSeenAt != nil {
			at[i.ID] = *i.Gateway.LastSeenAt
		}
	}
	for k, g := range syncs {
		if !at[g.InstanceID].Equal(g.At) {
			t.Fatalf("gateway %d of %d: last seen %v, want %v", k, len(syncs), at[g.InstanceID], g.At)
		}
	}
}
