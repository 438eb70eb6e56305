package httpapi_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/driverhub/driverhub/internal/apitest"
)

func TestGWInstanceCreate(t *testing.T) {
	s := apitest.New(t)
	a := s.AdminToken

	created := object(t, s.Must(t, http.StatusCreated, "POST", "/api/v1/instances", a,
		map[string]any{"name": "plant-1", "description": "line 1", "tags": map[string]string{"site": "sz"}}))
	secret := gwStr(created, "gateway_secret")
	if !strings.HasPrefix(secret, "dhg_") || len(secret) < 20 {
		t.Errorf("gateway_secret %q, want a long dhg_… secret", secret)
	}
	diff(t, "created fields", []any{"plant-1", "line 1", map[string]any{"site": "sz"}},
		[]any{created["name"], created["description"], created["tags"]})
	diff(t, "gateway before any sync",
		map[string]any{"online": false, "last_seen_at": nil, "edge_version": "", "arch": "", "builtin_drivers": []any{}, "capabilities": nil},
		created["gateway"])

	got := object(t, s.Must(t, http.StatusOK, "GET", gwInstPath("plant-1"), a, nil))
	if _, ok := got["gateway_secret"]; ok {
		t.Errorf("GET shows the gateway secret: %v", got)
	}
	if _, ok := got["current_deployment"]; !ok || got["current_deployment"] != nil {
		t.Errorf("current_deployment = %v, want null before any deployment", got["current_deployment"])
	}
	list := s.Must(t, http.StatusOK, "GET", "/api/v1/instances", a, nil)
	if strings.Contains(string(list.Body), "gateway_secret") || strings.Contains(string(list.Body), secret) {
		t.Errorf("the list shows the gateway secret: %s", list.Body)
	}
	names, _ := listAll(t, s, a, "/api/v1/instances?limit=10", "name")
	diff(t, "listed", []string{"plant-1"}, names)

	wantError(t, s.Do(t, "POST", "/api/v1/instances", a, map[string]any{"name": "plant-1"}), http.StatusConflict, "conflict", "")
	wantError(t, s.Do(t, "POST", "/api/v1/instances", a, map[string]any{"description": "no name"}), http.StatusBadRequest, "invalid_argument", "name")
}

func TestGWInstanceRules(t *testing.T) {
	s := apitest.New(t)
	a := s.AdminToken
	tags := func(n int) map[string]string {
		m := map[string]string{}
		for i := 0; i < n; i++ {
			m[fmt.Sprintf("k%02d", i)] = "v"
		}
		return m
	}
	tests := []struct {
		name  string
		body  map[string]any
		field string // "" means accepted
	}{
		{"20 characters", map[string]any{"name": strings.Repeat("a", 20)}, ""},
		{"letters digits _ -", map[string]any{"name": "Ab_9-x"}, ""},
		{"starts with a digit", map[string]any{"name": "9lives"}, ""},
		{"21 characters", map[string]any{"name": strings.Repeat("b", 21)}, "name"},
		{"empty", map[string]any{"name": ""}, "name"},
		{"space", map[string]any{"name": "a b"}, "name"},
		{"dot", map[string]any{"name": "a.b"}, "name"},
		{"slash", map[string]any{"name": "a/b"}, "name"},
		{"non-ASCII", map[string]any{"name": "工厂"}, "name"},
		{"20 tags", map[string]any{"name": "tags20", "tags": tags(20)}, ""},
		{"21 tags", map[string]any{"name": "tags21", "tags": tags(21)}, "tags"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := s.Do(t, "POST", "/api/v1/instances", a, tc.body)
			if tc.field == "" {
				if r.Status != http.StatusCreated {
					t.Fatalf("status %d, want 201: %s", r.Status, r.Body)
				}
				return
			}
			wantError(t, r, http.StatusBadRequest, "invalid_argument", tc.field)
		})
	}
	if r := s.Do(t, "GET", gwInstPath("tags21"), a, nil); r.Status != http.StatusNotFound {
		t.Errorf("a refused instance exists: %d", r.Status)
	}
}

