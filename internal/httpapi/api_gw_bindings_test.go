package httpapi_test

import (
	"bytes"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/driverhub/driverhub/internal/apitest"
)

func TestGWBindVersions(t *testing.T) {
	s := apitest.New(t)
	a := s.AdminToken
	gwNewInstance(t, s, a, "edge")
	gwPublishedPython(t, s, a, "Drv", "1.0", nil)
	gwPublishedPython(t, s, a, "Drv", "2.0", nil)
	newVersion(t, s, a, "Drv", "3.0-draft")

	got := gwBind(t, s, a, "edge", "Drv", nil)
	diff(t, "default binding", map[string]any{"driver": "Drv", "publisher": "default", "version": "2.0", "config": nil, "runtime": nil, "devices": 0.0},
		map[string]any{"driver": got["driver"], "publisher": got["publisher"], "version": got["version"], "config": got["config"], "runtime": got["runtime"], "devices": got["devices"]})

	diff(t, "named published", "1.0", gwBind(t, s, a, "edge", "Drv", map[string]any{"version": "1.0"})["version"])
	diff(t, "named draft", "3.0-draft", gwBind(t, s, a, "edge", "Drv", map[string]any{"version": "3.0-draft"})["version"])
	diff(t, "GET", "3.0-draft", object(t, s.Must(t, http.StatusOK, "GET", gwBindingPath("edge", "Drv"), a, nil))["version"])
	diff(t, "own publisher named", "2.0", gwBind(t, s, a, "edge", "Drv", map[string]any{"publisher": "default"})["version"])

	wantError(t, s.Do(t, "PUT", gwBindingPath("edge", "Drv"), a, map[string]any{"version": "9.9"}), http.StatusNotFound, "not_found", "")
	wantError(t, s.Do(t, "PUT", gwBindingPath("edge", "Ghost"), a, nil), http.StatusNotFound, "not_found", "")
	wantError(t, s.Do(t, "PUT", gwBindingPath("nowhere", "Drv"), a, nil), http.StatusNotFound, "not_found", "")
	wantError(t, s.Do(t, "PUT", gwBindingPath("edge", "Drv"), a, map[string]any{"publisher": "nobody"}), http.StatusNotFound, "not_found", "")

	newDriver(t, s, a, "Fresh", "nodejs")
	wantError(t, s.Do(t, "PUT", gwBindingPath("edge", "Fresh"), a, nil), http.StatusBadRequest, "invalid_argument", "version")
	newVersion(t, s, a, "Fresh", "0.1")
	wantError(t, s.Do(t, "PUT", gwBindingPath("edge", "Fresh"), a, map[string]any{}), http.StatusBadRequest, "invalid_argument", "version")
	diff(t, "draft named", "0.1", gwBind(t, s, a, "edge", "Fresh", map[string]any{"version": "0.1"})["version"])

	var l struct {
		Items []map[string]any `json:"items"`
	}
	s.Must(t, http.StatusOK, "GET", gwInstPath("edge")+"/drivers", a, nil).Decode(t, &l)
	var names []string
	for _, b := range l.Items {
		names = append(names, gwStr(b, "driver")+"@"+gwStr(b, "version"))
	}
	diff(t, "bindings", []string{"Drv@2.0", "Fresh@0.1"}, names)
}

func TestGWBindLimit(t *testing.T) {
	s := apitest.New(t)
	a := s.AdminToken
	gwNewInstance(t, s, a, "full")
	for i := 1; i <= 31; i++ {
		name := fmt.Sprintf("D%02d", i)
		newDriver(t, s, a, name, "python3")
		newVersion(t, s, a, name, "1")
		r := s.Do(t, "PUT", gwBindingPath("full", name), a, map[string]any{"version": "1"})
		if i <= 30 && r.Status != http.StatusOK {
			t.Fatalf("binding driver %d: status %d: %s", i, r.Status, r.Body)
		}
		if i == 31 {
			wantError(t, r, http.StatusConflict, "conflict", "")
		}
	}
	// Rebinding one of the 30 is no new binding.
	newVersion(t, s, a, "D05", "2")
	diff(t, "rebound at the limit", "2", gwBind(t, s, a, "full", "D05", map[string]any{"version": "2"})["version"])
	s.Must(t, http.StatusNoContent, "DELETE", gwBindingPath("full", "D01"), a, nil)
	gwBind(t, s, a, "full", "D31", map[string]any{"version": "1"})
}

