package httpapi_test

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/driverhub/driverhub/internal/apitest"
)

// defaultContainer is the container a version has when none is given.
const defaultContainer = `{"host_network":true,"port_mappings":[],"privileged":false,"device_mappings":[],"volume_mappings":[],"memory_limit_mb":1024}`

func TestAPIVersionCreate(t *testing.T) {
	s := apitest.New(t)
	newDriver(t, s, s.AdminToken, "Py", "python3")
	tests := []struct {
		name string
		body string
		// want holds the fields of the answer to compare, as JSON.
		want map[string]string
	}{
		{"defaults", `{"version":"1.0.0","min_edge_version":"1.0.0"}`, map[string]string{
			"driver": `"Py"`, "version": `"1.0.0"`, "min_edge_version": `"1.0.0"`, "description": `""`,
			"status": `"draft"`, "package": `null`, "published_at": `null`, "driver_config": `null`, "jvm_args": `""`,
			"container":     defaultContainer,
			"config_checks": `{"driver_config_required":false,"device_config_required":false}`,
		}},
		{"kv config", `{"version":"kv","min_edge_version":"2.10.0","description":"slave 1",
			"driver_config":{"format":"kv","kv":[{"key":"host","value":"10.0.0.5","note":"PLC address"},{"key":"port","value":"502","note":""}]}}`,
			map[string]string{
				"min_edge_version": `"2.10.0"`, "description": `"slave 1"`,
				"driver_config": `{"format":"kv","kv":[{"key":"host","value":"10.0.0.5","note":"PLC address"},{"key":"port","value":"502","note":""}]}`,
			}},
		{"json config as an object", `{"version":"json-object","min_edge_version":"1.0.0",
			"driver_config":{"format":"json","json":{ "slave" : 1, "regs": [ 40001, 40002 ], "name": "泵" }}}`,
			map[string]string{"driver_config": `{"format":"json","json":{"slave":1,"regs":[40001,40002],"name":"泵"}}`}},
		{"json config as a string", `{"version":"json-string","min_edge_version":"1.0.0",
			"driver_config":{"format":"json","json":"{\n  \"slave\": 1,\n  \"regs\": [40001, 40002],\n  \"name\": \"泵\"\n}"}}`,
			map[string]string{"driver_config": `{"format":"json","json":{"slave":1,"regs":[40001,40002],"name":"泵"}}`}},
		{"container with port mappings", `{"version":"ports","min_edge_version":"1.0.0",
			"container":{"host_network":false,"port_mappings":[{"host_port":1502,"container_port":502,"protocol":"tcp"},{"host_port":1502,"container_port":502,"protocol":"udp"}],"memory_limit_mb":16}}`,
			map[string]string{"container": `{"host_network":false,"port_mappings":[{"host_port":1502,"container_port":502,"protocol":"tcp"},{"host_port":1502,"container_port":502,"protocol":"udp"}],"privileged":false,"device_mappings":[],"volume_mappings":[],"memory_limit_mb":16}`}},
		{"container with devices and volumes", `{"version":"mounts","min_edge_version":"1.0.0",
			"container":{"device_mappings":[{"host_path":"/dev/ttyUSB0","permission":"rw","comment":"RS-485"}],"volume_mappings":[{"host_path":"/var/lib/plc","container_path":"/data","permission":"ro"}],"memory_limit_mb":65536}}`,
			map[string]string{"container": `{"host_network":true,"port_mappings":[],"privileged":false,"device_mappings":[{"host_path":"/dev/ttyUSB0","permission":"rw","comment":"RS-485"}],"volume_mappings":[{"host_path":"/var/lib/plc","container_path":"/data","permission":"ro"}],"memory_limit_mb":65536}`}},
		{"partial container keeps defaults", `{"version":"partial","min_edge_version":"1.0.0","container":{"privileged":true}}`,
			map[string]string{"container": `{"host_network":true,"port_mappings":[],"privileged":true,"device_mappings":[],"volume_mappings":[],"memory_limit_mb":1024}`}},
		{"config checks", `{"version":"checks","min_edge_version":"1.0.0","config_checks":{"driver_config_required":true,"device_config_required":true}}`,
			map[string]string{"config_checks": `{"driver_config_required":true,"device_config_required":true}`}},
		{"Chinese version", `{"version":"版本1.0","min_edge_version":"1.0.0"}`, map[string]string{"version": `"版本1.0"`}},
		{"Devanagari version", `{"version":"संस्करण-1","min_edge_version":"1.0.0"}`, map[string]string{"version": `"संस्करण-1"`}},
		{"kv of 100 pairs", `{"version":"kv100","min_edge_version":"1.0.0","driver_config":{"format":"kv","kv":[` + kvPairs(100) + `]}}`,
			map[string]string{"driver_config": `{"format":"kv","kv":[` + kvPairs(100) + `]}`}},
		{"JSON config of 1024 bytes", `{"version":"json1024","min_edge_version":"1.0.0","driver_config":{"format":"json","json":{"k":"` + strings.Repeat("x", 1016) + `"}}}`,
			map[string]string{"driver_config": `{"format":"json","json":{"k":"` + strings.Repeat("x", 1016) + `"}}`}},
		{"10 port mappings", `{"version":"ports10","min_edge_version":"1.0.0","container":{"host_network":false,"port_mappings":[` + portMappings(10) + `]}}`,
			map[string]string{"status": `"draft"`}},
		{"version of 64 letters", `{"version":"` + strings.Repeat("版", 64) + `","min_edge_version":"0.0.1"}`, map[string]string{"status": `"draft"`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			created := object(t, s.Must(t, http.StatusCreated, "POST", driverPath("Py")+"/versions", s.AdminToken, tc.body))
			for k, want := range tc.want {
				diff(t, k, jsonValue(t, want), created[k])
			}
			if id, _ := created["id"].(string); id == "" {
				t.Errorf("version without id: %v", created)
			}
			wantTimestamp(t, "created_at", created["created_at"])
			name, _ := created["version"].(string)
			got := object(t, s.Must(t, http.StatusOK, "GET", versionPath("Py", name), s.AdminToken, nil))
			diff(t, "GET version", created, got)
		})
	}
	t.Run("listed newest first", func(t *testing.T) {
		got, _ := listAll(t, s, s.AdminToken, driverPath("Py")+"/versions?limit=3", "version")
		if len(got) != len(tests) || got[0] != strings.Repeat("版", 64) || got[len(got)-1] != "1.0.0" {
			t.Errorf("versions %q: want all %d, newest first", got, len(tests))
		}
	})
}

