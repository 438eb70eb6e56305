package httpapi

import (
	"net/http"

	"github.com/driverhub/driverhub"
)

func (s *Server) createTenant(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Name string `json:"name"`
	}
	if err := decode(w, r, &in); err != nil {
		return err
	}
	t, err := s.accounts.CreateTenant(r.Context(), in.Name)
	return answer(w, http.StatusCreated, t, err)
}

func (s *Server) listUsers(w http.ResponseWriter, r *http.Request) error {
	return list(w, r, func(p driverhub.Page) (driverhub.List[*driverhub.User], error) {
		return s.accounts.ListUsers(r.Context(), p)
	})
}

func (s *Server) createUser(w http.ResponseWriter, r *http.Request) error {
	var in driverhub.UserInput
	if err := decode(w, r, &in); err != nil {
		return err
	}
	u, err := s.accounts.CreateUser(r.Context(), in)
	return answer(w, http.StatusCreated, u, err)
}

func (s *Server) getUser(w http.ResponseWriter, r *http.Request) error {
	u, err := s.accounts.GetUser(r.Context(), r.PathValue("username"))
	return answer(w, http.StatusOK, u, err)
}

func (s *Server) updateUser(w http.ResponseWriter, r *http.Request) error {
	var in driverhub.UserInput
	if err := decode(w, r, &in); err != nil {
		return err
	}
	u, err := s.accounts.UpdateUser(r.Context(), r.PathValue("username"), in)
	return answer(w, http.StatusOK, u, err)
}

func (s *Server) deleteUser(w http.ResponseWriter, r *http.Request) error {
	return noContent(w, s.accounts.DeleteUser(r.Context(), r.PathValue("username")))
}

func (s *Server) listTokens(w http.ResponseWriter, r *http.Request) error {
	return list(w, r, func(p driverhub.Page) (driverhub.List[*driverhub.Token], error) {
		return s.accounts.ListTokens(r.Context(), p)
	})
}

func (s *Server) createToken(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Name string         `json:"name"`
		Role driverhub.Role `json:"role"`
	}
	if err := decode(w, r, &in); err != nil {
		return err
	}
	k, err := s.accounts.CreateToken(r.Context(), in.Name, in.Role)
	return answer(w, http.StatusCreated, k, err)
}

func (s *Server) getToken(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	// Tokens are few per tenant; the list is filtered by what the caller may see.
	p := driverhub.Page{Limit: driverhub.MaxPageLimit}
	for {
		l, err := s.accounts.ListTokens(r.Context(), p)
		if err != nil {
			return err
		}
		for _, k := range l.Items {
			if k.ID == id {
				writeJSON(w, http.StatusOK, k)
				return nil
			}
		}
		if l.NextCursor == "" {
			return driverhub.NotFound("token", id)
		}
		p.Cursor = l.NextCursor
	}
}

func (s *Server) revokeToken(w http.ResponseWriter, r *http.Request) error {
	return noContent(w, s.accounts.RevokeToken(r.Context(), r.PathValue("id")))
}
