package console

import (
	"context"

	"github.com/driverhub/driverhub"
)

// Signed drivers (SPEC §11) on the console: whether a published version is
// a current signed target of the tenant's TUF repository and by which
// keys, and which versions of a driver are revoked. Reads only: signing
// happens offline, with driverhub sign.

// signatureView is what a version page shows of its signature.
type signatureView struct {
	Initialized bool
	driverhub.VersionSignature
}

// driverSignatures reads what the tenant's repository says of a driver;
// nil (nothing shown) without a TUF service or when it cannot be read.
func (c *Console) driverSignatures(ctx context.Context, driver string) *driverhub.DriverSignatures {
	if c.tuf == nil {
		return nil
	}
	sigs, err := c.tuf.DriverSignatures(ctx, driver)
	if err != nil {
		c.log.Warn("console: driver signatures", "driver", driver, "err", err)
		return nil
	}
	return sigs
}

// versionSignature is what the repository says of one version.
func (c *Console) versionSignature(ctx context.Context, driver, version string) *signatureView {
	sigs := c.driverSignatures(ctx, driver)
	if sigs == nil {
		return nil
	}
	return &signatureView{Initialized: sigs.Initialized, VersionSignature: sigs.Of(version)}
}
