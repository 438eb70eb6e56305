package httpapi

import (
	"net/http"
	"strconv"

	"github.com/driverhub/driverhub"
)

func (s *Server) listInstances(w http.ResponseWriter, r *http.Request) error {
	return list(w, r, func(p driverhub.Page) (driverhub.List[*driverhub.Instance], error) {
		return s.instances.ListInstances(r.Context(), p)
	})
}

func (s *Server) createInstance(w http.ResponseWriter, r *http.Request) error {
	var in driverhub.InstanceInput
	if err := decode(w, r, &in); err != nil {
		return err
	}
	i, err := s.instances.CreateInstance(r.Context(), in)
	return answer(w, http.StatusCreated, i, err)
}

func (s *Server) getInstance(w http.ResponseWriter, r *http.Request) error {
	i, err := s.instances.GetInstance(r.Context(), r.PathValue("instance"))
	return answer(w, http.StatusOK, i, err)
}

func (s *Server) updateInstance(w http.ResponseWriter, r *http.Request) error {
	var in driverhub.InstanceInput
	if err := decode(w, r, &in); err != nil {
		return err
	}
	i, err := s.instances.UpdateInstance(r.Context(), r.PathValue("instance"), in)
	return answer(w, http.StatusOK, i, err)
}

func (s *Server) deleteInstance(w http.ResponseWriter, r *http.Request) error {
	return noContent(w, s.instances.DeleteInstance(r.Context(), r.PathValue("instance")))
}

func (s *Server) rotateSecret(w http.ResponseWriter, r *http.Request) error {
	i, err := s.instances.RotateGatewaySecret(r.Context(), r.PathValue("instance"))
	return answer(w, http.StatusOK, i, err)
}

func (s *Server) listBindings(w http.ResponseWriter, r *http.Request) error {
	l, err := s.instances.ListBindings(r.Context(), r.PathValue("instance"))
	return answer(w, http.StatusOK, l, err)
}

func (s *Server) getBinding(w http.ResponseWriter, r *http.Request) error {
	b, err := s.instances.GetBinding(r.Context(), r.PathValue("instance"), r.PathValue("driver"))
	return answer(w, http.StatusOK, b, err)
}

func (s *Server) bind(w http.ResponseWriter, r *http.Request) error {
	var in driverhub.BindingInput
	if r.ContentLength != 0 {
		if err := decode(w, r, &in); err != nil {
			return err
		}
	}
	b, err := s.instances.Bind(r.Context(), r.PathValue("instance"), r.PathValue("driver"), in)
	return answer(w, http.StatusOK, b, err)
}

func (s *Server) unbind(w http.ResponseWriter, r *http.Request) error {
	return noContent(w, s.instances.Unbind(r.Context(), r.PathValue("instance"), r.PathValue("driver")))
}

func (s *Server) getBindingConfig(w http.ResponseWriter, r *http.Request) error {
	b, err := s.instances.GetBinding(r.Context(), r.PathValue("instance"), r.PathValue("driver"))
	if err != nil {
		return err
	}
	if b.Config == nil {
		return driverhub.Errorf(driverhub.ENotFound, "driver %s on instance %s has no instance driver config: the version's default applies", b.Driver, r.PathValue("instance"))
	}
	writeJSON(w, http.StatusOK, b.Config)
	return nil
}

func (s *Server) putBindingConfig(w http.ResponseWriter, r *http.Request) error {
	var cfg driverhub.DriverConfig
	if err := decode(w, r, &cfg); err != nil {
		return err
	}
	b, err := s.instances.SetBindingConfig(r.Context(), r.PathValue("instance"), r.PathValue("driver"), cfg)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, b.Config)
	return nil
}

func (s *Server) deleteBindingConfig(w http.ResponseWriter, r *http.Request) error {
	return noContent(w, s.instances.DeleteBindingConfig(r.Context(), r.PathValue("instance"), r.PathValue("driver")))
}

func (s *Server) putBindingConfigFile(w http.ResponseWriter, r *http.Request) error {
	body, err := upload(r, driverhub.MaxConfigFileBytes, "body")
	if err != nil {
		return err
	}
	b, err := s.instances.PutBindingConfigFile(r.Context(), r.PathValue("instance"), r.PathValue("driver"), r.URL.Query().Get("name"), body)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, b.Config)
	return nil
}