func TestGWBindingConfig(t *testing.T) {
	s := apitest.New(t)
	a := s.AdminToken
	gwNewInstance(t, s, a, "edge")
	gwPublishedPython(t, s, a, "Drv", "1.0", nil)
	gwBind(t, s, a, "edge", "Drv", nil)
	cfgPath := gwBindingPath("edge", "Drv") + "/config"

	wantError(t, s.Do(t, "GET", cfgPath, a, nil), http.StatusNotFound, "not_found", "")

	kv := `{"format":"kv","kv":[{"key":"host","value":"10.0.0.7","note":"PLC"},{"key":"port","value":"502","note":""}]}`
	diff(t, "PUT kv", jsonValue(t, kv), object(t, s.Must(t, http.StatusOK, "PUT", cfgPath, a, kv)))
	diff(t, "GET kv", jsonValue(t, kv), object(t, s.Must(t, http.StatusOK, "GET", cfgPath, a, nil)))
	diff(t, "binding view", jsonValue(t, kv), object(t, s.Must(t, http.StatusOK, "GET", gwBindingPath("edge", "Drv"), a, nil))["config"])

	js := `{"format":"json","json":"{\n \"slave\": 1,\n \"regs\": [40001]\n}"}`
	want := jsonValue(t, `{"format":"json","json":{"slave":1,"regs":[40001]}}`)
	diff(t, "PUT json as text", want, object(t, s.Must(t, http.StatusOK, "PUT", cfgPath, a, js)))
	diff(t, "GET json", want, object(t, s.Must(t, http.StatusOK, "GET", cfgPath, a, nil)))
	obj := `{"format":"json","json":{"a":{"b":[true,null]}}}`
	diff(t, "PUT json object", jsonValue(t, obj), object(t, s.Must(t, http.StatusOK, "PUT", cfgPath, a, obj)))

	tests := gwBindingConfigCases()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := s.Do(t, "PUT", cfgPath, a, tc.body)
			if tc.name == "kv with json" { // refused; no one field to blame
				wantError(t, r, http.StatusBadRequest, "invalid_argument", "")
				return
			}
			if tc.field == "" {
				if r.Status != http.StatusOK {
					t.Fatalf("status %d, want 200: %s", r.Status, r.Body)
				}
				return
			}
			wantError(t, r, http.StatusBadRequest, "invalid_argument", tc.field)
		})
	}

	t.Run("config file", func(t *testing.T) {
		body := []byte("[plc]\nhost = 10.0.0.8\n")
		r := s.Must(t, http.StatusOK, "PUT", gwBindingPath("edge", "Drv")+"/config-file?name=plc.ini", a, bytes.NewReader(body))
		want := map[string]any{"format": "file", "file": map[string]any{"name": "plc.ini", "size": float64(len(body)), "sha256": sha256Hex(body)}}
		diff(t, "PUT config-file", want, object(t, r))
		diff(t, "GET", want, object(t, s.Must(t, http.StatusOK, "GET", cfgPath, a, nil)))
		wantError(t, s.Do(t, "PUT", gwBindingPath("edge", "Drv")+"/config-file?name=a%2Fb.ini", a, bytes.NewReader(body)), http.StatusBadRequest, "invalid_argument", "name")
		wantError(t, s.Do(t, "PUT", gwBindingPath("edge", "Drv")+"/config-file", a, bytes.NewReader(body)), http.StatusBadRequest, "invalid_argument", "name")
		wantError(t, s.Do(t, "PUT", gwBindingPath("edge", "Nope")+"/config-file?name=x", a, bytes.NewReader(body)), http.StatusNotFound, "not_found", "")
		big := bytes.Repeat([]byte("x"), 1<<20+1)
		wantError(t, s.Do(t, "PUT", gwBindingPath("edge", "Drv")+"/config-file?name=big.ini", a, bytes.NewReader(big)), http.StatusRequestEntityTooLarge, "too_large", "")
		diff(t, "kept after refusals", want, object(t, s.Must(t, http.StatusOK, "GET", cfgPath, a, nil)))
	})

	s.Must(t, http.StatusNoContent, "DELETE", cfgPath, a, nil)
	wantError(t, s.Do(t, "GET", cfgPath, a, nil), http.StatusNotFound, "not_found", "")
	diff(t, "binding view after DELETE", nil, object(t, s.Must(t, http.StatusOK, "GET", gwBindingPath("edge", "Drv"), a, nil))["config"])
	wantError(t, s.Do(t, "PUT", gwBindingPath("edge", "Nope")+"/config", a, kv), http.StatusNotFound, "not_found", "")
}

// gwBindingConfigCase is a body PUT as a binding's config and the field
// it is refused for; TestGWBindingConfig says what "kv with json" expects.
type gwBindingConfigCase struct {
	name  string
	body  any
	field string // "" means accepted
}

