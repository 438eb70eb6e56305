package httpapi

import (
	"net/http"
	"time"

	"github.com/driverhub/driverhub"
)

// maxWait bounds a long-poll, so that proxies' idle timeouts are not hit.
const maxWait = 5 * time.Minute

func (s *Server) desired(w http.ResponseWriter, r *http.Request) error {
	var wait time.Duration
	if v := r.URL.Query().Get("wait"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 || d > maxWait {
			return driverhub.Invalid("wait", "must be a duration from 0s to %s, such as 30s", maxWait)
		}
		wait = d
	}
	inm := r.Header.Get("If-None-Match")
	if wait > 0 && inm != "" && s.parkable(w, r) {
		return s.park(w, r, inm, wait) // waits off this connection (longpoll.go)
	}
	m, etag, err := s.gateway.Desired(r.Context(), inm, wait)
	return answerDesired(w, m, etag, err)
}

// answerDesired writes a manifest (200), or 304 when m is nil.
func answerDesired(w http.ResponseWriter, m *driverhub.Manifest, etag string, err error) error {
	if err != nil {
		return err
	}
	w.Header().Set("ETag", etag)
	w.Header().Set("Cache-Control", "no-cache")
	if m == nil {
		w.WriteHeader(http.StatusNotModified)
		return nil
	}
	writeJSON(w, http.StatusOK, m)
	return nil
}

func (s *Server) gatewayBlob(w http.ResponseWriter, r *http.Request) error {
	d, err := s.gateway.OpenGatewayBlob(r.Context(), r.PathValue("sha256"))
	if err != nil {
		return err
	}
	s.serveDownload(w, r, d)
	return nil
}

func (s *Server) report(w http.ResponseWriter, r *http.Request) error {
	var rep driverhub.GatewayReport
	if err := decode(w, r, &rep); err != nil {
		return err
	}
	return noContent(w, s.gateway.Report(r.Context(), rep))
}

func (s *Server) postLogs(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Driver string              `json:"driver"`
		Lines  []driverhub.LogLine `json:"lines"`
	}
	if err := decode(w, r, &in); err != nil {
		return err
	}
	return noContent(w, s.gateway.PostLogs(r.Context(), in.Driver, in.Lines))
}
