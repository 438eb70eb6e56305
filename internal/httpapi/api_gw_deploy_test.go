package httpapi_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/driverhub/driverhub/internal/apitest"
)

// gwDeployable makes an instance with one bound published driver and returns its gateway.
func gwDeployable(t testing.TB, s *apitest.Server, a, inst string) *gwSim {
	t.Helper()
	g := gwNewInstance(t, s, a, inst)
	if s.Do(t, "GET", driverPath("Drv"), a, nil).Status == http.StatusNotFound {
		gwPublishedPython(t, s, a, "Drv", "1.0", nil)
	}
	gwBind(t, s, a, inst, "Drv", nil)
	return g
}

func TestGWDeploymentSucceeds(t *testing.T) {
	s, clock := gwServer(t, 0)
	a := s.AdminToken
	g := gwDeployable(t, s, a, "ok")
	gwNewDevice(t, s, a, "pump", "p1")
	gwAssociate(t, s, a, "ok", "pump", "p1", "Drv", map[string]any{"x": 1})

	d := gwDeploy(t, s, a, "ok", "deploy")
	id := gwStr(d, "id")
	var types []string
	for _, r := range d["resources"].([]any) {
		r := r.(map[string]any)
		types = append(types, gwStr(r, "type")+" "+gwStr(r, "name"))
	}
	diff(t, "resources of a new deployment", []string{"driver Drv", "driver_config Drv", "device_config pump/p1"}, types)

	clock.Advance(time.Second)
	g.manifest(t)
	v := gwWantStatus(t, s, a, "ok", id, "processing")
	diff(t, "started_at", clock.Now().Format(time.RFC3339), v["started_at"])

	logEntry := map[string]any{"time": clock.Now().Format(time.RFC3339), "level": "info", "stage": "download", "message": "fetched 1 package"}
	g.report(t, map[string]any{"edge_version": "1.0.0", "arch": "x86-64", "deployment": map[string]any{"id": id, "status": "processing",
		"resources": []any{map[string]any{"type": "driver", "name": "Drv", "stage": "download", "status": "processing", "log": []any{logEntry}}}}})
	v = gwWantStatus(t, s, a, "ok", id, "processing")
	res := v["resources"].([]any)[0].(map[string]any)
	diff(t, "reported resource", map[string]any{"type": "driver", "name": "Drv", "stage": "download", "status": "processing", "log": []any{logEntry}}, res)

	second := map[string]any{"time": clock.Now().Format(time.RFC3339), "level": "info", "stage": "start", "message": "running"}
	clock.Advance(2 * time.Second)
	g.report(t, map[string]any{"deployment": map[string]any{"id": id, "status": "succeeded",
		"resources": []any{map[string]any{"type": "driver", "name": "Drv", "stage": "finish", "status": "succeeded", "log": []any{second}}}}})
	v = gwWantStatus(t, s, a, "ok", id, "succeeded")
	diff(t, "finished_at", clock.Now().Format(time.RFC3339), v["finished_at"])
	res = v["resources"].([]any)[0].(map[string]any)
	diff(t, "resource logs accumulate", []any{"finish", "succeeded", []any{logEntry, second}}, []any{res["stage"], res["status"], res["log"]})

	// A finished deployment no longer changes.
	g.reportDeployment(t, id, "failed")
	gwWantStatus(t, s, a, "ok", id, "succeeded")
	wantError(t, s.Do(t, "POST", gwDeploymentsPath("ok")+"/"+id+"/close", a, nil), http.StatusConflict, "conflict", "")
	cur := object(t, s.Must(t, http.StatusOK, "GET", gwInstPath("ok"), a, nil))["current_deployment"].(map[string]any)
	diff(t, "current deployment", []any{id, "succeeded"}, []any{cur["id"], cur["status"]})
}

func TestGWDeploymentFails(t *testing.T) {
	s := apitest.New(t)
	a := s.AdminToken
	g := gwDeployable(t, s, a, "bad")
	id := gwStr(gwDeploy(t, s, a, "bad", "deploy"), "id")
	g.manifest(t)
	g.report(t, map[string]any{"deployment": map[string]any{"id": id, "status": "failed", "reason": "Drv exited at once: rolled back",
		"resources": []any{map[string]any{"type": "driver", "name": "Drv", "stage": "start", "status": "failed",
			"log": []any{map[string]any{"time": time.Now().UTC().Format(time.RFC3339), "level": "error", "stage": "start", "message": "exit 1"}}}}}})
	v := gwWantStatus(t, s, a, "bad", id, "failed")
	if v["finished_at"] == nil {
		t.Error("a failed deployment has no finished_at")
	}
	g.reportDeployment(t, id, "succeeded")
	gwWantStatus(t, s, a, "bad", id, "failed")

	for _, tc := range []struct{ body, field string }{
		{`{"deployment":{"id":"` + id + `","status":"done"}}`, "deployment.status"},
		{`{"deployment":{"id":"` + id + `","status":"pending"}}`, "deployment.status"},
		{`{"deployment":{"id":"` + id + `","status":"processing","resources":[{"type":"driver","name":"Drv","stage":"launch","status":"x"}]}}`, "deployment.resources[0].stage"},
		{`{"deployment":{"id":"` + id + `","status":"processing","resources":[{"type":"binary","name":"Drv","stage":"start","status":"x"}]}}`, "deployment.resources[0].type"},
	} {
		wantError(t, g.do(t, "POST", "/api/v1/gateway/report", tc.body), http.StatusBadRequest, "invalid_argument", tc.field)
	}
}

