package service

import (
	"context"
	"fmt"

	"github.com/driverhub/driverhub"
)

// A tenant's use of storage is the size of the distinct blobs its
// versions, bindings and staged uploads refer to (TenantBlobUsage): the
// bytes it would free by deleting them. Deployments keep what they ran and
// cannot be deleted, so they do not count. An upload is refused (507
// quota_exceeded) when its blob is new to the tenant and would take it
// over the quota. Two uploads of one tenant checked at the same moment may
// both pass: the quota can be overrun by what is in flight, never more.

// checkQuota refuses blob u for the tenant when it would exceed the quota.
func (s *Service) checkQuota(ctx context.Context, tx driverhub.Tx, tenantID string, u uploaded) error {
	if s.quota <= 0 || tenantID == "" {
		return nil
	}
	has, err := tx.TenantRefersToBlob(ctx, tenantID, u.sha256)
	if err != nil || has {
		return err
	}
	used, err := tx.TenantBlobUsage(ctx, tenantID)
	if err != nil {
		return err
	}
	if used+u.size > s.quota {
		return driverhub.Errorf(driverhub.EQuotaExceeded,
			"this file of %s would take your tenant to %s, over its storage quota of %s (%s used); delete drafts or staged uploads you no longer need",
			bytesText(u.size), bytesText(used+u.size), bytesText(s.quota), bytesText(used))
	}
	return nil
}

// bytesText renders a byte count for people.
func bytesText(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.2f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}
