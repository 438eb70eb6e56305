// Package httpapi serves driverhub's REST API, gateway API, health checks
// and metrics over the domain's services.
package httpapi

import (
	"context"
	_ "embed"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
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
	Rollouts    driverhub.RolloutService
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
		gateway: c.Gateway, market: c.Market, rollouts: c.Rollouts, ready: c.Ready, log: c.Logger, mux: http.NewServeMux(), registry: c.Registry,
		presigner: c.Presigner, presignTTL: c.PresignTTL}
	s.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "driverhub_http_requests_total", Help: "HTTP requests by method, route and status code."},
		[]string{"method", "route", "code"})
	s.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "driverhub_http_request_duration_seconds", Help: "HTTP request latency by method and route.",
		Buckets: prometheus.DefBuckets}, []string{"method", "route"})
	c.Registry.MustRegister(s.requests, s.latency)
	s.routesV1()
	s.mux.Handle("GET /metrics", promhttp.HandlerFor(c.Registry, promhttp.HandlerOpts{}))
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
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		defer func() {
			s.requests.WithLabelValues(method, path, strconv.Itoa(rec.status)).Inc()
			s.latency.WithLabelValues(method, path).Observe(time.Since(start).Seconds())
			s.log.Debug("request", "method", method, "path", r.URL.Path, "status", rec.status, "duration", time.Since(start))
		}()
		switch a {
		case user:
			p, err := s.authenticate(r)
			if err != nil {
				s.writeError(rec, r, err)
				return
			}
			r = r.WithContext(driverhub.WithPrincipal(r.Context(), p))
		case gateway:
			i, err := s.authenticateGateway(r)
			if err != nil {
				s.writeError(rec, r, err)
				return
			}
			r = r.WithContext(driverhub.WithGateway(r.Context(), i))
		}
		if err := h(rec, r); err != nil {
			s.writeError(rec, r, err)
		}
	})
}

func (s *Server) authenticate(r *http.Request) (*driverhub.Principal, error) {
	token, ok := bearer(r)
	if !ok {
		return nil, driverhub.Errorf(driverhub.EUnauthenticated, "send an API token: Authorization: Bearer <token>")
	}
	return s.accounts.Authenticate(r.Context(), token)
}

func (s *Server) authenticateGateway(r *http.Request) (*driverhub.Instance, error) {
	secret, ok := bearer(r)
	if !ok {
		return nil, driverhub.Errorf(driverhub.EUnauthenticated, "send the instance's gateway secret: Authorization: Bearer <secret>")
	}
	return s.gateway.AuthenticateGateway(r.Context(), secret)
}

func bearer(r *http.Request) (string, bool) {
	scheme, token, ok := strings.Cut(strings.TrimSpace(r.Header.Get("Authorization")), " ")
	token = strings.TrimSpace(token)
	return token, ok && strings.EqualFold(scheme, "Bearer") && token != "" // the scheme is case-insensitive (RFC 7235)
}

// statusRecorder remembers the status for metrics; it keeps ReadFrom so
// that downloads still use sendfile.
type statusRecorder struct {
	http.ResponseWriter
	status      int
	wroteHeader bool
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
