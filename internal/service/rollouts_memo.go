package service

import (
	"context"
	"fmt"

	"github.com/driverhub/driverhub"
)

// batchTx is the transaction of one rollout batch, which makes hundreds of
// deployments with the same driver, version and tenant: it reads each of
// those once per batch rather than once per target. The deployments are
// still made and checked by deployInTx, each on its own instance; only
// reads that no deployment writes are kept, and only for this one
// transaction, so every target sees what a fresh read would return. Two
// exceptions, both read for all the batch's targets at once (prefetch):
// an instance's bindings, which a target reads to find the rollout's
// driver and deployInTx reads again for the manifest after the target
// changed one, are kept per instance and written through (UpdateBinding);
// an instance, read once by its target and then written by deployInTx, is
// forgotten once written (UpdateInstance).
type batchTx struct {
	driverhub.Tx
	drivers   map[string]memo[*driverhub.Driver]
	versions  map[[2]string]memo[*driverhub.DriverVersion]
	acquired  map[[2]string]memo[*driverhub.Acquisition]
	signed    map[string]memo[bool]
	bindings  map[string]memo[[]*driverhub.Binding]
	instances map[string]memo[*driverhub.Instance]
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
		bindings: map[string]memo[[]*driverhub.Binding]{}, instances: map[string]memo[*driverhub.Instance]{}}
}

// prefetch reads the instances and the bindings of the batch's targets,
// two queries for the batch rather than two per target. An instance that
// is gone is remembered as not found.
func (b *batchTx) prefetch(ctx context.Context, instanceIDs []string) error {
	is, err := b.Tx.InstancesByIDs(ctx, instanceIDs)
	if err != nil {
		return err
	}
	bs, err := b.Tx.BindingsOfInstances(ctx, instanceIDs)
	if err != nil {
		return err
	}
	for _, id := range instanceIDs {
		b.instances[id] = memo[*driverhub.Instance]{err: fmt.Errorf("instance %s: %w", id, driverhub.ErrNotFound)}
		b.bindings[id] = memo[[]*driverhub.Binding]{v: []*driverhub.Binding{}}
	}
	for _, i := range is {
		b.instances[i.ID] = memo[*driverhub.Instance]{v: i}
	}
	for _, x := range bs {
		e := b.bindings[x.InstanceID]
		e.v = append(e.v, x)
		b.bindings[x.InstanceID] = e
	}
	return nil
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

// ListBindings returns copies: a caller changing one changes the store
// only through UpdateBinding.
func (b *batchTx) ListBindings(ctx context.Context, instanceID string) ([]*driverhub.Binding, error) {
	bs, err := remember(b.bindings, instanceID, func() ([]*driverhub.Binding, error) { return b.Tx.ListBindings(ctx, instanceID) })
	out := make([]*driverhub.Binding, len(bs))
	for k, x := range bs {
		c := *x
		out[k] = &c
	}
	return out, err
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
