package httpapi_test

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// What HTTP adds to SPEC §12 (the rules are tested in internal/service):
// capabilities on the wire both ways, the isolation_unavailable refusal,
// and the bound and running versions side by side in the list of drivers.

func TestGWCapabilitiesOnTheWire(t *testing.T) {
	s, _ := gwServer(t, 0)
	a := s.AdminToken
	g := gwNewInstance(t, s, a, "cap")
	for _, tc := range []struct {
		body  string
		field string
	}{
		{`{"capabilities":{"runtimes":["process","docker"],"isolation":false,"cgroup":""}}`, "capabilities.runtimes[1]"},
		{`{"capabilities":{"runtimes":["runc"],"isolation":true,"cgroup":"v3"}}`, "capabilities.cgroup"},
		{`{"runtime_versions":{"python3":"3.11\u001b[0m"}}`, "runtime_versions.python3"},
		{`{"capabilities":{"runtimes":[],"isolation":true,"cgroup":"","sandbox":true}}`, ""},
	} {
		wantError(t, g.do(t, "POST", "/api/v1/gateway/report", tc.body), http.StatusBadRequest, "invalid_argument", tc.field)
	}
	diff(t, "capabilities after refusals", nil, gwGatewayView(t, s, a, "cap")["capabilities"])

	g.report(t, `{"edge_version":"1.0.0","capabilities":{"runtimes":["process"],"isolation":false,"cgroup":""},"runtime_versions":{"java":"17.0.9"}}`)
	view := gwGatewayView(t, s, a, "cap")
	diff(t, "capabilities", map[string]any{"runtimes": []any{"process"}, "isolation": false, "cgroup": ""}, view["capabilities"])
	diff(t, "runtime versions", map[string]any{"java": "17.0.9"}, view["runtime_versions"])
}

func TestGWIsolationUnavailable(t *testing.T) {
	s, _ := gwServer(t, 0)
	a := s.AdminToken
	g := gwNewInstance(t, s, a, "iso")
	g.report(t, map[string]any{"edge_version": "1.0.0", "capabilities": map[string]any{"runtimes": []string{"process"}, "isolation": false, "cgroup": "v2"}})
	newDriver(t, s, a, "Walled", "python3")
	gwNewVersionWith(t, s, a, "Walled", "1.0", map[string]any{"container": map[string]any{"host_network": false,
		"volume_mappings": []any{map[string]any{"host_path": "/srv/plc", "container_path": "/data", "permission": "ro"}}}})
	gwUploadPackage(t, s, a, "Walled", "1.0", pyPackage(t, "print('walled')\n"))
	gwPublish(t, s, a, "Walled", "1.0")
	gwBind(t, s, a, "iso", "Walled", nil)

	e := wantError(t, s.Do(t, "POST", gwDeploymentsPath("iso"), a, map[string]any{"type": "deploy"}),
		http.StatusUnprocessableEntity, "failed_precondition", "")
	if len(e.Problems) != 1 || e.Problems[0].Code != "isolation_unavailable" || e.Problems[0].Resource != "driver Walled" {
		t.Fatalf("problems %+v, want isolation_unavailable of driver Walled", e.Problems)
	}
	for _, part := range []string{"host_network", "volume_mappings"} {
		if !strings.Contains(e.Problems[0].Message, part) {
			t.Errorf("message %q does not name %s", e.Problems[0].Message, part)
		}
	}
}

func TestGWDriverListShowsTheRunningVersion(t *testing.T) {
	const poll = 10 * time.Second
	s, clock := gwServer(t, poll)
	a := s.AdminToken
	g := gwDeployable(t, s, a, "list")
	gwPublishedPython(t, s, a, "Drv", "2.0", nil)
	gwBind(t, s, a, "list", "Drv", map[string]any{"version": "2.0"})
	g.report(t, map[string]any{"drivers": []any{map[string]any{"name": "Drv", "version": "1.0", "state": "running"}}})

	item := func() (version, running string, stale any) {
		var l struct {
			Items []map[string]any `json:"items"`
		}
		s.Must(t, http.StatusOK, "GET", gwInstPath("list")+"/drivers", a, nil).Decode(t, &l)
		if len(l.Items) != 1 {
			t.Fatalf("drivers %+v, want Drv alone", l.Items)
		}
		rt, _ := l.Items[0]["runtime"].(map[string]any)
		return gwStr(l.Items[0], "version"), gwStr(rt, "version"), rt["stale"]
	}
	v, running, stale := item()
	diff(t, "bound, running, stale", []any{"2.0", "1.0", false}, []any{v, running, stale})
	clock.Advance(3*poll + time.Second)
	v, running, stale = item()
	diff(t, "bound, running, stale once offline", []any{"2.0", "1.0", true}, []any{v, running, stale})
	got := object(t, s.Must(t, http.StatusOK, "GET", gwBindingPath("list", "Drv"), a, nil))["runtime"].(map[string]any)
	diff(t, "binding view once offline", true, got["stale"])
}
