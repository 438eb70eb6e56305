package httpapi_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/driverhub/driverhub/internal/apitest"
)

func TestAPIDriverCreate(t *testing.T) {
	s := apitest.New(t)
	in := map[string]any{"name": "Plc_Reader7", "protocol": "modbus", "runtime": "c", "cpu_arch": "armv7-hf",
		"builtin": false, "description": "读取 PLC registers"}
	r := s.Must(t, http.StatusCreated, "POST", "/api/v1/drivers", s.AdminToken, in)
	got := object(t, r)
	diff(t, "keys", []string{"builtin", "cpu_arch", "created_at", "description", "id", "name", "protocol", "runtime", "updated_at"}, keys(got))
	if id, _ := got["id"].(string); id == "" {
		t.Errorf("driver without id: %s", r.Body)
	}
	wantTimestamp(t, "created_at", got["created_at"])
	wantTimestamp(t, "updated_at", got["updated_at"])
	for k, v := range in {
		if got[k] != v {
			t.Errorf("%s = %#v, want %#v", k, got[k], v)
		}
	}
	diff(t, "GET driver", got, object(t, s.Must(t, http.StatusOK, "GET", driverPath("Plc_Reader7"), s.AdminToken, nil)))

	t.Run("defaults", func(t *testing.T) {
		d := object(t, s.Must(t, http.StatusCreated, "POST", "/api/v1/drivers", s.AdminToken,
			map[string]any{"name": "Minimal", "protocol": "custom", "runtime": "nodejs"}))
		diff(t, "cpu_arch, builtin, description", []any{"", false, ""}, []any{d["cpu_arch"], d["builtin"], d["description"]})
	})
	t.Run("boundaries", func(t *testing.T) {
		s.Must(t, http.StatusCreated, "POST", "/api/v1/drivers", s.AdminToken, map[string]any{"name": "A" + strings.Repeat("b", 19),
			"protocol": "lorawan", "runtime": "java", "description": strings.Repeat("é", 128)})
		s.Must(t, http.StatusCreated, "POST", "/api/v1/drivers", s.AdminToken, map[string]any{"name": "z", "protocol": "opcua", "runtime": "c", "cpu_arch": "x86"})
	})
}

