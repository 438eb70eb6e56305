package service

import (
	"context"
	"fmt"
	"time"

	"github.com/driverhub/driverhub"
)

// batchTx is the transaction of one rollout batch, which makes hundreds of
// deployments with the same driver, version and tenant: it reads each of
// those once per batch rather than once per target. The deployments are
// still made and checked by deployInTx, each on its own instance; only
// reads that no deployment writes are kept, and only for this one
// transaction, so every target sees what a fresh read would return.
// What a target reads of its own instance is read for all the batch's
// targets at once (prefetch): its devices (which no deployment writes);
// its bindings, which a target reads to find the rollout's driver and
// deployInTx reads again for the manifest after the target changed one,
// kept per instance and written through (UpdateBinding); the instance and
// its unfinished deployments, each read once by deployInTx and then
// written, forgotten once written (UpdateInstance, UpdateDeployment,
// CreateDeployment).
type batchTx struct {
	driverhub.Tx
	drivers   map[string]memo[*driverhub.Driver]
	versions  map[[2]string]memo[*driverhub.DriverVersion]
	acquired  map[[2]string]memo[*driverhub.Acquisition]
	signed    map[string]memo[bool]
	bindings  map[string]memo[[]*driverhub.Binding]
	instances map[string]memo[*driverhub.Instance]
	// unfinished by instance, devices by binding.
	unfinished map[string]memo[[]*driverhub.Deployment]
	devices    map[string]memo[[]*driverhub.Device]
	// starting holds the polls the batch claimed, by instance id: the
	// deployment made for one is written started at startAt (handoff.go).
	starting map[string]*claimedPoll
	startAt  time.Time
}

// memo is a read's outcome, error included (a missing version is an
// outcome too).
type memo[T any] struct {
	v   T
	err error
}

func newBatchTx(tx driverhub.Tx) *batchTx {
	return &batchTx{Tx: tx, drivers: map[string]memo[*driverhub.Driver]{},
		versions: map[[2]string]memo[*driverhub.DriverVersion]{},
		acquired: map[[2]string]memo[*driverhub.Acquisition]{}, signed: map[string]memo[bool]{},
		bindings: map[string]memo[[]*driverhub.Binding]{}, instances: map[string]memo[*driverhub.Instance]{},
		unfinished: map[string]memo[[]*driverhub.Deployment]{}, devices: map[string]memo[[]*driverhub.Device]{}}
}

// prefetch reads the instances of the batch's targets, their bindings,
// the devices of those and their unfinished deployments: four queries for
// the batch rather than four per target. An instance that is gone is
// remembered as not found.
func (b *batchTx) prefetch(ctx context.Context, instanceIDs []string) error {
	is, err := b.Tx.InstancesByIDs(ctx, instanceIDs)
	if err != nil {
		return err
	}
	bs, err := b.Tx.BindingsOfInstances(ctx, instanceIDs)
	if err != nil {
		return err
	}
	ds, err := b.Tx.UnfinishedDeploymentsOf(ctx, instanceIDs)
	if err != nil {
		return err
	}
	bindingIDs := make([]string, len(bs))
	for k, x := range bs {
		bindingIDs[k] = x.ID
	}
	devs, err := b.Tx.DevicesOfBindings(ctx, bindingIDs)
	if err != nil {
		return err
	}
	for _, id := range instanceIDs {
		b.instances[id] = memo[*driverhub.Instance]{err: fmt.Errorf("instance %s: %w", id, driverhub.ErrNotFound)}
	}
	for _, i := range is {
		b.instances[i.ID] = memo[*driverhub.Instance]{v: i}
	}
	group(b.bindings, instanceIDs, bs, func(x *driverhub.Binding) string { return x.InstanceID })
	group(b.unfinished, instanceIDs, ds, func(d *driverhub.Deployment) string { return d.InstanceID })
	group(b.devices, bindingIDs, devs, func(d *driverhub.Device) string { return d.BindingID })
	return nil
}

// group remembers, for every key, the values whose key it is (none too),
// in the order they came.
func group[T any](m map[string]memo[[]T], keys []string, values []T, keyOf func(T) string) {
	for _, k := range keys {
		m[k] = memo[[]T]{v: []T{}}
	}
	for _, v := range values {
		e := m[keyOf(v)]
		e.v = append(e.v, v)
		m[keyOf(v)] = e
	}
}

// remember returns m[k], reading it with read the first time.
func remember[K comparable, T any](m map[K]memo[T], k K, read func() (T, error)) (T, error) {
	e, ok := m[k]
	if !ok {
		e.v, e.err = read()
		m[k] = e
	}
	return e.v, e.err
}

// The values are shared by the batch's deployments, which only read them.

