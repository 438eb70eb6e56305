package server

import (
	"context"
	"fmt"

	"github.com/driverhub/driverhub"
	"github.com/driverhub/driverhub/internal/service"
)

// checkBlobs applies the defaults and checks the blob collector's and the
// quota's settings.
func (c *Config) checkBlobs() error {
	if c.BlobGrace == 0 {
		c.BlobGrace = driverhub.DefaultBlobGrace
	}
	if c.BlobGrace < driverhub.MinBlobGrace {
		return fmt.Errorf("--blob-grace must be at least %s (longer than any upload or transaction), got %s",
			driverhub.MinBlobGrace, c.BlobGrace)
	}
	if c.TenantQuota < 0 {
		return fmt.Errorf("--tenant-quota must not be negative, got %d", c.TenantQuota)
	}
	return nil
}

// OpenService opens the database and the blob store c names, as a server
// does, and a service over them, for commands that work beside running
// servers (driverhub fsck). The caller calls close when done.
func OpenService(ctx context.Context, c Config) (svc *service.Service, close func() error, err error) {
	if c.Logger == nil {
		return nil, nil, fmt.Errorf("server: OpenService needs a logger")
	}
	b, err := openBackends(ctx, c, c.Logger)
	if err != nil {
		return nil, nil, err
	}
	svc, err = service.New(service.Config{Store: b.store, Blobs: b.blobs, Logger: c.Logger, Notifier: b.notifier,
		TenantQuota: c.TenantQuota})
	if err != nil {
		b.close()
		return nil, nil, err
	}
	return svc, b.close, nil
}
