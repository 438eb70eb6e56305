package httpapi

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/driverhub/driverhub"
)

// routesTUF registers the TUF repository (SPEC §11) and the tenant's own
// settings.
func (s *Server) routesTUF() {
	s.handle("PATCH /api/v1/tenant", user, s.updateTenant)

	s.handle("GET /api/v1/tuf/online-keys", user, s.tufOnlineKeys)
	s.handle("GET /api/v1/tuf/{file}", user, s.tufFile)
	s.handle("PUT /api/v1/tuf/root", user, s.putTUFRoot)
	s.handle("PUT /api/v1/tuf/targets", user, s.putTUFTargets)
	s.handle("GET /api/v1/gateway/tuf/{file}", gateway, s.gatewayTUFFile)
}

func (s *Server) updateTenant(w http.ResponseWriter, r *http.Request) error {
	var in driverhub.TenantSettings
	if err := decode(w, r, &in); err != nil {
		return err
	}
	v, err := s.tenant.UpdateTenant(r.Context(), in)
	return answer(w, http.StatusOK, v, err)
}

func (s *Server) tufOnlineKeys(w http.ResponseWriter, r *http.Request) error {
	k, err := s.tuf.TUFOnlineKeys(r.Context())
	return answer(w, http.StatusOK, k, err)
}

func (s *Server) tufFile(w http.ResponseWriter, r *http.Request) error {
	b, err := s.tuf.TUFMetadata(r.Context(), r.PathValue("file"))
	return serveMetadata(w, r.PathValue("file"), b, err)
}

func (s *Server) gatewayTUFFile(w http.ResponseWriter, r *http.Request) error {
	b, err := s.tuf.GatewayTUFMetadata(r.Context(), r.PathValue("file"))
	return serveMetadata(w, r.PathValue("file"), b, err)
}

// serveMetadata answers a metadata file as stored: the signatures cover
// its signed part, and snapshot and timestamp its bytes. Versioned files
// never change; root.json and timestamp.json do.
func serveMetadata(w http.ResponseWriter, file string, b []byte, err error) error {
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	if file == "root.json" || file == "timestamp.json" {
		w.Header().Set("Cache-Control", "no-cache")
	} else {
		w.Header().Set("Cache-Control", "private, max-age=86400, immutable")
	}
	_, err = w.Write(b)
	return err
}

func (s *Server) putTUFRoot(w http.ResponseWriter, r *http.Request) error {
	body, err := readMetadataBody(w, r)
	if err != nil {
		return err
	}
	u, err := s.tuf.PutTUFRoot(r.Context(), body)
	return answer(w, http.StatusOK, u, err)
}

func (s *Server) putTUFTargets(w http.ResponseWriter, r *http.Request) error {
	body, err := readMetadataBody(w, r)
	if err != nil {
		return err
	}
	u, err := s.tuf.PutTUFTargets(r.Context(), body)
	return answer(w, http.StatusOK, u, err)
}

// readMetadataBody reads an uploaded metadata file whole, up to its limit.
func readMetadataBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	tooLarge := &driverhub.Error{Code: driverhub.ETooLarge,
		Message: fmt.Sprintf("TUF metadata is larger than %d bytes", driverhub.MaxTUFMetadataBytes)}
	if r.ContentLength > driverhub.MaxTUFMetadataBytes {
		return nil, tooLarge
	}
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, driverhub.MaxTUFMetadataBytes))
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		return nil, tooLarge
	case err != nil:
		return nil, driverhub.Invalid("", "reading request body: %v", err)
	case len(strings.TrimSpace(string(b))) == 0:
		return nil, driverhub.Invalid("", "request body is empty: send signed TUF metadata (JSON)")
	}
	return b, nil
}