// kvPairs is n distinct key-value pairs, as JSON array members.
func kvPairs(n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"key":"k%d","value":"v%d","note":""}`, i, i)
	}
	return b.String()
}

// portMappings is n port mappings on distinct host ports, as JSON array members.
func portMappings(n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"host_port":%d,"container_port":502,"protocol":"tcp"}`, 10000+i)
	}
	return b.String()
}

func TestAPIVersionChineseURL(t *testing.T) {
	s := apitest.New(t)
	newDriver(t, s, s.AdminToken, "Py", "python3")
	newVersion(t, s, s.AdminToken, "Py", "版本1.0")
	path := "/api/v1/drivers/Py/versions/%E7%89%88%E6%9C%AC1.0"
	if p := versionPath("Py", "版本1.0"); p != path {
		t.Fatalf("versionPath = %s, want %s", p, path)
	}
	diff(t, "version", "版本1.0", object(t, s.Must(t, http.StatusOK, "GET", path, s.AdminToken, nil))["version"])
	diff(t, "description", "中文", object(t, s.Must(t, http.StatusOK, "PATCH", path, s.AdminToken, map[string]any{"description": "中文"}))["description"])
	if r := putPackage(t, s, s.AdminToken, "Py", "版本1.0", pyPackage(t, "print('你好')\n")); r.Status != http.StatusOK {
		t.Fatalf("upload: %d %s", r.Status, r.Body)
	}
	r := s.Must(t, http.StatusOK, "GET", path+"/package", s.AdminToken, nil)
	cd := r.Header.Get("Content-Disposition")
	if !strings.HasPrefix(cd, "attachment;") || !strings.Contains(cd, url.PathEscape("Py-版本1.0.zip")) {
		t.Errorf("Content-Disposition %q: want an attachment naming Py-版本1.0.zip", cd)
	}
	s.Must(t, http.StatusOK, "POST", path+"/publish", s.AdminToken, nil)
	wantError(t, s.Do(t, "DELETE", path, s.AdminToken, nil), http.StatusConflict, "version_published", "")
}