func TestAPIDriverValidation(t *testing.T) {
	s := apitest.New(t)
	newDriver(t, s, s.AdminToken, "Taken", "python3")
	base := func(changes map[string]any) map[string]any {
		m := map[string]any{"name": "Fresh", "protocol": "modbus", "runtime": "python3"}
		for k, v := range changes {
			if v == nil {
				delete(m, k)
			} else {
				m[k] = v
			}
		}
		return m
	}
	tests := []struct {
		name   string
		body   any
		status int
		code   string
		field  string
	}{
		{"name missing", base(map[string]any{"name": nil}), 400, "invalid_argument", "name"},
		{"name empty", base(map[string]any{"name": ""}), 400, "invalid_argument", "name"},
		{"name starts with a digit", base(map[string]any{"name": "1abc"}), 400, "invalid_argument", "name"},
		{"name starts with underscore", base(map[string]any{"name": "_abc"}), 400, "invalid_argument", "name"},
		{"name with dash", base(map[string]any{"name": "a-b"}), 400, "invalid_argument", "name"},
		{"name with non-ASCII letter", base(map[string]any{"name": "Modbus驱动"}), 400, "invalid_argument", "name"},
		{"name of 21", base(map[string]any{"name": "A" + strings.Repeat("b", 20)}), 400, "invalid_argument", "name"},
		{"protocol missing", base(map[string]any{"protocol": nil}), 400, "invalid_argument", "protocol"},
		{"protocol unknown", base(map[string]any{"protocol": "bacnet"}), 400, "invalid_argument", "protocol"},
		{"protocol upper case", base(map[string]any{"protocol": "Modbus"}), 400, "invalid_argument", "protocol"},
		{"runtime missing", base(map[string]any{"runtime": nil}), 400, "invalid_argument", "runtime"},
		{"runtime unknown", base(map[string]any{"runtime": "go"}), 400, "invalid_argument", "runtime"},
		{"cpu_arch missing for c", base(map[string]any{"runtime": "c"}), 400, "invalid_argument", "cpu_arch"},
		{"cpu_arch unknown for c", base(map[string]any{"runtime": "c", "cpu_arch": "mips"}), 400, "invalid_argument", "cpu_arch"},
		{"cpu_arch for python3", base(map[string]any{"cpu_arch": "x86-64"}), 400, "invalid_argument", "cpu_arch"},
		{"cpu_arch for java", base(map[string]any{"runtime": "java", "cpu_arch": "aarch64"}), 400, "invalid_argument", "cpu_arch"},
		{"description of 257 bytes", base(map[string]any{"description": strings.Repeat("d", 257)}), 400, "invalid_argument", "description"},
		{"description of 129 two-byte letters", base(map[string]any{"description": strings.Repeat("é", 129)}), 400, "invalid_argument", "description"},
		{"builtin as string", base(map[string]any{"builtin": "yes"}), 400, "invalid_argument", "builtin"},
		{"name as number", base(map[string]any{"name": 7}), 400, "invalid_argument", "name"},
		{"unknown field", base(map[string]any{"language": "python"}), 400, "invalid_argument", "language"},
		{"not JSON", "{name: Fresh}", 400, "invalid_argument", ""},
		{"empty body", nil, 400, "invalid_argument", ""},
		{"body over 1 MiB", `{"name":"Fresh","protocol":"modbus","runtime":"python3","description":"` + strings.Repeat("x", 1<<20) + `"}`,
			413, "too_large", ""},
		{"duplicate name", base(map[string]any{"name": "Taken"}), 409, "conflict", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			wantError(t, s.Do(t, "POST", "/api/v1/drivers", s.AdminToken, tc.body), tc.status, tc.code, tc.field)
		})
	}
	var l struct{ Items []struct{ Name string } }
	s.Must(t, http.StatusOK, "GET", "/api/v1/drivers", s.AdminToken, nil).Decode(t, &l)
	if len(l.Items) != 1 {
		t.Errorf("refused drivers were stored: %+v", l.Items)
	}
}

