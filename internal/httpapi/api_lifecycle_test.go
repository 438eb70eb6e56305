package httpapi_test

import (
	"bytes"
	"net/http"
	"testing"

	"github.com/driverhub/driverhub"
	"github.com/driverhub/driverhub/internal/apitest"
)

func TestAPIVersionLifecycle(t *testing.T) {
	s := apitest.New(t)
	a := s.AdminToken
	newDriver(t, s, a, "Life", "python3")
	newVersion(t, s, a, "Life", "1.0")
	path := versionPath("Life", "1.0")

	t.Run("PATCH a draft, every field", func(t *testing.T) { lifecyclePatchDraft(t, s, a, path) })

	t.Run("PATCH jvm_args of a java draft", func(t *testing.T) {
		newDriver(t, s, a, "Jv", "java")
		newVersion(t, s, a, "Jv", "1.0")
		got := object(t, s.Must(t, http.StatusOK, "PATCH", versionPath("Jv", "1.0"), a, map[string]any{"jvm_args": "-Xmx32m"}))
		diff(t, "jvm_args", "-Xmx32m", got["jvm_args"])
		wantError(t, s.Do(t, "PATCH", path, a, map[string]any{"jvm_args": "-Xmx32m"}), http.StatusBadRequest, "invalid_argument", "jvm_args")
	})

	t.Run("publish without package", func(t *testing.T) {
		e := wantError(t, s.Do(t, "POST", path+"/publish", a, nil), http.StatusUnprocessableEntity, "failed_precondition", "")
		if len(e.Problems) == 0 || e.Problems[0].Code != "package_missing" || e.Problems[0].Message == "" {
			t.Errorf("problems %+v, want package_missing first", e.Problems)
		}
		diff(t, "still a draft", "draft", object(t, s.Must(t, http.StatusOK, "GET", path, a, nil))["status"])
	})

	first := pyPackage(t, "print('v1')\n")
	second := pyPackage(t, "print('v2')\n")
	t.Run("upload and replace the package", func(t *testing.T) {
		for i, pkg := range [][]byte{first, second} {
			r := s.Must(t, http.StatusOK, "PUT", path+"/package", a, bytes.NewReader(pkg))
			want := map[string]any{"size": float64(len(pkg)), "sha256": sha256Hex(pkg), "filename": "Life-1.0.zip"}
			diff(t, "package", want, object(t, r)["package"])
			body := s.Must(t, http.StatusOK, "GET", path+"/package", a, nil).Body
			if !bytes.Equal(body, pkg) {
				t.Errorf("upload %d: download is %d bytes, not the package uploaded", i+1, len(body))
			}
		}
		// A client may name the file.
		r := s.Must(t, http.StatusOK, "PUT", path+"/package?filename=life.zip", a, bytes.NewReader(second))
		diff(t, "named package", "life.zip", object(t, r)["package"].(map[string]any)["filename"])
	})

	t.Run("publish", func(t *testing.T) {
		v := object(t, s.Must(t, http.StatusOK, "POST", path+"/publish", a, nil))
		diff(t, "status", "published", v["status"])
		wantTimestamp(t, "published_at", v["published_at"])
		diff(t, "GET after publish", v, object(t, s.Must(t, http.StatusOK, "GET", path, a, nil)))
		var l struct{ Items []struct{ Version string } }
		s.Must(t, http.StatusOK, "GET", driverPath("Life")+"/versions?status=published", a, nil).Decode(t, &l)
		if len(l.Items) != 1 || l.Items[0].Version != "1.0" {
			t.Errorf("published versions %+v, want [1.0]", l.Items)
		}
	})

	t.Run("published", func(t *testing.T) { lifecyclePublished(t, s, a, path, first, second) })

	t.Run("a new draft of the published driver", func(t *testing.T) {
		newVersion(t, s, a, "Life", "1.1")
		s.Must(t, http.StatusNoContent, "DELETE", versionPath("Life", "1.1"), a, nil)
		wantError(t, s.Do(t, "GET", versionPath("Life", "1.1"), a, nil), http.StatusNotFound, "not_found", "")
		wantError(t, s.Do(t, "DELETE", versionPath("Life", "1.1"), a, nil), http.StatusNotFound, "not_found", "")
		wantError(t, s.Do(t, "POST", versionPath("Life", "1.1")+"/publish", a, nil), http.StatusNotFound, "not_found", "")
	})
}

// lifecyclePatchDraft PATCHes every field of the draft at path, then
// refuses what must not change.
func lifecyclePatchDraft(t *testing.T, s *apitest.Server, a, path string) {
	patch := `{"min_edge_version":"1.2.3","description":"first cut",
			"driver_config":{"format":"kv","kv":[{"key":"host","value":"10.0.0.9","note":"PLC"}]},
			"container":{"host_network":false,"port_mappings":[{"host_port":8502,"container_port":502,"protocol":"tcp"}],
				"privileged":false,"device_mappings":[{"host_path":"/dev/ttyS1","permission":"rw","comment":"RS-232"}],
				"volume_mappings":[{"host_path":"/var/log/plc","container_path":"/logs","permission":"rw"}],"memory_limit_mb":128},
			"config_checks":{"driver_config_required":true,"device_config_required":true}}`
	got := object(t, s.Must(t, http.StatusOK, "PATCH", path, a, patch))
	want := jsonValue(t, patch).(map[string]any)
	for k, w := range want {
		diff(t, k, w, got[k])
	}
	diff(t, "status and version", []any{"draft", "1.0"}, []any{got["status"], got["version"]})
	diff(t, "GET after PATCH", got, object(t, s.Must(t, http.StatusOK, "GET", path, a, nil)))

	// A json config, given as text, replaces the kv one.
	got = object(t, s.Must(t, http.StatusOK, "PATCH", path, a, `{"driver_config":{"format":"json","json":"{ \"a\" : [1, 2] }"}}`))
	diff(t, "json config", jsonValue(t, `{"format":"json","json":{"a":[1,2]}}`), got["driver_config"])
	diff(t, "description kept", "first cut", got["description"])

	// Container settings are validated on PATCH too.
	wantError(t, s.Do(t, "PATCH", path, a, `{"container":{"memory_limit_mb":15}}`), http.StatusBadRequest, "invalid_argument", "container.memory_limit_mb")
	wantError(t, s.Do(t, "PATCH", path, a, `{"version":"2.0"}`), http.StatusBadRequest, "invalid_argument", "version")
	wantError(t, s.Do(t, "PATCH", path, a, `{"min_edge_version":"latest"}`), http.StatusBadRequest, "invalid_argument", "min_edge_version")
	diff(t, "unchanged after refusals", got, object(t, s.Must(t, http.StatusOK, "GET", path, a, nil)))
}

