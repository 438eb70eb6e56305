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
// transaction, so every target sees what a fresh read would return.
type batchTx struct {
	driverhub.Tx
	drivers  map[string]memo[*driverhub.Driver]
	versions map[[2]string]memo[*driverhub.DriverVersion]
	acquired map[[2]string]memo[*driverhub.Acquisition]
	signed   map[string]memo[bool]
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
		acquired: map[[2]string]memo[*driverhub.Acquisition]{}, signed: map[string]memo[bool]{}}
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
