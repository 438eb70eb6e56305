package httpapi

import (
	"context"
	"net/http"

	"github.com/driverhub/driverhub"
)

// Fleet rollouts (SPEC §10).

func (s *Server) routesRollouts() {
	s.handle("GET /api/v1/rollouts", user, s.listRollouts)
	s.handle("POST /api/v1/rollouts", user, s.createRollout)
	s.handle("GET /api/v1/rollouts/{id}", user, s.getRollout)
	s.handle("GET /api/v1/rollouts/{id}/targets", user, s.listRolloutTargets)
	s.handle("POST /api/v1/rollouts/{id}/pause", user, s.rolloutAction(driverhub.RolloutService.PauseRollout))
	s.handle("POST /api/v1/rollouts/{id}/resume", user, s.rolloutAction(driverhub.RolloutService.ResumeRollout))
	s.handle("POST /api/v1/rollouts/{id}/cancel", user, s.rolloutAction(driverhub.RolloutService.CancelRollout))
}

func (s *Server) listRollouts(w http.ResponseWriter, r *http.Request) error {
	return list(w, r, func(p driverhub.Page) (driverhub.List[*driverhub.Rollout], error) {
		return s.rollouts.ListRollouts(r.Context(), p)
	})
}

func (s *Server) createRollout(w http.ResponseWriter, r *http.Request) error {
	var in driverhub.RolloutInput
	if err := decode(w, r, &in); err != nil {
		return err
	}
	ro, err := s.rollouts.CreateRollout(r.Context(), in)
	return answer(w, http.StatusCreated, ro, err)
}

func (s *Server) getRollout(w http.ResponseWriter, r *http.Request) error {
	ro, err := s.rollouts.GetRollout(r.Context(), r.PathValue("id"))
	return answer(w, http.StatusOK, ro, err)
}

func (s *Server) listRolloutTargets(w http.ResponseWriter, r *http.Request) error {
	state := driverhub.TargetState(r.URL.Query().Get("state"))
	return list(w, r, func(p driverhub.Page) (driverhub.List[*driverhub.RolloutTarget], error) {
		return s.rollouts.ListRolloutTargets(r.Context(), r.PathValue("id"), state, p)
	})
}

// rolloutAction answers a pause, resume or cancel with the rollout's view.
func (s *Server) rolloutAction(act func(driverhub.RolloutService, context.Context, string) (*driverhub.Rollout, error)) func(http.ResponseWriter, *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		ro, err := act(s.rollouts, r.Context(), r.PathValue("id"))
		return answer(w, http.StatusOK, ro, err)
	}
}
