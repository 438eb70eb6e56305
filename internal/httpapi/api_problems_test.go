package httpapi_test

import (
	"net/http"
	"slices"
	"testing"

	"github.com/driverhub/driverhub/internal/apitest"
)

// problemFields checks a 400 that names every bad field at once: problems
// on exactly these fields, in order, and error.field repeating the first.
func problemFields(t *testing.T, r *apitest.Response, fields ...string) {
	t.Helper()
	e := wantError(t, r, http.StatusBadRequest, "invalid_argument", fields[0])
	var got []string
	for _, p := range e.Problems {
		got = append(got, p.Field)
		if p.Message == "" || p.Code != "invalid_argument" {
			t.Errorf("problem %+v: want a message and code invalid_argument", p)
		}
	}
	if !slices.Equal(got, fields) {
		t.Errorf("problems on %q, want %q: %s", got, fields, r.Body)
	}
}

// problemServer is a tenant with a published python driver "Modbus" bound
// to instance "gw1", and a device meter/m1.
func problemServer(t *testing.T) *apitest.Server {
	t.Helper()
	s := apitest.New(t)
	tok := s.AdminToken
	newDriver(t, s, tok, "Modbus", "python3")
	newVersion(t, s, tok, "Modbus", "1.0")
	if r := putPackage(t, s, tok, "Modbus", "1.0", pyPackage(t, "print(1)")); r.Status != http.StatusOK {
		t.Fatalf("package: %d %s", r.Status, r.Body)
	}
	s.Must(t, http.StatusOK, "POST", versionPath("Modbus", "1.0")+"/publish", tok, nil)
	s.Must(t, http.StatusCreated, "POST", "/api/v1/instances", tok, map[string]any{"name": "gw1"})
	s.Must(t, http.StatusOK, "PUT", "/api/v1/instances/gw1/drivers/Modbus", tok, map[string]any{})
	s.Must(t, http.StatusCreated, "POST", "/api/v1/devices", tok, map[string]any{"product": "meter", "name": "m1"})
	return s
}

// TestAPIEveryFieldProblemAtOnce: every write endpoint answers a body with
// several wrong fields with one 400 listing each (SPEC §8).
func TestAPIEveryFieldProblemAtOnce(t *testing.T) {
	s := problemServer(t)
	for _, tt := range []struct {
		name, method, path string
		body               any
		fields             []string
	}{
		{"create driver", "POST", "/api/v1/drivers", map[string]any{"name": "9x", "protocol": "can", "runtime": "go"},
			[]string{"name", "protocol", "runtime"}},
		{"update driver", "PATCH", driverPath("Modbus"), map[string]any{"protocol": "can", "description": "\x1b[2J"},
			[]string{"protocol", "description"}},
		{"create version", "POST", driverPath("Modbus") + "/versions", map[string]any{"version": "..", "min_edge_version": "1",
			"container": map[string]any{"memory_limit_mb": 1}}, []string{"version", "min_edge_version", "container.memory_limit_mb"}},
		{"update version", "PATCH", versionPath("Modbus", "1.0"), map[string]any{"description": "\u202e", "version": "2.0"},
			[]string{"version", "description"}},
		{"create instance", "POST", "/api/v1/instances", map[string]any{"name": "bad name", "description": "\x07",
			"tags": map[string]any{"site": "a\nb"}}, []string{"name", "description", "tags.site"}},
		{"update instance", "PATCH", "/api/v1/instances/gw1", map[string]any{"name": "gw2", "description": "\u2066"},
			[]string{"name", "description"}},
		{"create device", "POST", "/api/v1/devices", map[string]any{"product": "", "name": "a b"}, []string{"product", "name"}},
		{"associate device", "PUT", "/api/v1/instances/gw1/devices/meter/m1", map[string]any{"driver": "", "config": []any{1}},
			[]string{"driver", "config"}},
		{"bind", "PUT", "/api/v1/instances/gw1/drivers/Modbus", map[string]any{"publisher": "Not A Tenant", "version": "a b"},
			[]string{"publisher", "version"}},
		{"instance driver config", "PUT", "/api/v1/instances/gw1/drivers/Modbus/config", map[string]any{"format": "kv",
			"kv": []any{map[string]any{"key": ""}, map[string]any{"key": "a", "note": "\n"}}}, []string{"kv[0].key", "kv[1].note"}},
		{"create user", "POST", "/api/v1/users", map[string]any{"username": "-x", "password": "short"},
			[]string{"username", "password", "role"}},
		{"update user", "PATCH", "/api/v1/users/admin", map[string]any{"password": "x", "role": "god"}, []string{"password", "role"}},
		{"create token", "POST", "/api/v1/tokens", map[string]any{"name": "", "role": "owner"}, []string{"name", "role"}},
		{"create tenant", "POST", "/api/v1/tenants", map[string]any{"name": "Bad Name"}, []string{"name"}},
		{"listing", "PUT", driverPath("Modbus") + "/listing", map[string]any{"title": "", "summary": "\u2067"},
			[]string{"title", "summary"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			problemFields(t, s.Do(t, tt.method, tt.path, s.AdminToken, tt.body), tt.fields...)
		})
	}
}

// TestAPIRepeatedKeys: a body holding a key twice, or two keys that differ
// only in case, is refused at any depth, configs included, naming the
// second key's path; Go would otherwise keep one of them silently.
func TestAPIRepeatedKeys(t *testing.T) {
	s := problemServer(t)
	for _, tt := range []struct {
		name, method, path, body, field string
	}{
		{"top level", "POST", "/api/v1/drivers", `{"name":"A","name":"B","protocol":"modbus","runtime":"python3"}`, "name"},
		{"case variant", "POST", "/api/v1/drivers", `{"name":"A","Name":"B","protocol":"modbus","runtime":"python3"}`, "Name"},
		{"nested", "POST", driverPath("Modbus") + "/versions",
			`{"version":"2","min_edge_version":"1.0.0","container":{"memory_limit_mb":16,"Memory_Limit_MB":4096}}`,
			"container.Memory_Limit_MB"},
		{"in a mapping row", "POST", driverPath("Modbus") + "/versions",
			`{"version":"2","min_edge_version":"1.0.0","container":{"host_network":false,"port_mappings":[{"host_port":1,"container_port":1,"protocol":"tcp","protocol":"udp"}]}}`,
			"container.port_mappings[0].protocol"},
		{"in a JSON driver config", "POST", driverPath("Modbus") + "/versions",
			`{"version":"2","min_edge_version":"1.0.0","driver_config":{"format":"json","json":{"slave":{"id":1,"id":2}}}}`,
			"driver_config.json.slave.id"},
		{"in a JSON driver config sent as text", "PUT", "/api/v1/instances/gw1/drivers/Modbus/config",
			`{"format":"json","json":"{\"mode\":\"rtu\",\"Mode\":\"tcp\"}"}`, "json.Mode"},
		{"in a device config", "PUT", "/api/v1/instances/gw1/devices/meter/m1",
			`{"driver":"Modbus","config":{"unit":1,"UNIT":2}}`, "config.UNIT"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			problemFields(t, s.Do(t, tt.method, tt.path, s.AdminToken, tt.body), tt.field)
		})
	}
	// Nothing was stored by the refused bodies.
	r := s.Must(t, http.StatusOK, "GET", "/api/v1/drivers", s.AdminToken, nil)
	if n := len(object(t, r)["items"].([]any)); n != 1 {
		t.Errorf("%d drivers after refused bodies, want 1: %s", n, r.Body)
	}
}
