package httpapi_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/driverhub/driverhub/internal/apitest"
)

func TestGWDeviceRules(t *testing.T) {
	s := apitest.New(t)
	a := s.AdminToken
	tests := []struct {
		name, product, device string
		field                 string // "" means accepted
	}{
		{"64 characters each", strings.Repeat("p", 64), strings.Repeat("n", 64), ""},
		{"allowed punctuation", "pro_d-u.c:t@1", "dev_1-a.b:c@d", ""},
		{"digits first", "1pump", "9", ""},
		{"product of 65", strings.Repeat("p", 65), "n", "product"},
		{"name of 65", "p", strings.Repeat("n", 65), "name"},
		{"empty product", "", "n", "product"},
		{"empty name", "p", "", "name"},
		{"space in product", "a b", "n", "product"},
		{"slash in name", "p", "a/b", "name"},
		{"hash in name", "p", "a#b", "name"},
		{"non-ASCII name", "p", "泵", "name"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := s.Do(t, "POST", "/api/v1/devices", a, map[string]any{"product": tc.product, "name": tc.device, "description": "d"})
			if tc.field != "" {
				wantError(t, r, http.StatusBadRequest, "invalid_argument", tc.field)
				return
			}
			if r.Status != http.StatusCreated {
				t.Fatalf("status %d, want 201: %s", r.Status, r.Body)
			}
			got := object(t, s.Must(t, http.StatusOK, "GET", gwDevicePath(tc.product, tc.device), a, nil))
			diff(t, "device", []any{tc.product, tc.device, "d", "", "", nil},
				[]any{got["product"], got["name"], got["description"], got["instance"], got["driver"], got["config"]})
		})
	}

	t.Run("unique together", func(t *testing.T) {
		gwNewDevice(t, s, a, "meter", "m1")
		wantError(t, s.Do(t, "POST", "/api/v1/devices", a, map[string]any{"product": "meter", "name": "m1"}), http.StatusConflict, "conflict", "")
		gwNewDevice(t, s, a, "meter2", "m1")
		gwNewDevice(t, s, a, "meter", "m2")
	})
}