func TestGWInstancePatch(t *testing.T) {
	s := apitest.New(t)
	a := s.AdminToken
	gwNewInstance(t, s, a, "edge")

	got := object(t, s.Must(t, http.StatusOK, "PATCH", gwInstPath("edge"), a,
		map[string]any{"description": "roof", "tags": map[string]string{"floor": "7", "zone": "b"}}))
	diff(t, "patched", []any{"roof", map[string]any{"floor": "7", "zone": "b"}}, []any{got["description"], got["tags"]})
	if _, ok := got["gateway_secret"]; ok {
		t.Error("PATCH answer shows the gateway secret")
	}
	// Only present fields change.
	got = object(t, s.Must(t, http.StatusOK, "PATCH", gwInstPath("edge"), a, map[string]any{"description": "attic"}))
	diff(t, "tags kept", map[string]any{"floor": "7", "zone": "b"}, got["tags"])
	got = object(t, s.Must(t, http.StatusOK, "PATCH", gwInstPath("edge"), a, map[string]any{"tags": map[string]string{}}))
	diff(t, "tags cleared, description kept", []any{"attic", map[string]any{}}, []any{got["description"], got["tags"]})

	many := map[string]string{}
	for i := 0; i < 21; i++ {
		many[fmt.Sprintf("t%d", i)] = "x"
	}
	wantError(t, s.Do(t, "PATCH", gwInstPath("edge"), a, map[string]any{"tags": many}), http.StatusBadRequest, "invalid_argument", "tags")
	wantError(t, s.Do(t, "PATCH", gwInstPath("nope"), a, map[string]any{"description": "x"}), http.StatusNotFound, "not_found", "")
	diff(t, "after refusal", map[string]any{}, object(t, s.Must(t, http.StatusOK, "GET", gwInstPath("edge"), a, nil))["tags"])
}

func TestGWInstanceOnline(t *testing.T) {
	const poll = 10 * time.Second
	s, clock := gwServer(t, poll)
	a := s.AdminToken
	g := gwNewInstance(t, s, a, "gw")

	diff(t, "before any sync", []any{false, nil}, []any{gwGatewayView(t, s, a, "gw")["online"], gwGatewayView(t, s, a, "gw")["last_seen_at"]})

	g.manifest(t)
	view := gwGatewayView(t, s, a, "gw")
	diff(t, "online after a poll", true, view["online"])
	diff(t, "last_seen_at", clock.Now().Format(time.RFC3339), gwStr(view, "last_seen_at"))

	clock.Advance(3 * poll)
	diff(t, "online within 3 poll periods", true, gwGatewayView(t, s, a, "gw")["online"])
	clock.Advance(time.Second)
	view = gwGatewayView(t, s, a, "gw")
	diff(t, "offline after 3 poll periods", false, view["online"])
	if view["last_seen_at"] == nil {
		t.Error("last_seen_at lost when offline")
	}

	// A report is a sync too, and fills what the gateway told.
	g.report(t, map[string]any{"edge_version": "1.2.3", "arch": "aarch64", "builtin_drivers": []string{"modbus_rtu", "opcua_std"},
		"capabilities":     map[string]any{"runtimes": []string{"process"}, "isolation": false, "cgroup": "v2"},
		"runtime_versions": map[string]string{"python3": "3.11.2"}})
	view = gwGatewayView(t, s, a, "gw")
	diff(t, "after a report", map[string]any{"online": true, "last_seen_at": clock.Now().Format(time.RFC3339),
		"edge_version": "1.2.3", "arch": "aarch64", "builtin_drivers": []any{"modbus_rtu", "opcua_std"},
		"capabilities":     map[string]any{"runtimes": []any{"process"}, "isolation": false, "cgroup": "v2"},
		"runtime_versions": map[string]any{"python3": "3.11.2"}}, view)

	// A heartbeat without those fields keeps them.
	clock.Advance(time.Minute)
	g.report(t, map[string]any{})
	view = gwGatewayView(t, s, a, "gw")
	diff(t, "after a heartbeat", []any{true, "1.2.3", "aarch64"}, []any{view["online"], view["edge_version"], view["arch"]})

	wantError(t, g.do(t, "POST", "/api/v1/gateway/report", map[string]any{"edge_version": "one"}), http.StatusBadRequest, "invalid_argument", "edge_version")
}

func TestGWInstanceDelete(t *testing.T) {
	s := apitest.New(t)
	a := s.AdminToken
	gwNewInstance(t, s, a, "del")
	gwPublishedPython(t, s, a, "Drv", "1.0", nil)
	gwNewDevice(t, s, a, "pump", "p1")

	gwBind(t, s, a, "del", "Drv", nil)
	wantError(t, s.Do(t, "DELETE", gwInstPath("del"), a, nil), http.StatusConflict, "conflict", "")
	gwAssociate(t, s, a, "del", "pump", "p1", "Drv", nil)
	wantError(t, s.Do(t, "DELETE", gwInstPath("del"), a, nil), http.StatusConflict, "conflict", "")
	s.Must(t, http.StatusNoContent, "DELETE", gwAssocPath("del", "pump", "p1"), a, nil)
	wantError(t, s.Do(t, "DELETE", gwInstPath("del"), a, nil), http.StatusConflict, "conflict", "")
	s.Must(t, http.StatusNoContent, "DELETE", gwBindingPath("del", "Drv"), a, nil)
	s.Must(t, http.StatusNoContent, "DELETE", gwInstPath("del"), a, nil)
	wantError(t, s.Do(t, "GET", gwInstPath("del"), a, nil), http.StatusNotFound, "not_found", "")
	wantError(t, s.Do(t, "DELETE", gwInstPath("del"), a, nil), http.StatusNotFound, "not_found", "")
}