func (s *Server) getBindingConfigFile(w http.ResponseWriter, r *http.Request) error {
	d, err := s.instances.OpenBindingConfigFile(r.Context(), r.PathValue("instance"), r.PathValue("driver"))
	if err != nil {
		return err
	}
	s.serveDownload(w, r, d)
	return nil
}

func (s *Server) driverLogs(w http.ResponseWriter, r *http.Request) error {
	tail := 0
	if t := r.URL.Query().Get("tail"); t != "" {
		n, err := strconv.Atoi(t)
		if err != nil || n < 0 || n > driverhub.DriverLogRing {
			return driverhub.Invalid("tail", "must be a whole number from 1 to %d (0 or absent: the last %d)", driverhub.DriverLogRing, driverhub.DefaultLogTail)
		}
		tail = n
	}
	lines, err := s.instances.DriverLogs(r.Context(), r.PathValue("instance"), r.PathValue("driver"), tail)
	return answer(w, http.StatusOK, map[string]any{"lines": lines}, err)
}

func (s *Server) listDevices(w http.ResponseWriter, r *http.Request) error {
	return list(w, r, func(p driverhub.Page) (driverhub.List[*driverhub.Device], error) {
		return s.instances.ListDevices(r.Context(), r.URL.Query().Get("instance"), p)
	})
}

func (s *Server) listInstanceDevices(w http.ResponseWriter, r *http.Request) error {
	return list(w, r, func(p driverhub.Page) (driverhub.List[*driverhub.Device], error) {
		return s.instances.ListDevices(r.Context(), r.PathValue("instance"), p)
	})
}

func (s *Server) createDevice(w http.ResponseWriter, r *http.Request) error {
	var in driverhub.DeviceInput
	if err := decode(w, r, &in); err != nil {
		return err
	}
	d, err := s.instances.CreateDevice(r.Context(), in)
	return answer(w, http.StatusCreated, d, err)
}

func (s *Server) getDevice(w http.ResponseWriter, r *http.Request) error {
	d, err := s.instances.GetDevice(r.Context(), r.PathValue("product"), r.PathValue("name"))
	return answer(w, http.StatusOK, d, err)
}

func (s *Server) deleteDevice(w http.ResponseWriter, r *http.Request) error {
	return noContent(w, s.instances.DeleteDevice(r.Context(), r.PathValue("product"), r.PathValue("name")))
}

func (s *Server) associateDevice(w http.ResponseWriter, r *http.Request) error {
	var in driverhub.DeviceAssociation
	if err := decode(w, r, &in); err != nil {
		return err
	}
	d, err := s.instances.AssociateDevice(r.Context(), r.PathValue("instance"), r.PathValue("product"), r.PathValue("name"), in)
	return answer(w, http.StatusOK, d, err)
}

func (s *Server) dissociateDevice(w http.ResponseWriter, r *http.Request) error {
	return noContent(w, s.instances.DissociateDevice(r.Context(), r.PathValue("instance"), r.PathValue("product"), r.PathValue("name")))
}

func (s *Server) listDeployments(w http.ResponseWriter, r *http.Request) error {
	return list(w, r, func(p driverhub.Page) (driverhub.List[*driverhub.Deployment], error) {
		return s.deployments.ListDeployments(r.Context(), r.PathValue("instance"), p)
	})
}

func (s *Server) createDeployment(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Type driverhub.DeployType `json:"type"`
	}
	if r.ContentLength != 0 {
		if err := decode(w, r, &in); err != nil {
			return err
		}
	}
	d, err := s.deployments.CreateDeployment(r.Context(), r.PathValue("instance"), in.Type)
	return answer(w, http.StatusCreated, d, err)
}

func (s *Server) getDeployment(w http.ResponseWriter, r *http.Request) error {
	d, err := s.deployments.GetDeployment(r.Context(), r.PathValue("instance"), r.PathValue("id"))
	return answer(w, http.StatusOK, d, err)
}

func (s *Server) closeDeployment(w http.ResponseWriter, r *http.Request) error {
	d, err := s.deployments.CloseDeployment(r.Context(), r.PathValue("instance"), r.PathValue("id"))
	return answer(w, http.StatusOK, d, err)
}