func TestGWDeviceAssociation(t *testing.T) {
	s := apitest.New(t)
	a := s.AdminToken
	gwNewInstance(t, s, a, "A")
	gwNewInstance(t, s, a, "B")
	gwPublishedPython(t, s, a, "Modbus", "1.0", nil)
	gwBind(t, s, a, "A", "Modbus", nil)
	gwBind(t, s, a, "B", "Modbus", nil)
	gwNewDevice(t, s, a, "pump", "p1")

	t.Run("config as an object", func(t *testing.T) {
		got := gwAssociate(t, s, a, "A", "pump", "p1", "Modbus", map[string]any{"slave": 3, "regs": []int{1, 2}})
		diff(t, "device", []any{"A", "Modbus", map[string]any{"regs": []any{1.0, 2.0}, "slave": 3.0}},
			[]any{got["instance"], got["driver"], got["config"]})
		diff(t, "GET", got["config"], object(t, s.Must(t, http.StatusOK, "GET", gwDevicePath("pump", "p1"), a, nil))["config"])
	})
	t.Run("config as a string of JSON text", func(t *testing.T) {
		got := gwAssociate(t, s, a, "A", "pump", "p1", "Modbus", "{\n  \"slave\": 4,\n  \"name\": \"泵\"\n}")
		diff(t, "config parsed", map[string]any{"slave": 4.0, "name": "泵"}, got["config"])
	})
	t.Run("no config", func(t *testing.T) {
		got := gwAssociate(t, s, a, "A", "pump", "p1", "Modbus", nil)
		diff(t, "config", nil, got["config"])
	})
	t.Run("config limits", func(t *testing.T) {
		// {"k":"…"} is 8 bytes plus the value.
		exact := map[string]any{"k": strings.Repeat("x", 1024-8)}
		gwAssociate(t, s, a, "A", "pump", "p1", "Modbus", exact)
		over := map[string]any{"k": strings.Repeat("x", 1024-7)}
		wantError(t, s.Do(t, "PUT", gwAssocPath("A", "pump", "p1"), a, map[string]any{"driver": "Modbus", "config": over}),
			http.StatusBadRequest, "invalid_argument", "config")
		for _, bad := range []any{[]int{1, 2}, 5, "[1]", "7", true} {
			wantError(t, s.Do(t, "PUT", gwAssocPath("A", "pump", "p1"), a, map[string]any{"driver": "Modbus", "config": bad}),
				http.StatusBadRequest, "invalid_argument", "config")
		}
		e := wantError(t, s.Do(t, "PUT", gwAssocPath("A", "pump", "p1"), a, map[string]any{"driver": "Modbus", "config": "{\n \"a\": 1,\n}"}),
			http.StatusBadRequest, "invalid_argument", "config")
		if !strings.Contains(e.Message, "line 3, column 1") {
			t.Errorf("message %q does not give the position line 3, column 1", e.Message)
		}
		// The refusals left the last accepted config.
		got := object(t, s.Must(t, http.StatusOK, "GET", gwDevicePath("pump", "p1"), a, nil))
		diff(t, "config kept", exact, got["config"])
	})
	t.Run("driver required and bound", func(t *testing.T) {
		wantError(t, s.Do(t, "PUT", gwAssocPath("A", "pump", "p1"), a, map[string]any{"config": map[string]any{}}),
			http.StatusBadRequest, "invalid_argument", "driver")
		gwPublishedPython(t, s, a, "Unbound", "1.0", nil)
		wantError(t, s.Do(t, "PUT", gwAssocPath("A", "pump", "p1"), a, map[string]any{"driver": "Unbound"}), http.StatusNotFound, "not_found", "")
		wantError(t, s.Do(t, "PUT", gwAssocPath("A", "pump", "p1"), a, map[string]any{"driver": "Nothing"}), http.StatusNotFound, "not_found", "")
		wantError(t, s.Do(t, "PUT", gwAssocPath("A", "pump", "nope"), a, map[string]any{"driver": "Modbus"}), http.StatusNotFound, "not_found", "")
		wantError(t, s.Do(t, "PUT", gwAssocPath("Z", "pump", "p1"), a, map[string]any{"driver": "Modbus"}), http.StatusNotFound, "not_found", "")
	})
	t.Run("one instance at a time", func(t *testing.T) {
		wantError(t, s.Do(t, "PUT", gwAssocPath("B", "pump", "p1"), a, map[string]any{"driver": "Modbus"}), http.StatusConflict, "conflict", "")
		diff(t, "still on A", "A", object(t, s.Must(t, http.StatusOK, "GET", gwDevicePath("pump", "p1"), a, nil))["instance"])
		wantError(t, s.Do(t, "DELETE", gwAssocPath("B", "pump", "p1"), a, nil), http.StatusNotFound, "not_found", "")
		wantError(t, s.Do(t, "DELETE", gwDevicePath("pump", "p1"), a, nil), http.StatusConflict, "conflict", "")

		s.Must(t, http.StatusNoContent, "DELETE", gwAssocPath("A", "pump", "p1"), a, nil)
		got := object(t, s.Must(t, http.StatusOK, "GET", gwDevicePath("pump", "p1"), a, nil))
		diff(t, "removed", []any{"", "", nil}, []any{got["instance"], got["driver"], got["config"]})
		got = gwAssociate(t, s, a, "B", "pump", "p1", "Modbus", map[string]any{"on": "B"})
		diff(t, "moved to B", "B", got["instance"])
	})
	t.Run("delete after removal", func(t *testing.T) {
		gwNewDevice(t, s, a, "valve", "v1")
		gwAssociate(t, s, a, "A", "valve", "v1", "Modbus", nil)
		wantError(t, s.Do(t, "DELETE", gwDevicePath("valve", "v1"), a, nil), http.StatusConflict, "conflict", "")
		s.Must(t, http.StatusNoContent, "DELETE", gwAssocPath("A", "valve", "v1"), a, nil)
		s.Must(t, http.StatusNoContent, "DELETE", gwDevicePath("valve", "v1"), a, nil)
		wantError(t, s.Do(t, "GET", gwDevicePath("valve", "v1"), a, nil), http.StatusNotFound, "not_found", "")
	})
}

