// Package httpapi serves driverhub's REST API, gateway API, health checks
// and metrics over the domain's services.
package httpapi

import (
	"context"
	_ "embed"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/driverhub/driverhub"
)

// Config wires the API to the services.
type Config struct {
	Accounts    driverhub.AccountService
	Drivers     driverhub.DriverService
	Instances   driverhub.InstanceService
	Deployments driverhub.DeploymentService
	Gateway     driverhub.GatewayService
	Market      driverhub.MarketService
	// TUF serves the tenants' TUF repositories; Tenant the tenant's settings.
	TUF      driverhub.TUFService
	Tenant   driverhub.TenantService
	Rollouts driverhub.RolloutService
	// Ready reports whether the database and blob store answer (for /readyz).
	Ready  func(ctx context.Context) error
	Logger *slog.Logger
	// Registry receives the API's metrics; nil makes a private one.
	Registry *prometheus.Registry
	// Presigner, when set, makes downloads (packages, config files and
	// gateway blobs) answer 307 to a URL of the object store valid for
	// PresignTTL (default 5 minutes), after the usual checks.
	Presigner  Presigner
	PresignTTL time.Duration
	// MetricsMoved says the metrics are served on a listener of their own
	// (MetricsHandler): GET /metrics here then answers 404.
	MetricsMoved bool
	// Reaccept hands a connection back to the HTTP server, to read its
	// next request as on a new one; false when the server is stopping.
	// With it, long-polls wait parked, off their connection (longpoll.go).
	Reaccept func(net.Conn) bool
}

// Presigner makes short-lived URLs from which a client fetches a blob
// straight from the object store (s3blob.Store is one).
type Presigner interface {
	PresignGet(ctx context.Context, key, filename string, ttl time.Duration) (string, error)
}

// Server is the HTTP API.
type Server struct {
	accounts    driverhub.AccountService
	drivers     driverhub.DriverService
	instances   driverhub.InstanceService
	deployments driverhub.DeploymentService
	gateway     driverhub.GatewayService
	market      driverhub.MarketService
	tuf         driverhub.TUFService
	tenant      driverhub.TenantService
	rollouts    driverhub.RolloutService
	ready       func(ctx context.Context) error
	log         *slog.Logger
	mux         *http.ServeMux
	registry    *prometheus.Registry
	requests    *prometheus.CounterVec
	latency     *prometheus.HistogramVec
	routes      []Route
	presigner   Presigner
	presignTTL  time.Duration
	// gatewayWrites holds one write of each gateway at a time.
	gatewayWrites writeGate
	// reaccept is Config.Reaccept; parked is the context of parked
	// long-polls, ended by StopParked.
	reaccept    func(net.Conn) bool
	parked      context.Context
	stopParked  context.CancelFunc
	parkedWaits sync.WaitGroup
	parkedNow   atomic.Int64
	parking     sync.RWMutex // no wait is added once StopParked waits
}

// Route is one registered method and path pattern.
type Route struct {
	Method, Path string
}

// access says who may call a route.
type access int

const (
	public  access = iota
	user           // an API token (or, later, a console session)
	gateway        // an instance's gateway secret
)

// New returns a Server with every route registered.
func New(c Config) *Server {
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Registry == nil {
		c.Registry = prometheus.NewRegistry()
	}
	if c.PresignTTL <= 0 {
		c.PresignTTL = 5 * time.Minute
	}
	s := &Server{accounts: c.Accounts, drivers: c.Drivers, instances: c.Instances, deployments: c.Deployments,
		gateway: c.Gateway, market: c.Market, tuf: c.TUF, tenant: c.Tenant, rollouts: c.Rollouts, ready: c.Ready, log: c.Logger,
		mux: http.NewServeMux(), registry: c.Registry, presigner: c.Presigner, presignTTL: c.PresignTTL, reaccept: c.Reaccept}
	s.parked, s.stopParked = context.WithCancel(context.Background())
	s.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "driverhub_http_requests_total", Help: "HTTP requests by method, route and status code."},
		[]string{"method", "route", "code"})
	s.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "driverhub_http_request_duration_seconds", Help: "HTTP request latency by method and route.",
		Buckets: prometheus.DefBuckets}, []string{"method", "route"})
	c.Registry.MustRegister(s.requests, s.latency, prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "driverhub_gateway_parked_polls", Help: "Gateways' long-polls waiting off their connections (parked) on this server."},
		func() float64 { return float64(s.parkedNow.Load()) }))
	s.routesV1()
	s.mux.Handle("GET /metrics", s.metrics(s.MetricsHandler(), c.MetricsMoved))
	s.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	s.mux.HandleFunc("GET /readyz", s.readyz)
	s.mux.HandleFunc("GET /api/v1/openapi.json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(OpenAPI)
	})
	s.mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		s.writeError(w, r, driverhub.Errorf(driverhub.ENotFound, "no such API path: %s %s", r.Method, r.URL.Path))
	})
	return s
}