func TestAPIDriverList(t *testing.T) {
	s := apitest.New(t)
	for _, d := range []map[string]any{
		{"name": "ModbusPy", "protocol": "modbus", "runtime": "python3", "description": "reads PLC registers"},
		{"name": "OpcNode", "protocol": "opcua", "runtime": "nodejs", "description": "OPC UA client"},
		{"name": "LoraC", "protocol": "lorawan", "runtime": "c", "cpu_arch": "aarch64"},
		{"name": "CustomJava", "protocol": "custom", "runtime": "java", "description": "Talks to the plc_gateway"},
		{"name": "ModbusNode", "protocol": "modbus", "runtime": "nodejs"},
	} {
		s.Must(t, http.StatusCreated, "POST", "/api/v1/drivers", s.AdminToken, d)
	}
	tests := []struct {
		name  string
		query string
		want  []string
	}{
		{"all", "", []string{"CustomJava", "LoraC", "ModbusNode", "ModbusPy", "OpcNode"}},
		{"protocol", "protocol=modbus", []string{"ModbusNode", "ModbusPy"}},
		{"runtime", "runtime=nodejs", []string{"ModbusNode", "OpcNode"}},
		{"runtime c", "runtime=c", []string{"LoraC"}},
		{"protocol and runtime", "protocol=modbus&runtime=nodejs", []string{"ModbusNode"}},
		{"no match", "protocol=opcua&runtime=java", []string{}},
		{"q in name, any case", "q=LORA", []string{"LoraC"}},
		{"q in description", "q=plc", []string{"CustomJava", "ModbusPy"}},
		{"q with underscore is literal", "q=plc_", []string{"CustomJava"}},
		{"q with percent is literal", "q=%25", []string{}},
		{"q and protocol", "q=modbus&protocol=modbus", []string{"ModbusNode", "ModbusPy"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var l struct {
				Items      []struct{ Name string }
				NextCursor *string `json:"next_cursor"`
			}
			s.Must(t, http.StatusOK, "GET", "/api/v1/drivers?"+tc.query, s.AdminToken, nil).Decode(t, &l)
			got := []string{}
			for _, d := range l.Items {
				got = append(got, d.Name)
			}
			diff(t, "drivers", tc.want, got)
			if l.NextCursor == nil || *l.NextCursor != "" {
				t.Errorf("next_cursor %v, want \"\"", l.NextCursor)
			}
		})
	}
	t.Run("pages", func(t *testing.T) {
		for _, tc := range []struct {
			query string
			pages int
		}{{"limit=2", 3}, {"limit=1", 5}, {"limit=5", 1}, {"limit=500", 1}} {
			got, pages := listAll(t, s, s.AdminToken, "/api/v1/drivers?"+tc.query, "name")
			diff(t, tc.query, []string{"CustomJava", "LoraC", "ModbusNode", "ModbusPy", "OpcNode"}, got)
			if pages != tc.pages {
				t.Errorf("%s: %d pages, want %d", tc.query, pages, tc.pages)
			}
		}
		got, _ := listAll(t, s, s.AdminToken, "/api/v1/drivers?limit=1&protocol=modbus", "name")
		diff(t, "filtered pages", []string{"ModbusNode", "ModbusPy"}, got)
	})
	for _, tc := range []struct{ name, query, field string }{
		{"limit 0", "limit=0", "limit"},
		{"limit 501", "limit=501", "limit"},
		{"limit negative", "limit=-5", "limit"},
		{"limit not a number", "limit=ten", "limit"},
		{"bad cursor", "cursor=***", "cursor"},
		{"unknown protocol", "protocol=bacnet", "protocol"},
		{"unknown runtime", "runtime=go", "runtime"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantError(t, s.Do(t, "GET", "/api/v1/drivers?"+tc.query, s.AdminToken, nil), http.StatusBadRequest, "invalid_argument", tc.field)
		})
	}
}

func TestAPIDriverUpdate(t *testing.T) {
	s := apitest.New(t)
	newDriver(t, s, s.AdminToken, "Changing", "python3")
	before := object(t, s.Must(t, http.StatusOK, "GET", driverPath("Changing"), s.AdminToken, nil))

	r := s.Must(t, http.StatusOK, "PATCH", driverPath("Changing"), s.AdminToken, map[string]any{"description": "now described"})
	after := object(t, r)
	diff(t, "description", "now described", after["description"])
	for _, k := range []string{"id", "name", "protocol", "runtime", "cpu_arch", "builtin", "created_at"} {
		if before[k] != after[k] {
			t.Errorf("PATCH description changed %s: %v → %v", k, before[k], after[k])
		}
	}
	diff(t, "GET after PATCH", after, object(t, s.Must(t, http.StatusOK, "GET", driverPath("Changing"), s.AdminToken, nil)))

	// Without versions, the runtime may still change.
	after = object(t, s.Must(t, http.StatusOK, "PATCH", driverPath("Changing"), s.AdminToken,
		map[string]any{"runtime": "c", "cpu_arch": "armv7", "protocol": "opcua"}))
	diff(t, "runtime change", []any{"c", "armv7", "opcua", "now described"},
		[]any{after["runtime"], after["cpu_arch"], after["protocol"], after["description"]})
	// Sending back the name it has is fine.
	s.Must(t, http.StatusOK, "PATCH", driverPath("Changing"), s.AdminToken, map[string]any{"name": "Changing", "description": ""})

	newVersion(t, s, s.AdminToken, "Changing", "1.0")
	tests := []struct {
		name   string
		body   map[string]any
		status int
		code   string
		field  string
	}{
		{"rename", map[string]any{"name": "Renamed"}, 400, "invalid_argument", "name"},
		{"runtime with a version", map[string]any{"runtime": "nodejs", "cpu_arch": ""}, 409, "conflict", ""},
		{"cpu_arch with a version", map[string]any{"cpu_arch": "aarch64"}, 409, "conflict", ""},
		{"builtin with a version", map[string]any{"builtin": true}, 409, "conflict", ""},
		{"description too long", map[string]any{"description": strings.Repeat("x", 257)}, 400, "invalid_argument", "description"},
		{"protocol unknown", map[string]any{"protocol": "zigbee"}, 400, "invalid_argument", "protocol"},
		{"cpu_arch dropped from c", map[string]any{"cpu_arch": ""}, 400, "invalid_argument", "cpu_arch"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			wantError(t, s.Do(t, "PATCH", driverPath("Changing"), s.AdminToken, tc.body), tc.status, tc.code, tc.field)
			d := object(t, s.Must(t, http.StatusOK, "GET", driverPath("Changing"), s.AdminToken, nil))
			diff(t, "driver unchanged", []any{"Changing", "c", "armv7", "opcua", false}, []any{d["name"], d["runtime"], d["cpu_arch"], d["protocol"], d["builtin"]})
		})
	}
	t.Run("protocol with a version", func(t *testing.T) {
		d := object(t, s.Must(t, http.StatusOK, "PATCH", driverPath("Changing"), s.AdminToken, map[string]any{"protocol": "modbus"}))
		diff(t, "protocol", "modbus", d["protocol"])
	})
	t.Run("unknown driver", func(t *testing.T) {
		wantError(t, s.Do(t, "PATCH", driverPath("Nobody"), s.AdminToken, map[string]any{"description": "x"}), http.StatusNotFound, "not_found", "")
	})
}