func TestGWDeploymentSupersede(t *testing.T) {
	s := apitest.New(t)
	a := s.AdminToken
	g := gwDeployable(t, s, a, "sup")

	pending := gwStr(gwDeploy(t, s, a, "sup", "deploy"), "id")
	processing := gwStr(gwDeploy(t, s, a, "sup", "deploy"), "id")
	v := gwWantStatus(t, s, a, "sup", pending, "superseded")
	if v["finished_at"] == nil {
		t.Error("a superseded deployment has no finished_at")
	}
	diff(t, "the gateway gets the newest", processing, g.manifest(t)["deployment_id"])
	gwWantStatus(t, s, a, "sup", processing, "processing")

	latest := gwStr(gwDeploy(t, s, a, "sup", "deploy"), "id")
	gwWantStatus(t, s, a, "sup", processing, "superseded")
	gwWantStatus(t, s, a, "sup", latest, "pending")

	// Reports for superseded deployments change nothing.
	before := gwDeployment(t, s, a, "sup", processing)
	g.report(t, map[string]any{"deployment": map[string]any{"id": processing, "status": "succeeded",
		"resources": []any{map[string]any{"type": "driver", "name": "Drv", "stage": "finish", "status": "succeeded"}}}})
	g.reportDeployment(t, pending, "failed")
	diff(t, "superseded after a report", before, gwDeployment(t, s, a, "sup", processing))
	gwWantStatus(t, s, a, "sup", pending, "superseded")
	gwWantStatus(t, s, a, "sup", latest, "pending")

	// A finished deployment is never superseded.
	diff(t, "fetch latest", latest, g.manifest(t)["deployment_id"])
	g.reportDeployment(t, latest, "succeeded")
	gwDeploy(t, s, a, "sup", "deploy")
	gwWantStatus(t, s, a, "sup", latest, "succeeded")
}

func TestGWDeploymentClose(t *testing.T) {
	s := apitest.New(t)
	a := s.AdminToken
	g := gwDeployable(t, s, a, "cl")
	id := gwStr(gwDeploy(t, s, a, "cl", "deploy"), "id")
	g.manifest(t)

	v := object(t, s.Must(t, http.StatusOK, "POST", gwDeploymentsPath("cl")+"/"+id+"/close", a, nil))
	diff(t, "closed", "closed", v["status"])
	if v["finished_at"] == nil {
		t.Error("a closed deployment has no finished_at")
	}
	g.reportDeployment(t, id, "succeeded")
	gwWantStatus(t, s, a, "cl", id, "closed")
	wantError(t, s.Do(t, "POST", gwDeploymentsPath("cl")+"/"+id+"/close", a, nil), http.StatusConflict, "conflict", "")

	// A pending one closes too.
	pending := gwStr(gwDeploy(t, s, a, "cl", "deploy"), "id")
	s.Must(t, http.StatusOK, "POST", gwDeploymentsPath("cl")+"/"+pending+"/close", a, nil)
	gwWantStatus(t, s, a, "cl", pending, "closed")
	wantError(t, s.Do(t, "POST", gwDeploymentsPath("cl")+"/00000000-0000-7000-8000-000000000000/close", a, nil), http.StatusNotFound, "not_found", "")
	wantError(t, s.Do(t, "GET", gwDeploymentsPath("cl")+"/nope", a, nil), http.StatusNotFound, "not_found", "")
	viewer := s.Token(t, a, "viewer")
	next := gwStr(gwDeploy(t, s, a, "cl", "deploy"), "id")
	wantError(t, s.Do(t, "POST", gwDeploymentsPath("cl")+"/"+next+"/close", viewer, nil), http.StatusForbidden, "permission_denied", "")
	wantError(t, s.Do(t, "POST", gwDeploymentsPath("cl"), viewer, nil), http.StatusForbidden, "permission_denied", "")
}

