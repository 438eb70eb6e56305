package httpapi

import (
	"net/http"
	"strings"

	"github.com/driverhub/driverhub"
)

func (s *Server) listDrivers(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	f := driverhub.DriverFilter{Protocol: q.Get("protocol"), Runtime: driverhub.Runtime(q.Get("runtime")), Q: q.Get("q")}
	return list(w, r, func(p driverhub.Page) (driverhub.List[*driverhub.Driver], error) {
		return s.drivers.ListDrivers(r.Context(), f, p)
	})
}

func (s *Server) createDriver(w http.ResponseWriter, r *http.Request) error {
	var in driverhub.DriverInput
	if err := decode(w, r, &in); err != nil {
		return err
	}
	d, err := s.drivers.CreateDriver(r.Context(), in)
	return answer(w, http.StatusCreated, d, err)
}

func (s *Server) getDriver(w http.ResponseWriter, r *http.Request) error {
	d, err := s.drivers.GetDriver(r.Context(), r.PathValue("driver"))
	return answer(w, http.StatusOK, d, err)
}

func (s *Server) updateDriver(w http.ResponseWriter, r *http.Request) error {
	var in driverhub.DriverInput
	if err := decode(w, r, &in); err != nil {
		return err
	}
	d, err := s.drivers.UpdateDriver(r.Context(), r.PathValue("driver"), in)
	return answer(w, http.StatusOK, d, err)
}

func (s *Server) deleteDriver(w http.ResponseWriter, r *http.Request) error {
	return noContent(w, s.drivers.DeleteDriver(r.Context(), r.PathValue("driver")))
}

func (s *Server) listVersions(w http.ResponseWriter, r *http.Request) error {
	return list(w, r, func(p driverhub.Page) (driverhub.List[*driverhub.DriverVersion], error) {
		return s.drivers.ListVersions(r.Context(), r.PathValue("driver"), r.URL.Query().Get("status"), p)
	})
}

func (s *Server) createVersion(w http.ResponseWriter, r *http.Request) error {
	var in driverhub.VersionInput
	if err := decode(w, r, &in); err != nil {
		return err
	}
	v, err := s.drivers.CreateVersion(r.Context(), r.PathValue("driver"), in)
	return answer(w, http.StatusCreated, v, err)
}

func (s *Server) getVersion(w http.ResponseWriter, r *http.Request) error {
	v, err := s.drivers.GetVersion(r.Context(), r.PathValue("driver"), r.PathValue("version"))
	return answer(w, http.StatusOK, v, err)
}

func (s *Server) updateVersion(w http.ResponseWriter, r *http.Request) error {
	var in driverhub.VersionInput
	if err := decode(w, r, &in); err != nil {
		return err
	}
	v, err := s.drivers.UpdateVersion(r.Context(), r.PathValue("driver"), r.PathValue("version"), in)
	return answer(w, http.StatusOK, v, err)
}

func (s *Server) deleteVersion(w http.ResponseWriter, r *http.Request) error {
	return noContent(w, s.drivers.DeleteVersion(r.Context(), r.PathValue("driver"), r.PathValue("version")))
}

func (s *Server) publishVersion(w http.ResponseWriter, r *http.Request) error {
	v, err := s.drivers.PublishVersion(r.Context(), r.PathValue("driver"), r.PathValue("version"))
	return answer(w, http.StatusOK, v, err)
}

func (s *Server) putPackage(w http.ResponseWriter, r *http.Request) error {
	body, err := upload(r, driverhub.MaxPackageBytes, "package")
	if err != nil {
		return err
	}
	filename := r.URL.Query().Get("filename")
	if filename == "" {
		filename = filenameFromDisposition(r.Header.Get("Content-Disposition"))
	}
	v, err := s.drivers.PutPackage(r.Context(), r.PathValue("driver"), r.PathValue("version"), filename, body)
	return answer(w, http.StatusOK, v, err)
}

func (s *Server) getPackage(w http.ResponseWriter, r *http.Request) error {
	d, err := s.drivers.OpenPackage(r.Context(), r.PathValue("driver"), r.PathValue("version"))
	if err != nil {
		return err
	}
	s.serveDownload(w, r, d)
	return nil
}

func (s *Server) putConfigFile(w http.ResponseWriter, r *http.Request) error {
	body, err := upload(r, driverhub.MaxConfigFileBytes, "body")
	if err != nil {
		return err
	}
	v, err := s.drivers.PutConfigFile(r.Context(), r.PathValue("driver"), r.PathValue("version"), r.URL.Query().Get("name"), body)
	return answer(w, http.StatusOK, v, err)
}

func (s *Server) getConfigFile(w http.ResponseWriter, r *http.Request) error {
	d, err := s.drivers.OpenConfigFile(r.Context(), r.PathValue("driver"), r.PathValue("version"))
	if err != nil {
		return err
	}
	s.serveDownload(w, r, d)
	return nil
}

// filenameFromDisposition reads filename= from a Content-Disposition header
// a client may send with an upload ("" when absent).
func filenameFromDisposition(h string) string {
	for _, part := range strings.Split(h, ";") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if ok && strings.EqualFold(k, "filename") {
			return strings.Trim(v, `"`)
		}
	}
	return ""
}
