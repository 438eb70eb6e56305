package httpapi

import "net/http"

// getTenant shows the caller's tenant and its use of storage.
func (s *Server) getTenant(w http.ResponseWriter, r *http.Request) error {
	v, err := s.accounts.GetTenant(r.Context())
	return answer(w, http.StatusOK, v, err)
}