func TestGWInstanceDeleteWithDeviceOnly(t *testing.T) {
	// A device associated through a binding that is then moved: the
	// instance still holds the device. Here: a device alone is enough.
	s := apitest.New(t)
	a := s.AdminToken
	gwNewInstance(t, s, a, "dev-only")
	gwPublishedPython(t, s, a, "One", "1.0", nil)
	gwPublishedPython(t, s, a, "Two", "1.0", nil)
	gwNewDevice(t, s, a, "meter", "m1")
	gwBind(t, s, a, "dev-only", "One", nil)
	gwBind(t, s, a, "dev-only", "Two", nil)
	gwAssociate(t, s, a, "dev-only", "meter", "m1", "Two", nil)
	s.Must(t, http.StatusNoContent, "DELETE", gwBindingPath("dev-only", "One"), a, nil)
	e := wantError(t, s.Do(t, "DELETE", gwInstPath("dev-only"), a, nil), http.StatusConflict, "conflict", "")
	if !strings.Contains(e.Message, "device") {
		t.Errorf("message %q does not name the devices", e.Message)
	}
}

func TestGWInstanceRotateSecret(t *testing.T) {
	s := apitest.New(t)
	a := s.AdminToken
	old := gwNewInstance(t, s, a, "rot")
	old.manifest(t)

	r := object(t, s.Must(t, http.StatusOK, "POST", gwInstPath("rot")+"/gateway/rotate-secret", a, nil))
	fresh := &gwSim{s: s, secret: gwStr(r, "gateway_secret")}
	if !strings.HasPrefix(fresh.secret, "dhg_") || fresh.secret == old.secret {
		t.Fatalf("rotated secret %q, want a new dhg_… secret", fresh.secret)
	}
	diff(t, "rotate answers the instance", "rot", r["name"])

	wantError(t, old.desired(t, "", ""), http.StatusUnauthorized, "unauthenticated", "")
	wantError(t, old.do(t, "POST", "/api/v1/gateway/report", map[string]any{}), http.StatusUnauthorized, "unauthenticated", "")
	fresh.manifest(t)
	fresh.report(t, map[string]any{"edge_version": "1.0.0"})

	got := object(t, s.Must(t, http.StatusOK, "GET", gwInstPath("rot"), a, nil))
	if _, ok := got["gateway_secret"]; ok {
		t.Error("GET shows the rotated secret")
	}
	wantError(t, s.Do(t, "POST", gwInstPath("missing")+"/gateway/rotate-secret", a, nil), http.StatusNotFound, "not_found", "")
	// A viewer may not rotate.
	viewer := s.Token(t, a, "viewer")
	wantError(t, s.Do(t, "POST", gwInstPath("rot")+"/gateway/rotate-secret", viewer, nil), http.StatusForbidden, "permission_denied", "")
	fresh.manifest(t)
}

func TestGWInstanceOnlineShortPollPeriod(t *testing.T) {
	const poll = 2 * time.Second
	s, clock := gwServer(t, poll)
	a := s.AdminToken
	g := gwNewInstance(t, s, a, "fast")
	for i := 0; i < 6; i++ {
		g.manifest(t)
		if v := gwGatewayView(t, s, a, "fast"); v["online"] != true {
			t.Fatalf("poll %d (every %s): online %v, last_seen_at %v, now %s", i, poll, v["online"], v["last_seen_at"], clock.Now().Format(time.RFC3339))
		}
		clock.Advance(poll)
	}
	// Silent for 7 s (offline), then a poll: online at once.
	clock.Advance(7 * time.Second)
	diff(t, "silent", false, gwGatewayView(t, s, a, "fast")["online"])
	g.manifest(t)
	diff(t, "just polled", true, gwGatewayView(t, s, a, "fast")["online"])
	diff(t, "last_seen_at", clock.Now().Format(time.RFC3339), gwGatewayView(t, s, a, "fast")["last_seen_at"])
}

func TestGWInstanceList(t *testing.T) {
	s := apitest.New(t)
	a := s.AdminToken
	for _, n := range []string{"e", "c", "a", "d", "b"} {
		gwNewInstance(t, s, a, n)
	}
	names, pages := listAll(t, s, a, "/api/v1/instances?limit=2", "name")
	diff(t, "by name", []string{"a", "b", "c", "d", "e"}, names)
	if pages != 3 {
		t.Errorf("%d pages of 2, want 3", pages)
	}
	wantError(t, s.Do(t, "PATCH", gwInstPath("a"), a, map[string]any{"name": "z"}), http.StatusBadRequest, "invalid_argument", "name")
}