func TestAPIDriverDelete(t *testing.T) {
	s := apitest.New(t)
	a := s.AdminToken

	newDriver(t, s, a, "Drafts", "python3")
	newVersion(t, s, a, "Drafts", "1.0")
	newVersion(t, s, a, "Drafts", "2.0")
	if r := putPackage(t, s, a, "Drafts", "2.0", pyPackage(t, "print(2)\n")); r.Status != http.StatusOK {
		t.Fatalf("upload: %d %s", r.Status, r.Body)
	}
	s.Must(t, http.StatusNoContent, "DELETE", driverPath("Drafts"), a, nil)
	wantError(t, s.Do(t, "GET", driverPath("Drafts"), a, nil), http.StatusNotFound, "not_found", "")
	wantError(t, s.Do(t, "GET", versionPath("Drafts", "1.0"), a, nil), http.StatusNotFound, "not_found", "")
	wantError(t, s.Do(t, "GET", versionPath("Drafts", "2.0")+"/package", a, nil), http.StatusNotFound, "not_found", "")
	wantError(t, s.Do(t, "DELETE", driverPath("Drafts"), a, nil), http.StatusNotFound, "not_found", "")
	// A new driver of the same name starts without versions.
	newDriver(t, s, a, "Drafts", "nodejs")
	var l struct{ Items []any }
	s.Must(t, http.StatusOK, "GET", driverPath("Drafts")+"/versions", a, nil).Decode(t, &l)
	if len(l.Items) != 0 {
		t.Errorf("the deleted driver's versions came back: %v", l.Items)
	}
	newVersion(t, s, a, "Drafts", "1.0")

	newDriver(t, s, a, "Released", "python3")
	newVersion(t, s, a, "Released", "1.0")
	newVersion(t, s, a, "Released", "1.1")
	if r := putPackage(t, s, a, "Released", "1.0", pyPackage(t, "print(1)\n")); r.Status != http.StatusOK {
		t.Fatalf("upload: %d %s", r.Status, r.Body)
	}
	s.Must(t, http.StatusOK, "POST", versionPath("Released", "1.0")+"/publish", a, nil)
	wantError(t, s.Do(t, "DELETE", driverPath("Released"), a, nil), http.StatusConflict, "conflict", "")
	s.Must(t, http.StatusOK, "GET", driverPath("Released"), a, nil)
	s.Must(t, http.StatusOK, "GET", versionPath("Released", "1.1"), a, nil)
	s.Must(t, http.StatusOK, "GET", versionPath("Released", "1.0")+"/package", a, nil)
}
