package httpapi

import (
	"net/http"
	"time"

	"github.com/driverhub/driverhub"
)

// verifier is a download body that checks the blob against its digest as
// it is read (internal/blobverify); a verified blob's body is the plain
// file, which the response sends with sendfile.
type verifier interface {
	// Verify reads the blob whole and checks it, so that a range of it may
	// be served.
	Verify() error
	// Failed reports that reading found the blob corrupt.
	Failed() bool
}

// serveDownload sends a blob with its ETag (the SHA-256), Range support and
// an attachment file name; with a Presigner, it redirects (307) to a
// short-lived URL of the blob in the object store instead.
//
// No download hands out a corrupt blob: the body stops before the last
// bytes and the connection is cut, so the client sees a transfer that
// failed, never a complete one with wrong bytes; a range request of a blob
// not yet verified is verified whole first and answers 500 if corrupt.
// Either way the server logs the blob as corrupt (`driverhub fsck`).
func (s *Server) serveDownload(w http.ResponseWriter, r *http.Request, d *driverhub.Download) {
	defer d.Body.Close()
	if s.presigner != nil {
		u, err := s.presigner.PresignGet(r.Context(), d.SHA256, d.Filename, s.presignTTL)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		http.Redirect(w, r, u, http.StatusTemporaryRedirect)
		return
	}
	v, verifying := d.Body.(verifier)
	if verifying && r.Header.Get("Range") != "" && r.Method != http.MethodHead {
		if err := v.Verify(); err != nil {
			s.log.Error("corrupt blob not served: run driverhub fsck", "sha256", d.SHA256, "path", r.URL.Path, "err", err)
			s.writeError(w, r, err)
			return
		}
	}
	w.Header().Set("ETag", `"`+d.SHA256+`"`)
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Disposition", driverhub.ContentDisposition(d.Filename))
	w.Header().Set("Cache-Control", "private, max-age=0, must-revalidate")
	http.ServeContent(w, r, "", d.Modified.Truncate(time.Second), d.Body)
	if verifying && v.Failed() {
		s.log.Error("download of a corrupt blob cut short: run driverhub fsck", "sha256", d.SHA256, "path", r.URL.Path)
		panic(http.ErrAbortHandler)
	}
}