// lifecyclePublished checks that of the published version at path only
// the description changes, that second stays its package, and that its
// driver cannot be deleted.
func lifecyclePublished(t *testing.T, s *apitest.Server, a, path string, first, second []byte) {
	before := object(t, s.Must(t, http.StatusOK, "GET", path, a, nil))
	got := object(t, s.Must(t, http.StatusOK, "PATCH", path, a, map[string]any{"description": "now stable"}))
	diff(t, "description", "now stable", got["description"])
	diff(t, "still published", "published", got["status"])

	// Sending back the view read, with a new description, is fine.
	view := object(t, s.Must(t, http.StatusOK, "GET", path, a, nil))
	view["description"] = "round trip"
	diff(t, "read-modify-write", "round trip", object(t, s.Must(t, http.StatusOK, "PATCH", path, a, view))["description"])

	refused := []struct {
		name         string
		method, path string
		body         any
	}{
		{"PATCH min_edge_version", "PATCH", path, map[string]any{"min_edge_version": "2.0.0"}},
		{"PATCH container", "PATCH", path, map[string]any{"container": map[string]any{"memory_limit_mb": 2048}}},
		{"PATCH driver_config", "PATCH", path, map[string]any{"driver_config": map[string]any{"format": "kv", "kv": []any{}}}},
		{"PATCH config_checks", "PATCH", path, map[string]any{"config_checks": map[string]any{"driver_config_required": false}}},
		{"PATCH description and container", "PATCH", path, map[string]any{"description": "sneaky", "container": map[string]any{"privileged": true}}},
		{"PUT package", "PUT", path + "/package", bytes.NewReader(first)},
		{"PUT config file", "PUT", path + "/config-file?name=app.conf", "k=v\n"},
		{"DELETE", "DELETE", path, nil},
		{"publish again", "POST", path + "/publish", nil},
	}
	for _, tc := range refused {
		t.Run(tc.name, func(t *testing.T) {
			wantError(t, s.Do(t, tc.method, tc.path, a, tc.body), http.StatusConflict, "version_published", "")
		})
	}
	after := object(t, s.Must(t, http.StatusOK, "GET", path, a, nil))
	for _, k := range []string{"min_edge_version", "container", "driver_config", "config_checks", "package", "status", "published_at"} {
		diff(t, k+" after refusals", before[k], after[k])
	}
	diff(t, "description after refusals", "round trip", after["description"])

	for _, tok := range []string{a, s.Token(t, a, driverhub.RoleViewer)} {
		body := s.Must(t, http.StatusOK, "GET", path+"/package", tok, nil).Body
		if !bytes.Equal(body, second) {
			t.Errorf("download after publish is not the last package")
		}
	}
	wantError(t, s.Do(t, "DELETE", driverPath("Life"), a, nil), http.StatusConflict, "conflict", "")
}

func TestAPIBuiltinDriver(t *testing.T) {
	s := apitest.New(t)
	a := s.AdminToken
	d := object(t, s.Must(t, http.StatusCreated, "POST", "/api/v1/drivers", a,
		map[string]any{"name": "OnBoard", "protocol": "modbus", "runtime": "c", "cpu_arch": "armv7", "builtin": true}))
	diff(t, "builtin", true, d["builtin"])
	newVersion(t, s, a, "OnBoard", "1.0")
	path := versionPath("OnBoard", "1.0")

	wantError(t, putPackage(t, s, a, "OnBoard", "1.0", buildZip(t, "main", "\x7fELF")), http.StatusBadRequest, "invalid_argument", "package")
	v := object(t, s.Must(t, http.StatusOK, "GET", path, a, nil))
	diff(t, "package after refused upload", nil, v["package"])

	v = object(t, s.Must(t, http.StatusOK, "POST", path+"/publish", a, nil))
	diff(t, "status and package", []any{"published", nil}, []any{v["status"], v["package"]})
	wantTimestamp(t, "published_at", v["published_at"])
	wantError(t, s.Do(t, "GET", path+"/package", a, nil), http.StatusNotFound, "not_found", "")

	newVersion(t, s, a, "OnBoard", "1.1")
	wantError(t, putPackage(t, s, a, "OnBoard", "1.1", buildZip(t, "main", "\x7fELF")), http.StatusBadRequest, "invalid_argument", "package")
	wantError(t, s.Do(t, "PATCH", driverPath("OnBoard"), a, map[string]any{"builtin": false}), http.StatusConflict, "conflict", "")
}
