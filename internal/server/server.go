// Package server assembles a running driverhub control plane: it opens the
// database and blob store a Config names, builds the service over them,
// bootstraps the first admin, and serves the REST and gateway API, the
// health checks, the metrics (or these on a listener of their own) and
// the web console on one listener, with the limits that keep it up
// against hostile clients (SPEC §13), while it fails deployments whose
// gateways stopped reporting and drives fleet rollouts. `driverhub server`
// and the tests' servers (internal/apitest) are both this.
package server

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/driverhub/driverhub"
	"github.com/driverhub/driverhub/internal/console"
	"github.com/driverhub/driverhub/internal/httpapi"
	"github.com/driverhub/driverhub/internal/service"
	"github.com/driverhub/driverhub/internal/sqlstore"
)

// Defaults of a Config's zero fields.
const (
	DefaultDeployTimeout = 10 * time.Minute
	// rolloutSweep is how often every moving rollout is looked at, beyond
	// the kicks of its deployments: it bounds how late a wave times out.
	rolloutSweep = 10 * time.Second
	// pgRolloutBatch is how many rollout targets one transaction deploys on
	// PostgreSQL: fewer than on SQLite, since a batch is serializable and
	// is run again whole when a row it writes changed meanwhile (a gateway
	// of the batch syncing); the gateways' reports and polls, in
	// Repeatable Read, no longer fail against it.
	pgRolloutBatch = 200
	// shutdownGrace is how long Run waits for requests in flight to end.
	shutdownGrace = 10 * time.Second
)

// Config is everything a control plane needs. The error messages name
// the `driverhub server` flag of each field.
type Config struct {
	// Addr is the address to listen on (--addr); "" is a free port on
	// 127.0.0.1.
	Addr string
	// DataDir holds the SQLite file, the filesystem blob store, the upload
	// spool and initial-admin.json (--data).
	DataDir string
	// Database is a postgres:// URL (--database); "" is the SQLite file
	// in DataDir.
	Database string
	// Blobs is an s3:// URL (--blobs); "" is the filesystem store in
	// DataDir.
	Blobs string
	// BlobsPresign, when positive, makes downloads answer 307 to presigned
	// object store URLs valid this long (--blobs-presign); it needs S3.
	BlobsPresign time.Duration
	// DeployTimeout fails a processing deployment with no final report
	// for this long (--deploy-timeout; default 10 min).
	DeployTimeout time.Duration
	// PollPeriod is the gateways' long-poll period (--poll-period;
	// default the service's).
	PollPeriod time.Duration
	// Logger receives the server's logs (default slog.Default()).
	Logger *slog.Logger
	// AdminPassword and AdminToken are the first admin's, used only when
	// the database is empty; "" makes random ones. Either, when set, must
	// be one the server accepts, or New fails.
	AdminPassword, AdminToken string
	// SecretKeyFile (--secret-key-file) or SecretKey (DRIVERHUB_SECRET_KEY)
	// holds the 32-byte key, hex or base64, that seals the tenants' online
	// TUF keys; replicas share it. Without either, a server on SQLite
	// makes <data>/secret.key, and one on PostgreSQL signs nothing.
	SecretKeyFile, SecretKey string
	// TUFTimestampExpiry is how long a signed TUF timestamp lives
	// (--tuf-timestamp-expiry; default 24 h, at least 10 s).
	TUFTimestampExpiry time.Duration
	// BlobGrace is how long a blob stays unreferenced before the collector
	// deletes it (--blob-grace; default driverhub.DefaultBlobGrace).
	BlobGrace time.Duration
	// TenantQuota bounds each tenant's storage in bytes (--tenant-quota;
	// zero: no quota).
	TenantQuota int64
	// IdleTimeout closes keep-alive connections idle this long
	// (--idle-timeout; default driverhub.DefaultIdleTimeout).
	IdleTimeout time.Duration
	// PublicURL is the URL clients and gateways reach the server at
	// (--public-url): console session cookies are Secure when it is
	// https, and the console shows it in the agent command.
	PublicURL string
	// MetricsAddr, when set, serves GET /metrics on a listener of its own,
	// to anyone (--metrics-addr); the main listener then has none.
	// Otherwise the main listener serves them to a system admin's token.
	MetricsAddr string
	// TrustedProxies are the load balancers whose X-Forwarded-For names
	// the client (--trusted-proxies), for the throttling of sign-ins.
	TrustedProxies []netip.Prefix

	// Tests' knobs; production leaves them zero.

	// Now is the service's clock (default time.Now).
	Now func() time.Time
	// BcryptCost is the password hash cost (default bcrypt's).
	BcryptCost int
	// StrictI18n makes a missing console translation fail its page.
	StrictI18n bool
	// Presigner replaces the blob store's own presigner and turns
	// presigned downloads on, on any blob store.
	Presigner httpapi.Presigner
	// BodyRateWindow replaces driverhub.RequestBodyRateWindow, the span
	// over which request bodies must average MinRequestBodyRate.
	BodyRateWindow time.Duration
}

