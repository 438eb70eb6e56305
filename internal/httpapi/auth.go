package httpapi

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/driverhub/driverhub"
)

// admit authenticates a request as its route asks and returns it with
// the caller in its context, and what to call when it is done. A
// gateway's write (report, log batch) may carry MaxGatewayBodyBytes and
// waits for the same gateway's previous one: whoever holds a gateway's
// secret cannot make the server hold many of its bodies at once.
func (s *Server) admit(w http.ResponseWriter, r *http.Request, a access) (*http.Request, func(), error) {
	switch a {
	case user:
		p, err := s.authenticate(r)
		if err != nil {
			return r, nil, err
		}
		return r.WithContext(driverhub.WithPrincipal(r.Context(), p)), nothing, nil
	case gateway:
		i, err := s.authenticateGateway(r)
		if err != nil {
			return r, nil, err
		}
		r = r.WithContext(driverhub.WithGateway(r.Context(), i))
		if r.Method == http.MethodGet {
			return r, nothing, nil
		}
		if r.ContentLength > driverhub.MaxGatewayBodyBytes {
			return r, nil, &driverhub.Error{Code: driverhub.ETooLarge,
				Message: fmt.Sprintf("request body of %d bytes is larger than %d bytes", r.ContentLength, driverhub.MaxGatewayBodyBytes)}
		}
		r.Body = http.MaxBytesReader(w, r.Body, driverhub.MaxGatewayBodyBytes)
		release, err := s.gatewayWrites.acquire(r.Context(), i.ID)
		return r, release, err
	}
	return r, nothing, nil
}

func nothing() {}

// refuse answers a request refused before its handler ran. Its body is
// not read: the connection closes after the answer instead, so that a
// client cannot make the server read what it will not use (net/http
// would otherwise read up to 256 KiB of it first).
func (s *Server) refuse(w http.ResponseWriter, r *http.Request, err error) {
	if r.ContentLength != 0 {
		w.Header().Set("Connection", "close")
	}
	s.fail(w, r, err)
}

// fail answers err, with Retry-After when it is a throttled attempt.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	if wait, ok := driverhub.RetryAfterOf(err); ok {
		w.Header().Set("Retry-After", strconv.Itoa(int(wait.Seconds())))
	}
	s.writeError(w, r, err)
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

// metrics serves the Prometheus metrics on the API's listener to a
// system admin's token only: they count every tenant's requests and
// gateways. On their own listener (--metrics-addr, MetricsMoved) they need
// none, and this one answers 404.
func (s *Server) metrics(h http.Handler, moved bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if moved {
			s.writeError(w, r, driverhub.Errorf(driverhub.ENotFound, "metrics are served on the server's metrics address (--metrics-addr)"))
			return
		}
		p, err := s.authenticate(r)
		if err == nil && !p.SystemAdmin {
			err = driverhub.Errorf(driverhub.EPermissionDenied, "metrics are for system admins (an admin token of tenant default's admin), or on --metrics-addr")
		}
		if err != nil {
			s.refuse(w, r, err)
			return
		}
		h.ServeHTTP(w, r)
	}
}

// writeGate lets one request at a time in for each key.
type writeGate struct {
	mu   sync.Mutex
	busy map[string]chan struct{} // closed when the holder is done
}

// acquire waits until no other request holds key, then holds it until
// release is called; it gives up when ctx ends.
func (g *writeGate) acquire(ctx context.Context, key string) (release func(), err error) {
	for {
		g.mu.Lock()
		if g.busy == nil {
			g.busy = map[string]chan struct{}{}
		}
		done, held := g.busy[key]
		if !held {
			done = make(chan struct{})
			g.busy[key] = done
			g.mu.Unlock()
			return func() {
				g.mu.Lock()
				delete(g.busy, key)
				g.mu.Unlock()
				close(done)
			}, nil
		}
		g.mu.Unlock()
		select {
		case <-done:
		case <-ctx.Done():
			return nil, driverhub.Throttled(0, "another request of this gateway is still running")
		}
	}
}