func TestAPIVersionValidation(t *testing.T) {
	s := apitest.New(t)
	newDriver(t, s, s.AdminToken, "Py", "python3")
	newVersion(t, s, s.AdminToken, "Py", "1.0")
	tests := slices.Concat(versionValidationFieldCases(), versionValidationContainerAndConfigCases(), []versionValidationCase{
		{"malformed body", `{"version":"9.9",`, 400, "invalid_argument", "", nil},
		{"two JSON values", `{"version":"9.9","min_edge_version":"1.0.0"} {}`, 400, "invalid_argument", "", nil},
	})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := wantError(t, s.Do(t, "POST", driverPath("Py")+"/versions", s.AdminToken, tc.body), tc.status, tc.code, tc.field)
			for _, m := range tc.message {
				if !strings.Contains(e.Message, m) {
					t.Errorf("message %q does not hold %q", e.Message, m)
				}
			}
		})
	}
	var l struct{ Items []struct{ Version string } }
	s.Must(t, http.StatusOK, "GET", driverPath("Py")+"/versions", s.AdminToken, nil).Decode(t, &l)
	if len(l.Items) != 1 {
		t.Errorf("refused versions were stored: %+v", l.Items)
	}
	t.Run("unknown driver", func(t *testing.T) {
		wantError(t, s.Do(t, "POST", driverPath("Nobody")+"/versions", s.AdminToken, freshVersion("")), http.StatusNotFound, "not_found", "")
		wantError(t, s.Do(t, "GET", versionPath("Py", "nope"), s.AdminToken, nil), http.StatusNotFound, "not_found", "")
	})
	t.Run("jvm_args on java", func(t *testing.T) {
		newDriver(t, s, s.AdminToken, "Jv", "java")
		r := s.Must(t, http.StatusCreated, "POST", driverPath("Jv")+"/versions", s.AdminToken, freshVersion(`"jvm_args":"-Xmx64m -Dfile.encoding=UTF-8"`))
		diff(t, "jvm_args", "-Xmx64m -Dfile.encoding=UTF-8", object(t, r)["jvm_args"])
		wantError(t, s.Do(t, "POST", driverPath("Jv")+"/versions", s.AdminToken,
			`{"version":"9.8","min_edge_version":"1.0.0","jvm_args":"`+strings.Repeat("x", 257)+`"}`), http.StatusBadRequest, "invalid_argument", "jvm_args")
	})
}

// freshVersion builds a body: a fresh version plus the given JSON members.
func freshVersion(members string) string {
	if members == "" {
		return `{"version":"9.9","min_edge_version":"1.0.0"}`
	}
	return `{"version":"9.9","min_edge_version":"1.0.0",` + members + `}`
}

// versionValidationCase is a body POSTed as a new version of Py and the
// error it must get.
type versionValidationCase struct {
	name   string
	body   string
	status int
	code   string
	field  string
	// message must hold these, when set.
	message []string
}

// versionValidationFieldCases refuse the version's own fields.
func versionValidationFieldCases() []versionValidationCase {
	v := freshVersion
	return []versionValidationCase{
		{"min_edge_version missing", `{"version":"9.9"}`, 400, "invalid_argument", "min_edge_version", nil},
		{"min_edge_version empty", `{"version":"9.9","min_edge_version":""}`, 400, "invalid_argument", "min_edge_version", nil},
		{"min_edge_version two parts", `{"version":"9.9","min_edge_version":"1.0"}`, 400, "invalid_argument", "min_edge_version", nil},
		{"min_edge_version with v", `{"version":"9.9","min_edge_version":"v1.0.0"}`, 400, "invalid_argument", "min_edge_version", nil},
		{"min_edge_version with suffix", `{"version":"9.9","min_edge_version":"1.0.0-beta"}`, 400, "invalid_argument", "min_edge_version", nil},
		{"min_edge_version as number", `{"version":"9.9","min_edge_version":100}`, 400, "invalid_argument", "min_edge_version", nil},
		{"version missing", `{"min_edge_version":"1.0.0"}`, 400, "invalid_argument", "version", nil},
		{"version empty", `{"version":"","min_edge_version":"1.0.0"}`, 400, "invalid_argument", "version", nil},
		{"version dot", `{"version":".","min_edge_version":"1.0.0"}`, 400, "invalid_argument", "version", nil},
		{"version dot dot", `{"version":"..","min_edge_version":"1.0.0"}`, 400, "invalid_argument", "version", nil},
		{"version with slash", `{"version":"1/0","min_edge_version":"1.0.0"}`, 400, "invalid_argument", "version", nil},
		{"version with space", `{"version":"1 0","min_edge_version":"1.0.0"}`, 400, "invalid_argument", "version", nil},
		{"version of 65", `{"version":"` + strings.Repeat("9", 65) + `","min_edge_version":"1.0.0"}`, 400, "invalid_argument", "version", nil},
		{"version as number", `{"version":1.5,"min_edge_version":"1.0.0"}`, 400, "invalid_argument", "version", nil},
		{"duplicate version", `{"version":"1.0","min_edge_version":"1.0.0"}`, 409, "conflict", "", nil},
		{"description of 257", v(`"description":"` + strings.Repeat("x", 257) + `"`), 400, "invalid_argument", "description", nil},
		{"description as number", v(`"description":5`), 400, "invalid_argument", "description", nil},
		{"unknown field", v(`"colour":"red"`), 400, "invalid_argument", "colour", nil},
		{"jvm_args on python3", v(`"jvm_args":"-Xmx64m"`), 400, "invalid_argument", "jvm_args", nil},
		{"package in the body", v(`"package":{"filename":"a.zip","size":1,"sha256":"` + strings.Repeat("a", 64) + `"}`), 400, "invalid_argument", "package", nil},
	}
}

