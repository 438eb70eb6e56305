package httpapi

import (
	"net/http"

	"github.com/driverhub/driverhub"
)

func (s *Server) putListing(w http.ResponseWriter, r *http.Request) error {
	var in driverhub.ListingInput
	if err := decode(w, r, &in); err != nil {
		return err
	}
	l, err := s.market.PutListing(r.Context(), r.PathValue("driver"), in)
	return answer(w, http.StatusOK, l, err)
}

func (s *Server) deleteListing(w http.ResponseWriter, r *http.Request) error {
	return noContent(w, s.market.DeleteListing(r.Context(), r.PathValue("driver")))
}

func (s *Server) listMarket(w http.ResponseWriter, r *http.Request) error {
	return list(w, r, func(p driverhub.Page) (driverhub.List[*driverhub.Listing], error) {
		return s.market.ListMarket(r.Context(), p)
	})
}

func (s *Server) getMarketDriver(w http.ResponseWriter, r *http.Request) error {
	m, err := s.market.GetMarketDriver(r.Context(), r.PathValue("publisher"), r.PathValue("driver"))
	return answer(w, http.StatusOK, m, err)
}

func (s *Server) acquire(w http.ResponseWriter, r *http.Request) error {
	a, err := s.market.Acquire(r.Context(), r.PathValue("publisher"), r.PathValue("driver"))
	return answer(w, http.StatusOK, a, err)
}

func (s *Server) getMarketPackage(w http.ResponseWriter, r *http.Request) error {
	d, err := s.market.OpenMarketPackage(r.Context(), r.PathValue("publisher"), r.PathValue("driver"), r.PathValue("version"))
	if err != nil {
		return err
	}
	s.serveDownload(w, r, d)
	return nil
}

func (s *Server) listAcquisitions(w http.ResponseWriter, r *http.Request) error {
	return list(w, r, func(p driverhub.Page) (driverhub.List[*driverhub.Acquisition], error) {
		return s.market.ListAcquisitions(r.Context(), p)
	})
}