func gwBindingConfigCases() []gwBindingConfigCase {
	pairs := func(n int) []map[string]string {
		out := make([]map[string]string, n)
		for i := range out {
			out[i] = map[string]string{"key": fmt.Sprintf("k%d", i), "value": "v"}
		}
		return out
	}
	// {"k":"…"} is 8 bytes plus the value.
	jsonOf := func(n int) map[string]any { return map[string]any{"k": strings.Repeat("j", n-8)} }
	return []gwBindingConfigCase{
		{"100 pairs", map[string]any{"format": "kv", "kv": pairs(100)}, ""},
		{"101 pairs", map[string]any{"format": "kv", "kv": pairs(101)}, "kv"},
		{"empty key", `{"format":"kv","kv":[{"key":"","value":"v"}]}`, "kv[0].key"},
		{"key of 64", map[string]any{"format": "kv", "kv": []map[string]string{{"key": strings.Repeat("键", 64)}}}, ""},
		{"key of 65", map[string]any{"format": "kv", "kv": []map[string]string{{"key": strings.Repeat("k", 65)}}}, "kv[0].key"},
		{"duplicate key", `{"format":"kv","kv":[{"key":"a"},{"key":"a"}]}`, "kv[1].key"},
		{"value of 1024", map[string]any{"format": "kv", "kv": []map[string]string{{"key": "k", "value": strings.Repeat("v", 1024)}}}, ""},
		{"value of 1025", map[string]any{"format": "kv", "kv": []map[string]string{{"key": "k", "value": strings.Repeat("v", 1025)}}}, "kv[0].value"},
		{"note of 257", map[string]any{"format": "kv", "kv": []map[string]string{{"key": "k", "note": strings.Repeat("n", 257)}}}, "kv[0].note"},
		{"json of 1024", map[string]any{"format": "json", "json": jsonOf(1024)}, ""},
		{"json of 1025", map[string]any{"format": "json", "json": jsonOf(1025)}, "json"},
		{"json array", `{"format":"json","json":[1]}`, "json"},
		{"json malformed text", `{"format":"json","json":"{\"a\":"}`, "json"},
		{"kv with json", `{"format":"kv","kv":[],"json":{}}`, ""},
		{"no format", `{"kv":[]}`, "format"},
		{"bad format", `{"format":"yaml"}`, "format"},
		{"file set directly", `{"format":"file","file":{"name":"a.ini","size":1,"sha256":"` + strings.Repeat("a", 64) + `"}}`, "file"},
	}
}

func TestGWUnbindAndDriverDelete(t *testing.T) {
	s := apitest.New(t)
	a := s.AdminToken
	gwNewInstance(t, s, a, "edge")
	newDriver(t, s, a, "Draft", "python3")
	newVersion(t, s, a, "Draft", "0.1")
	gwBind(t, s, a, "edge", "Draft", map[string]any{"version": "0.1"})
	gwNewDevice(t, s, a, "pump", "p1")
	gwAssociate(t, s, a, "edge", "pump", "p1", "Draft", nil)
	diff(t, "devices counted", 1.0, object(t, s.Must(t, http.StatusOK, "GET", gwBindingPath("edge", "Draft"), a, nil))["devices"])

	wantError(t, s.Do(t, "DELETE", driverPath("Draft"), a, nil), http.StatusConflict, "conflict", "")
	wantError(t, s.Do(t, "DELETE", gwBindingPath("edge", "Draft"), a, nil), http.StatusConflict, "conflict", "")
	s.Must(t, http.StatusNoContent, "DELETE", gwAssocPath("edge", "pump", "p1"), a, nil)
	wantError(t, s.Do(t, "DELETE", driverPath("Draft"), a, nil), http.StatusConflict, "conflict", "")
	s.Must(t, http.StatusNoContent, "DELETE", gwBindingPath("edge", "Draft"), a, nil)
	wantError(t, s.Do(t, "GET", gwBindingPath("edge", "Draft"), a, nil), http.StatusNotFound, "not_found", "")
	wantError(t, s.Do(t, "DELETE", gwBindingPath("edge", "Draft"), a, nil), http.StatusNotFound, "not_found", "")
	s.Must(t, http.StatusNoContent, "DELETE", driverPath("Draft"), a, nil)

	// A published version keeps a driver, bound or not.
	gwPublishedPython(t, s, a, "Pub", "1.0", nil)
	r := s.Do(t, "DELETE", driverPath("Pub"), a, nil)
	if e := r.Error(t); r.Status != http.StatusConflict || (e.Code != "conflict" && e.Code != "version_published") {
		t.Errorf("DELETE a driver with a published version: %d %s, want 409 conflict", r.Status, r.Body)
	}
	s.Must(t, http.StatusOK, "GET", driverPath("Pub"), a, nil)
}