// Server is a control plane ready to serve: backends open, service
// bootstrapped, handler built, listener bound. Run it once: Run closes
// what New opened.
type Server struct {
	cfg     Config
	log     *slog.Logger
	b       *backends
	svc     *service.Service
	api     *httpapi.Server
	handler http.Handler
	admin   *driverhub.InitialAdmin
	ln      *reacceptListener
	http    *http.Server
	// metricsLn and metrics serve MetricsAddr, when set.
	metricsLn net.Listener
	metrics   *http.Server
}

// New opens the backends, builds the service, bootstraps the first admin
// on an empty database and binds the listener. On error everything
// opened is closed again.
func New(ctx context.Context, c Config) (_ *Server, err error) {
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.DeployTimeout < 0 {
		return nil, fmt.Errorf("--deploy-timeout must be positive, got %s", c.DeployTimeout)
	}
	if c.DeployTimeout == 0 {
		c.DeployTimeout = DefaultDeployTimeout
	}
	if c.Addr == "" {
		c.Addr = "127.0.0.1:0"
	}
	if err := c.checkBlobs(); err != nil {
		return nil, err
	}
	if err := c.checkLimits(); err != nil {
		return nil, err
	}
	s := &Server{cfg: c, log: c.Logger}
	if s.b, err = openBackends(ctx, c, c.Logger); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			s.b.close()
		}
	}()
	tuf, err := tufConfig(c)
	if err != nil {
		return nil, err
	}
	s.svc, err = service.New(service.Config{Store: s.b.store, Blobs: s.b.blobs, Logger: c.Logger,
		Now: c.Now, BcryptCost: c.BcryptCost, PollPeriod: c.PollPeriod, Notifier: s.b.notifier, TUF: tuf, TenantQuota: c.TenantQuota,
		RolloutBatch: rolloutBatch(c)})
	if err != nil {
		return nil, err
	}
	if s.admin, err = bootstrap(ctx, s.svc, c); err != nil {
		return nil, err
	}
	s.b.registry.MustRegister(newRolloutCollector(s.svc, s.log.Warn))
	if s.handler, err = s.routes(); err != nil {
		return nil, err
	}
	if err := s.listen(); err != nil {
		return nil, err
	}
	return s, nil
}

// routes builds the API and the console and mounts them side by side:
// the API, its health checks and metrics on their paths, the console on
// every other.
func (s *Server) routes() (http.Handler, error) {
	b, svc := s.b, s.svc
	s.api = httpapi.New(httpapi.Config{Accounts: svc, Drivers: svc, Instances: svc, Deployments: svc, Gateway: svc,
		Market: svc, TUF: svc, Tenant: svc, Rollouts: svc, Logger: s.log, Ready: s.ready, Registry: b.registry, Presigner: b.presigner,
		PresignTTL: s.cfg.BlobsPresign, MetricsMoved: s.cfg.MetricsAddr != "",
		Reaccept: func(c net.Conn) bool { return s.ln.giveBack(c, s.cfg.IdleTimeout) }})
	con, err := console.New(console.Config{Accounts: svc, Drivers: svc, Instances: svc, Deployments: svc, Market: svc,
		Rollouts: svc, TUF: svc, Logger: s.log, StrictI18n: s.cfg.StrictI18n, ServerURL: s.cfg.PublicURL})
	if err != nil {
		return nil, err
	}
	window := cmp.Or(s.cfg.BodyRateWindow, driverhub.RequestBodyRateWindow)
	return withForwardedFor(minBodyRate(mount(s.api, con), driverhub.MinRequestBodyRate, window), s.cfg.TrustedProxies), nil
}