// versionValidationContainerAndConfigCases refuse its container and its
// driver config.
func versionValidationContainerAndConfigCases() []versionValidationCase {
	v := freshVersion
	return []versionValidationCase{
		{"port mapping with host network", v(`"container":{"host_network":true,"port_mappings":[{"host_port":80,"container_port":80,"protocol":"tcp"}]}`),
			400, "invalid_argument", "container.port_mappings", nil},
		{"port mapping with default host network", v(`"container":{"port_mappings":[{"host_port":80,"container_port":80,"protocol":"tcp"}]}`),
			400, "invalid_argument", "container.port_mappings", nil},
		{"port 0", v(`"container":{"host_network":false,"port_mappings":[{"host_port":0,"container_port":80,"protocol":"tcp"}]}`),
			400, "invalid_argument", "container.port_mappings[0].host_port", nil},
		{"port 65536", v(`"container":{"host_network":false,"port_mappings":[{"host_port":80,"container_port":65536,"protocol":"tcp"}]}`),
			400, "invalid_argument", "container.port_mappings[0].container_port", nil},
		{"port protocol sctp", v(`"container":{"host_network":false,"port_mappings":[{"host_port":80,"container_port":80,"protocol":"sctp"}]}`),
			400, "invalid_argument", "container.port_mappings[0].protocol", nil},
		{"host port twice", v(`"container":{"host_network":false,"port_mappings":[{"host_port":80,"container_port":80,"protocol":"tcp"},{"host_port":80,"container_port":81,"protocol":"tcp"}]}`),
			400, "invalid_argument", "container.port_mappings[1].host_port", nil},
		{"memory 15", v(`"container":{"memory_limit_mb":15}`), 400, "invalid_argument", "container.memory_limit_mb", nil},
		{"memory 65537", v(`"container":{"memory_limit_mb":65537}`), 400, "invalid_argument", "container.memory_limit_mb", nil},
		{"memory as string", v(`"container":{"memory_limit_mb":"big"}`), 400, "invalid_argument", "container.memory_limit_mb", nil},
		{"device with privileged", v(`"container":{"privileged":true,"device_mappings":[{"host_path":"/dev/ttyS0","permission":"rw","comment":""}]}`),
			400, "invalid_argument", "container.device_mappings", nil},
		{"device outside /dev", v(`"container":{"device_mappings":[{"host_path":"/etc/passwd","permission":"rw","comment":""}]}`),
			400, "invalid_argument", "container.device_mappings[0].host_path", nil},
		{"volume onto /", v(`"container":{"volume_mappings":[{"host_path":"/data","container_path":"/","permission":"rw"}]}`),
			400, "invalid_argument", "container.volume_mappings[0].container_path", nil},
		{"malformed JSON config string", v(`"driver_config":{"format":"json","json":"{\"slave\": 1,\n \"regs\": }"}`),
			400, "invalid_argument", "driver_config.json", []string{"line 2", "column"}},
		{"malformed JSON config string, position", v(`"driver_config":{"format":"json","json":"{\"slave\": 1,\n \"regs\": } "}`),
			400, "invalid_argument", "driver_config.json", []string{"line 2, column 10"}},
		{"JSON config not an object", v(`"driver_config":{"format":"json","json":[1,2]}`), 400, "invalid_argument", "driver_config.json", nil},
		{"JSON config string not an object", v(`"driver_config":{"format":"json","json":"42"}`), 400, "invalid_argument", "driver_config.json", nil},
		{"JSON config of 1025 bytes", v(`"driver_config":{"format":"json","json":{"k":"` + strings.Repeat("x", 1017) + `"}}`),
			400, "invalid_argument", "driver_config.json", nil},
		{"kv duplicate key", v(`"driver_config":{"format":"kv","kv":[{"key":"a","value":"1","note":""},{"key":"a","value":"2","note":""}]}`),
			400, "invalid_argument", "driver_config.kv[1].key", nil},
		{"kv empty key", v(`"driver_config":{"format":"kv","kv":[{"key":"","value":"1","note":""}]}`),
			400, "invalid_argument", "driver_config.kv[0].key", nil},
		{"kv value of 1025", v(`"driver_config":{"format":"kv","kv":[{"key":"a","value":"` + strings.Repeat("v", 1025) + `","note":""}]}`),
			400, "invalid_argument", "driver_config.kv[0].value", nil},
		{"kv of 101 pairs", v(`"driver_config":{"format":"kv","kv":[` + kvPairs(101) + `]}`), 400, "invalid_argument", "driver_config.kv", nil},
		{"11 port mappings", v(`"container":{"host_network":false,"port_mappings":[` + portMappings(11) + `]}`), 400, "invalid_argument", "container.port_mappings", nil},
		{"config format unknown", v(`"driver_config":{"format":"yaml"}`), 400, "invalid_argument", "driver_config.format", nil},
		{"file config in the body", v(`"driver_config":{"format":"file","file":{"name":"a.conf","size":1,"sha256":"` + strings.Repeat("a", 64) + `"}}`),
			400, "invalid_argument", "driver_config.file", nil},
	}
}

