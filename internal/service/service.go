// Package service holds driverhub's business rules. Handlers (REST API,
// console, CLI through the API) call it; storage adapters only store.
package service

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"log/slog"
	"time"

	"github.com/driverhub/driverhub"
	"github.com/driverhub/driverhub/internal/notify"
)

// Config wires a Service to its dependencies.
type Config struct {
	Store driverhub.Store
	// Blobs also stages uploads while they are hashed and checked.
	Blobs  driverhub.BlobStore
	Logger *slog.Logger
	// Now is the clock; tests set it.
	Now func() time.Time
	// BcryptCost is the password hash cost; tests lower it.
	BcryptCost int
	// Notifier wakes long-polling gateways; nil makes an in-process one.
	Notifier driverhub.Notifier
	// GatewayCacheTTL bounds how long a gateway's identity and current
	// deployment are remembered between polls (negative: never). Default
	// 1 s with a Notifier (replicas, whose changes this server does not
	// see); without one, a single server, every change passes here and
	// forgets what it changes: 5 min.
	GatewayCacheTTL time.Duration
	// PollPeriod is the gateways' long-poll period; a gateway is online
	// when it synced within three of them. Default 30 s.
	PollPeriod time.Duration
	// TUF configures the tenants' TUF repositories (signed drivers).
	TUF TUFConfig
	// TenantQuota bounds each tenant's storage in bytes (see quota.go);
	// zero is no quota.
	TenantQuota int64
	// RolloutBatch is how many rollout targets one transaction deploys or
	// rolls back (default 200).
	RolloutBatch int
}

// Service implements the domain's service interfaces.
type Service struct {
	store    driverhub.Store
	blobs    driverhub.BlobStore
	log      *slog.Logger
	now      func() time.Time
	cost     int
	notifier driverhub.Notifier
	poll     time.Duration
	gateways *gatewayCache
	tuf      *tufState
	quota    int64
	throttle *throttles
	// kicks are the rollouts to drive soon (rollouts_drive.go).
	kicks *rolloutKicks
	// fresh holds the manifests of deployments made here and not yet fetched.
	fresh *freshManifests
	// parked are the long-polls waiting here, for rollout batches to
	// hand their deployments to (handoff.go).
	parked *parkedPolls
	// syncs are the gateways' syncs to write behind (gatewaysyncs.go).
	syncs *gatewaySyncs
	batch int
	// replica names this Service in the leases of rollouts' batch work.
	replica string
}

// New returns a Service.
func New(c Config) (*Service, error) {
	if c.Store == nil || c.Blobs == nil {
		return nil, errors.New("service: a store and a blob store are required")
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.BcryptCost == 0 {
		c.BcryptCost = 10
	}
	if c.PollPeriod == 0 {
		c.PollPeriod = 30 * time.Second
	}
	if c.TenantQuota < 0 {
		return nil, errors.New("service: the tenant quota must not be negative")
	}
	single := c.Notifier == nil // no replicas: every change passes here
	if c.GatewayCacheTTL == 0 {
		c.GatewayCacheTTL = time.Second
		if single {
			c.GatewayCacheTTL = 5 * time.Minute
		}
	}
	if single {
		c.Notifier = notify.NewLocal()
	}
	tuf, err := newTUFState(c.TUF)
	if err != nil {
		return nil, err
	}
	if c.RolloutBatch <= 0 {
		c.RolloutBatch = defaultRolloutBatch
	}
	return &Service{store: c.Store, blobs: c.Blobs, log: c.Logger, now: c.Now, cost: c.BcryptCost,
		notifier: c.Notifier, poll: c.PollPeriod, gateways: newGatewayCache(c.GatewayCacheTTL, single), tuf: tuf, quota: c.TenantQuota,
		throttle: newThrottles(), kicks: newRolloutKicks(), fresh: newFreshManifests(), parked: newParkedPolls(), syncs: newGatewaySyncs(), batch: c.RolloutBatch, replica: driverhub.NewID()}, nil
}

// timestamp is the current time as stored: UTC, microsecond precision.
func (s *Service) timestamp() time.Time { return s.now().UTC().Truncate(time.Microsecond) }

// authorize returns the caller if it holds at least role min.
func authorize(ctx context.Context, min driverhub.Role) (*driverhub.Principal, error) {
	p := driverhub.PrincipalFrom(ctx)
	if p == nil {
		return nil, driverhub.Errorf(driverhub.EUnauthenticated, "authentication required")
	}
	if !p.Role.AtLeast(min) {
		return nil, driverhub.Errorf(driverhub.EPermissionDenied, "this needs the %s role; you have %s", min, p.Role)
	}
	return p, nil
}

// notFound turns a store's ErrNotFound into a message naming the resource.
func notFound(err error, kind driverhub.Word, name string) error {
	if errors.Is(err, driverhub.ErrNotFound) {
		return driverhub.NotFound(kind, name)
	}
	return err
}

// conflict turns a store's ErrConflict into a message naming the resource.
func conflict(err error, field, format string, args ...any) error {
	if errors.Is(err, driverhub.ErrConflict) {
		e := driverhub.Errorf(driverhub.EConflict, format, args...)
		e.Field = field
		return e
	}
	return err
}

// hashSecret is how tokens and gateway secrets are stored: they are long
// and random, so a fast hash suffices and lookups stay indexable.
func hashSecret(secret string) string {
	h := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(h[:])
}

var (
	_ driverhub.AccountService    = (*Service)(nil)
	_ driverhub.DriverService     = (*Service)(nil)
	_ driverhub.InstanceService   = (*Service)(nil)
	_ driverhub.DeploymentService = (*Service)(nil)
	_ driverhub.GatewayService    = (*Service)(nil)
	_ driverhub.MarketService     = (*Service)(nil)
	_ driverhub.TUFService        = (*Service)(nil)
	_ driverhub.TenantService     = (*Service)(nil)
	_ driverhub.RolloutService    = (*Service)(nil)
)