func TestGWDeviceList(t *testing.T) {
	s := apitest.New(t)
	a := s.AdminToken
	gwNewInstance(t, s, a, "A")
	gwNewInstance(t, s, a, "B")
	gwPublishedPython(t, s, a, "Drv", "1.0", nil)
	gwBind(t, s, a, "A", "Drv", nil)
	gwBind(t, s, a, "B", "Drv", nil)
	for _, d := range []string{"d1", "d2", "d3", "d4", "d5"} {
		gwNewDevice(t, s, a, "prod", d)
	}
	gwAssociate(t, s, a, "A", "prod", "d2", "Drv", nil)
	gwAssociate(t, s, a, "A", "prod", "d4", "Drv", map[string]any{"x": 1})
	gwAssociate(t, s, a, "B", "prod", "d5", "Drv", nil)

	all, pages := listAll(t, s, a, "/api/v1/devices?limit=2", "name")
	diff(t, "all devices", []string{"d1", "d2", "d3", "d4", "d5"}, all)
	if pages != 3 {
		t.Errorf("%d pages of 2, want 3", pages)
	}
	onA, _ := listAll(t, s, a, "/api/v1/devices?instance=A", "name")
	diff(t, "devices of A", []string{"d2", "d4"}, onA)
	instances, _ := listAll(t, s, a, "/api/v1/devices?instance=A", "instance")
	diff(t, "their instance", []string{"A", "A"}, instances)
	onB, _ := listAll(t, s, a, "/api/v1/instances/B/devices?limit=500", "name")
	diff(t, "devices of B", []string{"d5"}, onB)
	wantError(t, s.Do(t, "GET", "/api/v1/devices?instance=Z", a, nil), http.StatusNotFound, "not_found", "")
}

func TestGWConfigLimitCountsTheSentBytes(t *testing.T) {
	s := apitest.New(t)
	a := s.AdminToken
	gwNewInstance(t, s, a, "A")
	gwPublishedPython(t, s, a, "Drv", "1.0", nil)
	gwBind(t, s, a, "A", "Drv", nil)
	gwNewDevice(t, s, a, "pump", "p1")
	// {"k":"…"} is 8 bytes plus the value: 1024 bytes of compact JSON.
	for _, c := range []string{"<", ">", "&"} {
		cfg := map[string]any{"k": strings.Repeat(c, 1024-8)}
		if r := s.Do(t, "PUT", gwAssocPath("A", "pump", "p1"), a, map[string]any{"driver": "Drv", "config": cfg}); r.Status != http.StatusOK {
			t.Errorf("device config of 1024 bytes of %q: %d %s", c, r.Status, r.Body)
		}
		if r := s.Do(t, "PUT", gwBindingPath("A", "Drv")+"/config", a, map[string]any{"format": "json", "json": cfg}); r.Status != http.StatusOK {
			t.Errorf("json driver config of 1024 bytes of %q: %d %s", c, r.Status, r.Body)
		}
	}
}

func TestGWDeviceDotNames(t *testing.T) {
	s := apitest.New(t)
	a := s.AdminToken
	for _, n := range []string{".", ".."} {
		r := s.Do(t, "POST", "/api/v1/devices", a, map[string]any{"product": "pump", "name": n})
		if r.Status == http.StatusBadRequest {
			continue // refused: fine
		}
		if r.Status != http.StatusCreated {
			t.Fatalf("create %q: %d %s", n, r.Status, r.Body)
		}
		got := s.Do(t, "GET", "/api/v1/devices/pump/"+n, a, nil)
		if got.Status != http.StatusOK || gwStr(object(t, got), "name") != n {
			t.Errorf("device %q was created but GET by its path answers %d %s", n, got.Status, got.Body)
		}
		if r := s.Do(t, "DELETE", "/api/v1/devices/pump/"+n, a, nil); r.Status != http.StatusNoContent {
			t.Errorf("device %q was created but DELETE by its path answers %d %s", n, r.Status, r.Body)
		}
	}
}
