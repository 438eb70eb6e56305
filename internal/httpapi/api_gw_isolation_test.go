package httpapi_test

import (
	"bytes"
	"net/http"
	"testing"

	"github.com/driverhub/driverhub/internal/apitest"
)

func TestGWIsolationGatewaySecret(t *testing.T) {
	s := apitest.New(t)
	a := s.AdminToken
	ga := gwDeployable(t, s, a, "A")
	gb := gwNewInstance(t, s, a, "B")
	pb := gwPublishedPython(t, s, a, "OnlyB", "1.0", nil)
	gwBind(t, s, a, "B", "OnlyB", nil)
	idB := gwStr(gwDeploy(t, s, a, "B", "deploy"), "id")
	gwDeploy(t, s, a, "A", "deploy")

	// Its own instance's blobs only.
	wantError(t, ga.do(t, "GET", "/api/v1/gateway/blobs/"+sha256Hex(pb), nil), http.StatusNotFound, "not_found", "")
	if r := gb.do(t, "GET", "/api/v1/gateway/blobs/"+sha256Hex(pb), nil); r.Status != http.StatusOK || !bytes.Equal(r.Body, pb) {
		t.Errorf("B's gateway, its own blob: %d", r.Status)
	}
	// Its own instance's deployments only.
	wantError(t, ga.do(t, "POST", "/api/v1/gateway/report", map[string]any{"deployment": map[string]any{"id": idB, "status": "failed"}}),
		http.StatusNotFound, "not_found", "")
	gwWantStatus(t, s, a, "B", idB, "pending")
	wantError(t, ga.do(t, "POST", "/api/v1/gateway/logs", map[string]any{"driver": "OnlyB", "lines": gwLogLines(0, 1)}), http.StatusNotFound, "not_found", "")
	diff(t, "A's manifest", false, ga.manifest(t)["deployment_id"] == idB)

	// No user endpoint, not even its own instance.
	for _, p := range []string{"/api/v1/drivers", "/api/v1/instances", gwInstPath("A"), gwDeploymentsPath("A"), "/api/v1/devices", "/api/v1/marketplace",
		"/api/v1/drivers/OnlyB/versions/1.0/package"} {
		wantError(t, ga.do(t, "GET", p, nil), http.StatusUnauthorized, "unauthenticated", "")
	}
	wantError(t, ga.do(t, "POST", gwDeploymentsPath("A"), `{"type":"reset"}`), http.StatusUnauthorized, "unauthenticated", "")
	wantError(t, ga.do(t, "POST", gwInstPath("A")+"/gateway/rotate-secret", nil), http.StatusUnauthorized, "unauthenticated", "")
}

func TestGWIsolationUserToken(t *testing.T) {
	s := apitest.New(t)
	a := s.AdminToken
	g := gwDeployable(t, s, a, "A")
	pkg := gwPublishedPython(t, s, a, "Other", "1.0", nil)
	gwBind(t, s, a, "A", "Other", nil)
	gwDeploy(t, s, a, "A", "deploy")
	dev := s.Token(t, a, "developer")
	user := &gwSim{s: s, secret: a}
	developer := &gwSim{s: s, secret: dev}
	none := &gwSim{s: s}
	bogus := &gwSim{s: s, secret: "dhg_" + sha256Hex([]byte("guess"))}
	for name, c := range map[string]*gwSim{"admin token": user, "developer token": developer, "no credential": none, "unknown secret": bogus} {
		t.Run(name, func(t *testing.T) {
			wantError(t, c.desired(t, "", ""), http.StatusUnauthorized, "unauthenticated", "")
			wantError(t, c.do(t, "GET", "/api/v1/gateway/blobs/"+sha256Hex(pkg), nil), http.StatusUnauthorized, "unauthenticated", "")
			wantError(t, c.do(t, "POST", "/api/v1/gateway/report", map[string]any{}), http.StatusUnauthorized, "unauthenticated", "")
			wantError(t, c.do(t, "POST", "/api/v1/gateway/logs", map[string]any{"driver": "Drv", "lines": gwLogLines(0, 1)}), http.StatusUnauthorized, "unauthenticated", "")
		})
	}
	diff(t, "gateway view untouched", nil, gwGatewayView(t, s, a, "A")["last_seen_at"])
	g.manifest(t)
}