func (b *batchTx) DriverByID(ctx context.Context, id string) (*driverhub.Driver, error) {
	return remember(b.drivers, id, func() (*driverhub.Driver, error) { return b.Tx.DriverByID(ctx, id) })
}

func (b *batchTx) VersionByName(ctx context.Context, driverID, version string) (*driverhub.DriverVersion, error) {
	return remember(b.versions, [2]string{driverID, version}, func() (*driverhub.DriverVersion, error) {
		return b.Tx.VersionByName(ctx, driverID, version)
	})
}

func (b *batchTx) AcquisitionOf(ctx context.Context, tenantID, driverID string) (*driverhub.Acquisition, error) {
	return remember(b.acquired, [2]string{tenantID, driverID}, func() (*driverhub.Acquisition, error) {
		return b.Tx.AcquisitionOf(ctx, tenantID, driverID)
	})
}

func (b *batchTx) RequireSignedDrivers(ctx context.Context, tenantID string) (bool, error) {
	return remember(b.signed, tenantID, func() (bool, error) { return b.Tx.RequireSignedDrivers(ctx, tenantID) })
}

// InstanceByID returns a copy, read once: deployInTx changes it and
// writes it (UpdateInstance), which forgets it.
func (b *batchTx) InstanceByID(ctx context.Context, id string) (*driverhub.Instance, error) {
	i, err := remember(b.instances, id, func() (*driverhub.Instance, error) { return b.Tx.InstanceByID(ctx, id) })
	if err != nil {
		return nil, err
	}
	c := *i
	return &c, nil
}

func (b *batchTx) UpdateInstance(ctx context.Context, i *driverhub.Instance) error {
	delete(b.instances, i.ID)
	return b.Tx.UpdateInstance(ctx, i)
}

// UnfinishedDeployments returns copies, read once: deployInTx supersedes
// them, which forgets them, as making a deployment does.
func (b *batchTx) UnfinishedDeployments(ctx context.Context, instanceID string) ([]*driverhub.Deployment, error) {
	ds, err := remember(b.unfinished, instanceID, func() ([]*driverhub.Deployment, error) {
		return b.Tx.UnfinishedDeployments(ctx, instanceID)
	})
	return copies(ds), err
}

func (b *batchTx) UpdateDeployment(ctx context.Context, d *driverhub.Deployment) error {
	delete(b.unfinished, d.InstanceID)
	return b.Tx.UpdateDeployment(ctx, d)
}

// startFor has the deployments made for the claimed polls' instances
// written started at now: their gateways fetch them at the commit, when
// the polls are handed them, so the start is certain and needs no write
// of its own.
func (b *batchTx) startFor(claimed map[string]*claimedPoll, now time.Time) {
	b.starting, b.startAt = claimed, now
}

func (b *batchTx) CreateDeployment(ctx context.Context, d *driverhub.Deployment) error {
	delete(b.unfinished, d.InstanceID)
	if c := b.starting[d.InstanceID]; c != nil && d.Status == driverhub.DeployPending {
		at := b.startAt
		d.Status, d.StartedAt, c.d = driverhub.DeployProcessing, &at, d
	}
	return b.Tx.CreateDeployment(ctx, d)
}

// DevicesOfBinding returns copies.
func (b *batchTx) DevicesOfBinding(ctx context.Context, bindingID string) ([]*driverhub.Device, error) {
	ds, err := remember(b.devices, bindingID, func() ([]*driverhub.Device, error) { return b.Tx.DevicesOfBinding(ctx, bindingID) })
	return copies(ds), err
}

// copies copies each value that xs points to, so that a caller changing
// one does not change what is kept.
func copies[T any](xs []*T) []*T {
	out := make([]*T, len(xs))
	for k, x := range xs {
		c := *x
		out[k] = &c
	}
	return out
}

// ListBindings returns copies: a caller changing one changes the store
// only through UpdateBinding.
func (b *batchTx) ListBindings(ctx context.Context, instanceID string) ([]*driverhub.Binding, error) {
	bs, err := remember(b.bindings, instanceID, func() ([]*driverhub.Binding, error) { return b.Tx.ListBindings(ctx, instanceID) })
	return copies(bs), err
}

// UpdateBinding writes through: the instance's kept bindings hold what
// the store now holds.
func (b *batchTx) UpdateBinding(ctx context.Context, x *driverhub.Binding) error {
	if err := b.Tx.UpdateBinding(ctx, x); err != nil {
		delete(b.bindings, x.InstanceID)
		return err
	}
	if e, ok := b.bindings[x.InstanceID]; ok {
		for k, old := range e.v {
			if old.ID == x.ID {
				c := *x
				e.v[k] = &c
			}
		}
	}
	return nil
}
