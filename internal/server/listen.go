package server

import (
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"

	"github.com/driverhub/driverhub"
)

// checkLimits checks and completes the connection settings, naming the
// flag of each.
func (c *Config) checkLimits() error {
	switch {
	case c.IdleTimeout < 0:
		return fmt.Errorf("--idle-timeout must be positive, got %s", c.IdleTimeout)
	case c.IdleTimeout == 0:
		c.IdleTimeout = driverhub.DefaultIdleTimeout
	}
	if c.PublicURL != "" {
		u, err := url.Parse(c.PublicURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
			return fmt.Errorf("--public-url must be an http:// or https:// URL with a host and no query, such as https://driverhub.example.com; got %q", c.PublicURL)
		}
	}
	return nil
}

// listen binds the main listener and, with MetricsAddr, the metrics one.
func (s *Server) listen() (err error) {
	c := s.cfg
	errLog := slog.NewLogLogger(c.Logger.Handler(), slog.LevelWarn)
	ln, err := net.Listen("tcp", c.Addr)
	if err != nil {
		return err
	}
	s.ln = newReacceptListener(ln)
	s.http = &http.Server{Handler: s.handler, ReadHeaderTimeout: driverhub.RequestHeaderTimeout, IdleTimeout: c.IdleTimeout, ErrorLog: errLog,
		ConnContext: connClientAddr}
	if c.MetricsAddr == "" {
		return nil
	}
	if s.metricsLn, err = net.Listen("tcp", c.MetricsAddr); err != nil {
		s.ln.Close()
		return fmt.Errorf("--metrics-addr: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", s.api.MetricsHandler())
	s.metrics = &http.Server{Handler: mux, ReadHeaderTimeout: driverhub.RequestHeaderTimeout, IdleTimeout: c.IdleTimeout, ErrorLog: errLog}
	return nil
}
