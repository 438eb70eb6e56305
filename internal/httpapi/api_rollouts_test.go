package httpapi_test

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/driverhub/driverhub/internal/apitest"
)

// The API of rollouts: what HTTP adds to the rules the service tests
// check. The server's own loop drives the rollouts here, woken by the
// simulated gateways' reports.

// roFleet creates driver meter with versions 1 and 2 published and n
// instances gw0… tagged site=sh with meter 1 bound; it returns their gateways.
func roFleet(t *testing.T, s *apitest.Server, token string, n int) []*gwSim {
	t.Helper()
	gwPublishedPython(t, s, token, "meter", "1", nil)
	gwPublishedPython(t, s, token, "meter", "2", nil)
	var gws []*gwSim
	for k := range n {
		name := fmt.Sprintf("gw%d", k)
		m := object(t, s.Must(t, http.StatusCreated, "POST", "/api/v1/instances", token,
			map[string]any{"name": name, "tags": map[string]string{"site": "sh"}}))
		gws = append(gws, &gwSim{s: s, secret: gwStr(m, "gateway_secret")})
		gwBind(t, s, token, name, "meter", map[string]any{"version": "1"})
	}
	return gws
}

// roAwait polls the rollout until cond holds, and fails after 10 s: the
// server's loop acts on each report within milliseconds.
func roAwait(t *testing.T, s *apitest.Server, token, id, what string, cond func(map[string]any) bool) map[string]any {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		r := object(t, s.Must(t, http.StatusOK, "GET", "/api/v1/rollouts/"+id, token, nil))
		if cond(r) {
			return r
		}
		if time.Now().After(deadline) {
			t.Fatalf("rollout %s: not %s after 10 s: %v", id, what, r)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// roAnswer has each gateway fetch its desired state and report status for it.
func roAnswer(t *testing.T, gws []*gwSim, status string) {
	t.Helper()
	for _, g := range gws {
		m := g.manifest(t)
		g.reportDeployment(t, gwStr(m, "deployment_id"), status)
	}
}

func roCount(r map[string]any, state string) int {
	n, _ := r["counts"].(map[string]any)[state].(float64)
	return int(n)
}

func TestAPIRolloutRunsToSuccess(t *testing.T) {
	s := apitest.New(t)
	token := s.AdminToken
	gws := roFleet(t, s, token, 4)
	created := object(t, s.Must(t, http.StatusCreated, "POST", "/api/v1/rollouts", token, map[string]any{
		"name": "meter 2 to sh", "driver": "meter", "version": "2", "selector": map[string]any{"tags": map[string]string{"site": "sh"}},
		"waves": []int{50, 100}, "success_threshold": 100, "failure_threshold": 0, "wave_timeout": "30m", "on_abort": "rollback"}))
	id := gwStr(created, "id")
	if created["state"] != "running" || created["wave_timeout"] != "30m" || created["current_wave"] != float64(1) || len(created["waves"].([]any)) != 2 {
		t.Errorf("created: %v", created)
	}
	roAwait(t, s, token, id, "deploying wave 1", func(r map[string]any) bool { return roCount(r, "pending") == 2 })
	roAnswer(t, gws[:2], "succeeded")
	roAwait(t, s, token, id, "deploying wave 2", func(r map[string]any) bool { return roCount(r, "pending") == 2 && r["current_wave"] == float64(2) })
	roAnswer(t, gws[2:], "succeeded")
	done := roAwait(t, s, token, id, "succeeded", func(r map[string]any) bool { return r["state"] == "succeeded" })
	wantTimestamp(t, "finished_at", done["finished_at"])
	events, _ := done["events"].([]any)
	var types []string
	for _, e := range events {
		types = append(types, gwStr(e.(map[string]any), "type"))
	}
	diff(t, "event types", []string{"created", "wave_started", "wave_succeeded", "wave_started", "wave_succeeded", "succeeded"}, types)

	list := object(t, s.Must(t, http.StatusOK, "GET", "/api/v1/rollouts?limit=10", token, nil))
	items := list["items"].([]any)
	if len(items) != 1 || gwStr(items[0].(map[string]any), "id") != id || items[0].(map[string]any)["events"] != nil {
		t.Errorf("list: %v", list)
	}
	targets := object(t, s.Must(t, http.StatusOK, "GET", "/api/v1/rollouts/"+id+"/targets?state=succeeded&limit=3", token, nil))
	if len(targets["items"].([]any)) != 3 || gwStr(targets, "next_cursor") == "" {
		t.Errorf("first page of succeeded targets: %v", targets)
	}
	first := targets["items"].([]any)[0].(map[string]any)
	if first["instance"] != "gw0" || first["wave"] != float64(1) || gwStr(first, "deployment_id") == "" || first["previous_version"] != "1" {
		t.Errorf("target gw0: %v", first)
	}
	wantError(t, s.Do(t, "GET", "/api/v1/rollouts/"+id+"/targets?state=gone", token, nil), http.StatusBadRequest, "invalid_argument", "state")
	wantError(t, s.Do(t, "POST", "/api/v1/rollouts/"+id+"/pause", token, nil), http.StatusConflict, "conflict", "")

	body := s.Must(t, http.StatusOK, "GET", "/metrics", s.AdminToken, nil).Body // a system admin's token
	for _, want := range []string{`driverhub_rollouts{state="succeeded"} 1`, `driverhub_rollouts{state="running"} 0`, `driverhub_rollout_targets{state="waiting"} 0`} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}

func TestAPIRolloutAbortsAndRollsBack(t *testing.T) {
	s := apitest.New(t)
	token := s.AdminToken
	gws := roFleet(t, s, token, 4)
	r := object(t, s.Must(t, http.StatusCreated, "POST", "/api/v1/rollouts", token, map[string]any{
		"name": "meter 2", "driver": "meter", "version": "2", "selector": map[string]any{"instances": []string{"gw0", "gw1", "gw2", "gw3"}},
		"waves": []int{50, 100}}))
	id := gwStr(r, "id")
	roAwait(t, s, token, id, "deploying wave 1", func(r map[string]any) bool { return roCount(r, "pending") == 2 })
	roAnswer(t, gws[:1], "failed")
	done := roAwait(t, s, token, id, "rolled back", func(r map[string]any) bool { return roCount(r, "rolled_back") == 2 })
	if done["state"] != "aborted" || !strings.Contains(gwStr(done, "reason"), "1 of 2 targets failed") {
		t.Errorf("aborted rollout: %v", done)
	}
	for _, name := range []string{"gw0", "gw1"} {
		if b := object(t, s.Must(t, http.StatusOK, "GET", gwBindingPath(name, "meter"), token, nil)); b["version"] != "1" {
			t.Errorf("%s bound to %v after the rollback, want 1", name, b["version"])
		}
	}
	m := gws[1].manifest(t)
	drivers := m["drivers"].([]any)
	if drivers[0].(map[string]any)["version"] != "1" {
		t.Errorf("gw1's desired state after the rollback: %v", m)
	}
	failed := object(t, s.Must(t, http.StatusOK, "GET", "/api/v1/rollouts/"+id+"/targets?state=waiting", token, nil))
	if n := len(failed["items"].([]any)); n != 2 {
		t.Errorf("waiting targets after the abort: %d, want wave 2's 2 untouched", n)
	}
}

func TestAPIRolloutRefusals(t *testing.T) {
	s := apitest.New(t)
	token := s.AdminToken
	roFleet(t, s, token, 2)
	bad := s.Do(t, "POST", "/api/v1/rollouts", token, map[string]any{"name": "", "driver": "meter", "version": "2",
		"selector": map[string]any{}, "waves": []int{10, 5}, "failure_threshold": 150, "wave_timeout": "soon"})
	e := wantError(t, bad, http.StatusBadRequest, "invalid_argument", "name")
	var fields []string
	for _, p := range e.Problems {
		fields = append(fields, p.Field)
	}
	diff(t, "fields of the 400", []string{"name", "selector", "waves[1]", "failure_threshold", "wave_timeout"}, fields)

	wantError(t, s.Do(t, "POST", "/api/v1/rollouts", token, map[string]any{"name": "x", "driver": "meter", "version": "2",
		"selector": map[string]any{"tags": map[string]string{}}, "colour": "blue"}), http.StatusBadRequest, "invalid_argument", "colour")
	none := s.Do(t, "POST", "/api/v1/rollouts", token, map[string]any{"name": "x", "driver": "meter", "version": "2",
		"selector": map[string]any{"tags": map[string]string{"site": "mars"}}})
	if codes := gwProblemCodes(t, none); !slices.Equal(codes, []string{"no_targets"}) {
		t.Errorf("422 codes %v", codes)
	}
	wantError(t, s.Do(t, "POST", "/api/v1/rollouts", token, map[string]any{"name": "x", "driver": "meter", "version": "7",
		"selector": map[string]any{"tags": map[string]string{}}}), http.StatusNotFound, "not_found", "")
	first := object(t, s.Must(t, http.StatusCreated, "POST", "/api/v1/rollouts", token, map[string]any{"name": "a", "driver": "meter",
		"version": "2", "selector": map[string]any{"instances": []string{"gw0"}}, "paused": true}))
	if first["state"] != "paused" || first["wave_started_at"] != nil {
		t.Errorf("created paused: %v", first)
	}
	wantError(t, s.Do(t, "POST", "/api/v1/rollouts", token, map[string]any{"name": "b", "driver": "meter", "version": "2",
		"selector": map[string]any{"tags": map[string]string{}}}), http.StatusConflict, "conflict", "")
	resumed := object(t, s.Must(t, http.StatusOK, "POST", "/api/v1/rollouts/"+gwStr(first, "id")+"/resume", token, nil))
	if resumed["state"] != "running" || resumed["wave_started_at"] == nil {
		t.Errorf("resumed: %v", resumed)
	}
	cancelled := object(t, s.Must(t, http.StatusOK, "POST", "/api/v1/rollouts/"+gwStr(first, "id")+"/cancel", token, nil))
	if cancelled["state"] != "cancelled" || !strings.Contains(gwStr(cancelled, "reason"), "cancelled by admin") {
		t.Errorf("cancelled: %v", cancelled)
	}
	wantError(t, s.Do(t, "GET", "/api/v1/rollouts/nope", token, nil), http.StatusNotFound, "not_found", "")
	viewer := newUser(t, s, token, "watcher", "viewer")
	wantError(t, s.Do(t, "POST", "/api/v1/rollouts/"+gwStr(first, "id")+"/pause", viewer, nil), http.StatusForbidden, "permission_denied", "")
	s.Must(t, http.StatusOK, "GET", "/api/v1/rollouts/"+gwStr(first, "id"), viewer, nil)
}