func TestGWDeploymentTimeout(t *testing.T) {
	s, clock := gwServer(t, 0)
	a := s.AdminToken
	ctx := context.Background()
	g := gwDeployable(t, s, a, "slow")
	gwDeployable(t, s, a, "offline")

	stale := gwStr(gwDeploy(t, s, a, "slow", "deploy"), "id")
	waiting := gwStr(gwDeploy(t, s, a, "offline", "deploy"), "id")
	g.manifest(t)

	clock.Advance(9 * time.Minute)
	if n, err := s.Service.FailStaleDeployments(ctx, 10*time.Minute); err != nil || n != 0 {
		t.Fatalf("before the timeout: failed %d, %v; want 0", n, err)
	}
	gwWantStatus(t, s, a, "slow", stale, "processing")

	clock.Advance(time.Minute + time.Second)
	if n, err := s.Service.FailStaleDeployments(ctx, 10*time.Minute); err != nil || n != 1 {
		t.Fatalf("after the timeout: failed %d, %v; want 1", n, err)
	}
	v := gwWantStatus(t, s, a, "slow", stale, "failed")
	diff(t, "finished_at", clock.Now().Format(time.RFC3339), v["finished_at"])
	if gwStr(v, "reason") == "" {
		t.Error("a timed-out deployment has no reason")
	}
	if n, err := s.Service.FailStaleDeployments(ctx, 10*time.Minute); err != nil || n != 0 {
		t.Errorf("second call: failed %d, %v; want 0", n, err)
	}
	// A late report does not revive it.
	g.reportDeployment(t, stale, "succeeded")
	gwWantStatus(t, s, a, "slow", stale, "failed")

	// An offline gateway's deployment waits, however long.
	clock.Advance(24 * time.Hour)
	if n, _ := s.Service.FailStaleDeployments(ctx, 10*time.Minute); n != 0 {
		t.Errorf("failed %d pending deployments", n)
	}
	gwWantStatus(t, s, a, "offline", waiting, "pending")
	diff(t, "gateway offline", false, gwGatewayView(t, s, a, "offline")["online"])
}

func TestGWDeploymentOfflineGateway(t *testing.T) {
	s, clock := gwServer(t, 5*time.Second)
	a := s.AdminToken
	g := gwDeployable(t, s, a, "later")
	id := gwStr(gwDeploy(t, s, a, "later", "deploy"), "id")
	clock.Advance(time.Hour)
	gwWantStatus(t, s, a, "later", id, "pending")

	m := g.manifest(t)
	diff(t, "the gateway gets it once online", id, m["deployment_id"])
	gwWantStatus(t, s, a, "later", id, "processing")
	diff(t, "online", true, gwGatewayView(t, s, a, "later")["online"])
}

func TestGWDeploymentReset(t *testing.T) {
	s := apitest.New(t)
	a := s.AdminToken
	g := gwDeployable(t, s, a, "rs")
	gwDeploy(t, s, a, "rs", "deploy")
	d := gwDeploy(t, s, a, "rs", "reset")
	diff(t, "reset", []any{"reset", "pending", []any{}}, []any{d["type"], d["status"], d["resources"]})
	diff(t, "manifest", map[string]any{"deployment_id": d["id"], "type": "reset", "drivers": []any{}}, g.manifest(t))
	g.reportDeployment(t, gwStr(d, "id"), "succeeded")
	gwWantStatus(t, s, a, "rs", gwStr(d, "id"), "succeeded")

	wantError(t, s.Do(t, "POST", gwDeploymentsPath("rs"), a, map[string]any{"type": "rollback"}), http.StatusBadRequest, "invalid_argument", "type")
	wantError(t, s.Do(t, "POST", gwDeploymentsPath("nope"), a, map[string]any{"type": "deploy"}), http.StatusNotFound, "not_found", "")
	// No type means deploy.
	diff(t, "default type", "deploy", object(t, s.Must(t, http.StatusCreated, "POST", gwDeploymentsPath("rs"), a, nil))["type"])
	// An instance with nothing bound deploys an empty manifest.
	e := gwNewInstance(t, s, a, "empty")
	d = gwDeploy(t, s, a, "empty", "deploy")
	diff(t, "empty deploy", map[string]any{"deployment_id": d["id"], "type": "deploy", "drivers": []any{}}, e.manifest(t))
}

func TestGWDeploymentHistory(t *testing.T) {
	s := apitest.New(t)
	a := s.AdminToken
	gwDeployable(t, s, a, "hist")
	var ids []string
	for i := 0; i < 7; i++ {
		typ := "deploy"
		if i == 3 {
			typ = "reset"
		}
		ids = append([]string{gwStr(gwDeploy(t, s, a, "hist", typ), "id")}, ids...)
	}
	got, pages := listAll(t, s, a, gwDeploymentsPath("hist")+"?limit=3", "id")
	diff(t, "newest first", ids, got)
	if pages != 3 {
		t.Errorf("%d pages of 3, want 3", pages)
	}
	statuses, _ := listAll(t, s, a, gwDeploymentsPath("hist")+"?limit=500", "status")
	diff(t, "statuses", []string{"pending", "superseded", "superseded", "superseded", "superseded", "superseded", "superseded"}, statuses)
	for _, bad := range []string{"0", "501", "x"} {
		wantError(t, s.Do(t, "GET", gwDeploymentsPath("hist")+"?limit="+bad, a, nil), http.StatusBadRequest, "invalid_argument", "limit")
	}
	wantError(t, s.Do(t, "GET", gwDeploymentsPath("nope"), a, nil), http.StatusNotFound, "not_found", "")
}