func TestGWIsolationTenants(t *testing.T) {
	s := apitest.New(t)
	a := s.AdminToken
	g := gwDeployable(t, s, a, "A")
	gwNewDevice(t, s, a, "pump", "p1")
	gwAssociate(t, s, a, "A", "pump", "p1", "Drv", map[string]any{"secret": "of tenant 1"})
	s.Must(t, http.StatusOK, "PUT", gwBindingPath("A", "Drv")+"/config", a, `{"format":"kv","kv":[]}`)
	id := gwStr(gwDeploy(t, s, a, "A", "deploy"), "id")
	g.manifest(t)
	g.do(t, "POST", "/api/v1/gateway/logs", map[string]any{"driver": "Drv", "lines": gwLogLines(0, 5)})

	other := s.NewTenant(t, "other")
	steps := []struct {
		method, path string
		body         any
	}{
		{"GET", gwInstPath("A"), nil},
		{"PATCH", gwInstPath("A"), map[string]any{"description": "mine"}},
		{"DELETE", gwInstPath("A"), nil},
		{"POST", gwInstPath("A") + "/gateway/rotate-secret", nil},
		{"GET", gwInstPath("A") + "/drivers", nil},
		{"GET", gwBindingPath("A", "Drv"), nil},
		{"PUT", gwBindingPath("A", "Drv"), nil},
		{"DELETE", gwBindingPath("A", "Drv"), nil},
		{"GET", gwBindingPath("A", "Drv") + "/config", nil},
		{"PUT", gwBindingPath("A", "Drv") + "/config", map[string]any{"format": "kv", "kv": []any{}}},
		{"DELETE", gwBindingPath("A", "Drv") + "/config", nil},
		{"PUT", gwBindingPath("A", "Drv") + "/config-file?name=x.ini", "x"},
		{"GET", gwBindingPath("A", "Drv") + "/logs", nil},
		{"GET", gwDevicePath("pump", "p1"), nil},
		{"DELETE", gwDevicePath("pump", "p1"), nil},
		{"GET", "/api/v1/devices?instance=A", nil},
		{"GET", gwInstPath("A") + "/devices", nil},
		{"PUT", gwAssocPath("A", "pump", "p1"), map[string]any{"driver": "Drv"}},
		{"DELETE", gwAssocPath("A", "pump", "p1"), nil},
		{"GET", gwDeploymentsPath("A"), nil},
		{"POST", gwDeploymentsPath("A"), map[string]any{"type": "reset"}},
		{"GET", gwDeploymentsPath("A") + "/" + id, nil},
		{"POST", gwDeploymentsPath("A") + "/" + id + "/close", nil},
	}
	for _, st := range steps {
		wantError(t, s.Do(t, st.method, st.path, other, st.body), http.StatusNotFound, "not_found", "")
	}
	// Its lists hold nothing of the first tenant.
	for _, p := range []string{"/api/v1/instances", "/api/v1/devices"} {
		got, _ := listAll(t, s, other, p+"?limit=500", "name")
		diff(t, p, []string(nil), got)
	}

	// The same names are free in the other tenant, and still private.
	gwNewInstance(t, s, other, "A")
	gwNewDevice(t, s, other, "pump", "p1")
	gwPublishedPython(t, s, other, "Drv", "1.0", nil)
	gwBind(t, s, other, "A", "Drv", nil)
	wantError(t, s.Do(t, "GET", gwDeploymentsPath("A")+"/"+id, other, nil), http.StatusNotFound, "not_found", "")
	wantError(t, s.Do(t, "POST", gwDeploymentsPath("A")+"/"+id+"/close", other, nil), http.StatusNotFound, "not_found", "")
	diff(t, "other's logs", []string{}, gwTailTexts(t, s, other, "A", "Drv", ""))
	diff(t, "other's device", nil, object(t, s.Must(t, http.StatusOK, "GET", gwDevicePath("pump", "p1"), other, nil))["config"])

	// Nothing of the first tenant changed.
	gwWantStatus(t, s, a, "A", id, "processing")
	diff(t, "device config kept", map[string]any{"secret": "of tenant 1"}, object(t, s.Must(t, http.StatusOK, "GET", gwDevicePath("pump", "p1"), a, nil))["config"])
	diff(t, "logs kept", 5, len(gwTailTexts(t, s, a, "A", "Drv", "")))
	g.manifest(t)
}