// TestAPIVersionUnknownNestedField: an unknown member inside an object of
// the request is as much a mistake as one at the top.
func TestAPIVersionUnknownNestedField(t *testing.T) {
	s := apitest.New(t)
	newDriver(t, s, s.AdminToken, "Py", "python3")
	tests := []struct{ name, body, field, bug string }{
		{"in container", `{"version":"1","min_edge_version":"1.0.0","container":{"memory_limt_mb":64}}`, "memory_limt_mb",
			""},
		{"in config_checks", `{"version":"1","min_edge_version":"1.0.0","config_checks":{"driver_config_requried":true}}`, "driver_config_requried", ""},
		{"in a kv pair", `{"version":"1","min_edge_version":"1.0.0","driver_config":{"format":"kv","kv":[{"key":"a","value":"b","note":"","extra":1}]}}`, "extra", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := wantError(t, s.Do(t, "POST", driverPath("Py")+"/versions", s.AdminToken, tc.body), http.StatusBadRequest, "invalid_argument", "")
			if !strings.Contains(e.Field+" "+e.Message, tc.field) {
				t.Errorf("error %+v does not name %s", e, tc.field)
			}
		})
	}
}

// TestAPIVersionJSONErrorPosition: the position of a JSON config's syntax
// error points at the byte at fault, wherever it is.
func TestAPIVersionJSONErrorPosition(t *testing.T) {
	s := apitest.New(t)
	newDriver(t, s, s.AdminToken, "Py", "python3")
	tests := []struct{ name, text, want string }{
		{"first line", `{"a" 1}`, "line 1, column 6"},
		{"second line", "{\"a\": 1,\n \"b\" 2}", "line 2, column 6"},
		{"end of input", `{"a": 1`, "line 1, column 8"},
		{"last byte", "{\"a\": 1,\n \"b\": }", "line 2, column 7"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			body := map[string]any{"version": "1", "min_edge_version": "1.0.0", "driver_config": map[string]any{"format": "json", "json": tc.text}}
			e := wantError(t, s.Do(t, "POST", driverPath("Py")+"/versions", s.AdminToken, body), http.StatusBadRequest, "invalid_argument", "driver_config.json")
			if !strings.Contains(e.Message, tc.want) {
				t.Errorf("message %q, want it to hold %q", e.Message, tc.want)
			}
		})
	}
}