// mount sends the API's paths to the API and every other to the console:
// a switch rather than a ServeMux, since each of them matches the path
// again with its own, and gateways' polls are the hot path.
func mount(api, console http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch p := r.URL.Path; {
		case strings.HasPrefix(p, "/api/"), p == "/api", p == "/healthz", p == "/readyz", p == "/metrics":
			api.ServeHTTP(w, r)
		default:
			console.ServeHTTP(w, r)
		}
	})
}

// rolloutBatch is the service's batch of rollout targets for the database.
func rolloutBatch(c Config) int {
	if c.Database != "" {
		return pgRolloutBatch
	}
	return 0 // the service's default
}

// ready is the readiness check: the database and the blob store answer.
func (s *Server) ready(ctx context.Context) error {
	return errors.Join(s.b.store.Ping(ctx), s.b.blobs.Ping(ctx))
}

// Run serves, and fails deployments past the deploy timeout, until ctx
// ends or serving fails; then it lets requests in flight finish (for up
// to 10 s), stops and closes the backends.
func (s *Server) Run(ctx context.Context) error {
	loop, stopLoop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() {
		s.svc.RunDeployTimeouts(loop, s.cfg.DeployTimeout, min(s.cfg.DeployTimeout/10, 10*time.Second))
	})
	wg.Go(func() { s.runTUFRefresh(loop) })
	wg.Go(func() { s.svc.RunBlobCollector(loop, s.cfg.BlobGrace) })
	if s.b.reserve != nil {
		wg.Go(func() { s.b.reserve.run(loop) })
	}
	wg.Go(func() { s.svc.RunRollouts(loop, rolloutSweep) })
	wg.Go(func() { s.svc.RunGatewaySyncs(loop) })
	s.log.Info("driverhub server listening", "addr", s.ln.Addr().String(), "data", s.cfg.DataDir, "version", driverhub.Version)
	served := make(chan error, 2)
	running := 1
	go func() { served <- s.http.Serve(s.ln) }()
	if s.metrics != nil {
		s.log.Info("metrics listening", "addr", s.metricsLn.Addr().String())
		running++
		go func() { served <- s.metrics.Serve(s.metricsLn) }()
	}
	var err error
	select {
	case err = <-served:
		running--
		err = errors.Join(err, s.shutdown())
	case <-ctx.Done():
		s.log.Info("shutting down")
		err = s.shutdown()
	}
	for ; running > 0; running-- {
		if e := <-served; !errors.Is(e, http.ErrServerClosed) {
			err = errors.Join(err, e)
		}
	}
	stopLoop()
	wg.Wait()
	return errors.Join(err, s.b.close())
}

// shutdown stops accepting, waits for requests in flight, and closes the
// connections of those that outlast the grace period (long polls).
func (s *Server) shutdown() error {
	ctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	var err error
	if s.metrics != nil {
		err = s.metrics.Close()
	}
	s.api.StopParked(ctx) // answered now, their connections close
	e := s.http.Shutdown(ctx)
	if errors.Is(e, context.DeadlineExceeded) {
		s.log.Warn("requests still running after the shutdown grace period; closing their connections", "grace", shutdownGrace)
		e = s.http.Close()
	}
	return errors.Join(err, e)
}

// URL is the base URL the server listens at, http://host:port.
func (s *Server) URL() string { return "http://" + s.ln.Addr().String() }

// MetricsURL is the base URL of the metrics listener, or "" without one.
func (s *Server) MetricsURL() string {
	if s.metricsLn == nil {
		return ""
	}
	return "http://" + s.metricsLn.Addr().String()
}

// Handler is the whole server's handler: API, health, metrics, console.
func (s *Server) Handler() http.Handler { return s.handler }

// Service is the service the handlers call.
func (s *Server) Service() *service.Service { return s.svc }

// Store is the database.
func (s *Server) Store() *sqlstore.Store { return s.b.store }

// Blobs is the blob store.
func (s *Server) Blobs() driverhub.BlobStore { return s.b.blobs }

// API is the REST and gateway API, without the console.
func (s *Server) API() *httpapi.Server { return s.api }

// Admin is the first admin New created, or nil when the database had
// tenants already.
func (s *Server) Admin() *driverhub.InitialAdmin { return s.admin }