// OpenAPI is the API's OpenAPI 3 document.
//
//go:embed openapi.json
var OpenAPI []byte

// ServeHTTP serves the API.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// MetricsHandler serves the metrics to anyone: for a listener of their own.
func (s *Server) MetricsHandler() http.Handler {
	return promhttp.HandlerFor(s.registry, promhttp.HandlerOpts{})
}

// StopParked answers the parked long-polls now (304), as a server that
// stops does, and waits until they are answered or ctx ends.
func (s *Server) StopParked(ctx context.Context) {
	s.parking.Lock()
	s.stopParked()
	s.parking.Unlock()
	done := make(chan struct{})
	go func() { s.parkedWaits.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
	}
}

// Routes lists the API routes registered, for the OpenAPI test.
func (s *Server) Routes() []Route { return s.routes }

// Mux returns the server's mux, for other packages (the console) to add routes.
func (s *Server) Mux() *http.ServeMux { return s.mux }

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	if s.ready != nil {
		if err := s.ready(ctx); err != nil {
			s.log.Warn("not ready", "err", err)
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "error": err.Error()})
			return
		}
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

// handle registers h for "METHOD /path" with authentication, metrics and
// logging around it.
func (s *Server) handle(pattern string, a access, h func(w http.ResponseWriter, r *http.Request) error) {
	method, path, _ := strings.Cut(pattern, " ")
	s.routes = append(s.routes, Route{Method: method, Path: path})
	m := &routeMetrics{requests: s.requests, latency: s.latency.WithLabelValues(method, path), log: s.log,
		method: method, path: path, byCode: map[int]prometheus.Counter{}}
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK, route: m, start: time.Now()}
		defer func() {
			if !rec.parked { // a parked request is counted when it is answered
				m.record(r.Context(), r.URL.Path, rec.status, rec.start)
			}
		}()
		r, release, err := s.admit(rec, r, a)
		if err != nil {
			s.refuse(rec, r, err)
			return
		}
		defer release()
		if err := h(rec, r); err != nil {
			s.fail(rec, r, err)
		}
	})
}

// routeMetrics counts a route's requests by status, looking each
// status's counter up once (polls are the hot path), and times them.
type routeMetrics struct {
	requests     *prometheus.CounterVec
	latency      prometheus.Observer
	log          *slog.Logger
	method, path string
	mu           sync.RWMutex
	byCode       map[int]prometheus.Counter
}

// record counts an answered request and logs it at debug level.
func (m *routeMetrics) record(ctx context.Context, urlPath string, status int, start time.Time) {
	m.mu.RLock()
	c := m.byCode[status]
	m.mu.RUnlock()
	if c == nil {
		c = m.requests.WithLabelValues(m.method, m.path, strconv.Itoa(status))
		m.mu.Lock()
		m.byCode[status] = c
		m.mu.Unlock()
	}
	c.Inc()
	took := time.Since(start)
	m.latency.Observe(took.Seconds())
	if m.log.Enabled(ctx, slog.LevelDebug) {
		m.log.Debug("request", "method", m.method, "path", urlPath, "status", status, "duration", took)
	}
}

// statusRecorder remembers the status for metrics; it keeps ReadFrom so
// that downloads still use sendfile.
type statusRecorder struct {
	http.ResponseWriter
	status      int
	wroteHeader bool
	// The route and start, for a request parked (a long-poll waiting off
	// its connection's goroutine), which its waiter counts.
	route  *routeMetrics
	start  time.Time
	parked bool
}

func (r *statusRecorder) WriteHeader(code int) {
	if !r.wroteHeader {
		r.status, r.wroteHeader = code, true
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	r.wroteHeader = true
	return r.ResponseWriter.Write(b)
}

func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// ReadFrom keeps the underlying writer's sendfile path for downloads.
func (r *statusRecorder) ReadFrom(src io.Reader) (int64, error) {
	r.wroteHeader = true
	if rf, ok := r.ResponseWriter.(io.ReaderFrom); ok {
		return rf.ReadFrom(src)
	}
	return io.Copy(struct{ io.Writer }{r.ResponseWriter}, src)
}
