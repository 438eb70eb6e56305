package driverhub

import "context"

// Notifier wakes gateways that long-poll for their desired state. The
// in-process one serves a single server; a PostgreSQL LISTEN/NOTIFY one
// wakes gateways waiting on other replicas.
type Notifier interface {
	// Subscribe returns a channel that receives a value when the instance's
	// desired state may have changed, and a function to stop listening.
	// Subscribe before reading the state, so that no change is missed.
	Subscribe(instanceID string) (wake <-chan struct{}, cancel func())
	// Notify wakes the subscribers of each instance, here and on other
	// replicas: many at once (a rollout batch's) in one round trip.
	Notify(ctx context.Context, instanceIDs ...string) error
}

type gatewayKey struct{}

// WithGateway returns a context carrying the instance whose gateway calls.
func WithGateway(ctx context.Context, i *Instance) context.Context {
	return context.WithValue(ctx, gatewayKey{}, i)
}

// GatewayFrom returns the calling gateway's instance, or nil.
func GatewayFrom(ctx context.Context) *Instance {
	i, _ := ctx.Value(gatewayKey{}).(*Instance)
	return i
}
