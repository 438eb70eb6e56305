package service

import (
	"context"

	"github.com/driverhub/driverhub"
)

// batchTx is the transaction of one rollout batch, which makes hundreds of
// deployments with the same driver, version and tenant: it reads each of
// those once per batch rather than once per target. The deployments are
// still made and checked by deployInTx, each on its own instance; only
// reads that no deployment writes are kept, and only for this one
// transaction, so every target sees what a fresh read would return. The
// one exception is an instance's bindings, which a target reads to find
// the rollout's driver and deployInTx reads again for the manifest after
// the target changed one: they are kept per instance and written through
// (UpdateBinding), so the second read sees the change without a query.
type batchTx struct {
	driverhub.Tx
	drivers  map[string]memo[*driverhub.Driver]
	versions map[[2]string]memo[*driverhub.DriverVersion]
	acquired map[[2]string]memo[*driverhub.Acquisition]
	signed   map[string]memo[bool]
	bindings map[string]memo[[]*driverhub.Binding]
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
		bindings: map[string]memo[[]*driverhub.Binding]{}}
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
