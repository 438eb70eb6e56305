package main_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	goruntime "runtime"
	"testing"
)

// The end-to-end tests' calls to the server's API: drivers, versions,
// bindings, devices and deployments, as a user makes them, and the
// gateway's manifest, as the agent reads it.

// api sends a JSON request with the admin token, fails unless the status is
// want, and decodes the answer into out (when not nil).
func (e *e2e) api(method, path string, body any, want int, out any) {
	e.t.Helper()
	var s string
	switch b := body.(type) {
	case nil:
	case []byte:
		s = string(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		s = string(j)
	}
	answer := e.srv.must(e.t, want, method, path, s)
	if out != nil {
		if err := json.Unmarshal(answer, out); err != nil {
			e.t.Fatalf("%s %s: %v: %s", method, path, err, answer)
		}
	}
}

func (e *e2e) bindingPath(driver string) string {
	return "/api/v1/instances/" + e.inst + "/drivers/" + driver
}

// driverName makes a driver name unique to this test process. Drivers'
// cgroups (process) and containers (runc) are named after the driver on
// the host, so two test runs at once must not share names.
func driverName(base string) string {
	return fmt.Sprintf("%s%03d", base, os.Getpid()%1000)
}

// cpuArch is this machine's architecture as c drivers name it.
var cpuArch = map[string]string{"amd64": "x86-64", "arm64": "aarch64", "386": "x86", "arm": "armv7-hf"}[goruntime.GOARCH]

// createDriver creates a driver of the runtime.
func (e *e2e) createDriver(name, runtime string) {
	e.t.Helper()
	body := map[string]any{"name": name, "protocol": "custom", "runtime": runtime}
	if runtime == "c" {
		body["cpu_arch"] = cpuArch
	}
	e.api("POST", "/api/v1/drivers", body, 201, nil)
}

// addVersion creates a version with the extra fields, uploads its package,
// publishes it, and returns its package's SHA-256.
func (e *e2e) addVersion(driver, version string, pkg []byte, extra map[string]any) string {
	e.t.Helper()
	body := map[string]any{"version": version, "min_edge_version": "1.0.0"}
	for k, v := range extra {
		body[k] = v
	}
	vp := "/api/v1/drivers/" + driver + "/versions/" + version
	e.api("POST", "/api/v1/drivers/"+driver+"/versions", body, 201, nil)
	e.api("PUT", vp+"/package", pkg, 200, nil)
	var v struct {
		Package struct {
			SHA256 string `json:"sha256"`
		} `json:"package"`
	}
	e.api("POST", vp+"/publish", nil, 200, &v)
	if len(v.Package.SHA256) != 64 {
		e.api("GET", vp, nil, 200, &v)
	}
	return v.Package.SHA256
}

// bind binds a driver at a version.
func (e *e2e) bind(driver, version string) {
	e.t.Helper()
	e.api("PUT", e.bindingPath(driver), map[string]any{"version": version}, 200, nil)
}

// addDevice creates a device and associates it with a bound driver.
func (e *e2e) addDevice(product, name, driver string, config any) {
	e.t.Helper()
	e.api("POST", "/api/v1/devices", map[string]any{"product": product, "name": name}, 201, nil)
	body := map[string]any{"driver": driver}
	if config != nil {
		body["config"] = config
	}
	e.api("PUT", "/api/v1/instances/"+e.inst+"/devices/"+product+"/"+name, body, 200, nil)
}

// deployment is a deployment's view.
type deployment struct {
	ID        string `json:"id"`
	Status    string `json:"status"`
	Reason    string `json:"reason"`
	Resources []struct {
		Type   string `json:"type"`
		Name   string `json:"name"`
		Stage  string `json:"stage"`
		Status string `json:"status"`
		Log    []struct {
			Level   string `json:"level"`
			Stage   string `json:"stage"`
			Message string `json:"message"`
		} `json:"log"`
	} `json:"resources"`
}

// deploy creates a deployment of the type ("deploy" or "reset") and waits
// until it has finished.
func (e *e2e) deploy(typ string) deployment {
	e.t.Helper()
	var d deployment
	e.api("POST", "/api/v1/instances/"+e.inst+"/deployments", map[string]any{"type": typ}, 201, &d)
	eventually(e.t, deployWait, "deployment "+d.ID+" finishes", func() (bool, string) {
		e.api("GET", "/api/v1/instances/"+e.inst+"/deployments/"+d.ID, nil, 200, &d)
		switch d.Status {
		case "pending", "processing":
			return false, d.Status
		}
		return true, ""
	})
	return d
}

// waitCapabilities waits until the gateway has said what it can enforce:
// the server refuses settings that need isolation before it knows.
func (e *e2e) waitCapabilities() {
	e.t.Helper()
	var inst struct {
		Gateway struct {
			Capabilities *struct {
				Isolation bool `json:"isolation"`
			} `json:"capabilities"`
		} `json:"gateway"`
	}
	eventually(e.t, reportWait, "the gateway reports its capabilities", func() (bool, string) {
		e.api("GET", "/api/v1/instances/"+e.inst, nil, 200, &inst)
		return inst.Gateway.Capabilities != nil, "none reported yet"
	})
}

// mustSucceed fails the test unless the deployment succeeded.
func mustSucceed(t testing.TB, d deployment) {
	t.Helper()
	if d.Status != "succeeded" {
		j, _ := json.MarshalIndent(d, "", "  ")
		t.Fatalf("deployment %s is %s, want succeeded:\n%s", d.ID, d.Status, j)
	}
}

// runtimeView is a binding's runtime: the gateway's last report of it.
type runtimeView struct {
	State       string `json:"state"`
	Version     string `json:"version"`
	Restarts    int    `json:"restarts"`
	LastExit    string `json:"last_exit"`
	MemoryBytes int64  `json:"memory_bytes"`
}

// waitRuntime waits until the binding's runtime satisfies cond.
func (e *e2e) waitRuntime(driver, what string, cond func(runtimeView) bool) runtimeView {
	e.t.Helper()
	var b struct {
		Runtime *runtimeView `json:"runtime"`
	}
	eventually(e.t, reportWait, driver+"'s runtime: "+what, func() (bool, string) {
		e.api("GET", e.bindingPath(driver), nil, 200, &b)
		if b.Runtime == nil {
			return false, "no runtime reported"
		}
		return cond(*b.Runtime), fmt.Sprintf("%+v", *b.Runtime)
	})
	return *b.Runtime
}

// manifestDriver fetches the gateway's manifest with the gateway secret and
// returns one driver's id and runtime_config.
func (e *e2e) manifestDriver(name string) (id string, runtimeConfig json.RawMessage) {
	e.t.Helper()
	req, _ := http.NewRequest("GET", e.srv.url+"/api/v1/gateway/desired", nil)
	req.Header.Set("Authorization", "Bearer "+e.secret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var m struct {
		Drivers []struct {
			ID            string          `json:"id"`
			Name          string          `json:"name"`
			RuntimeConfig json.RawMessage `json:"runtime_config"`
		} `json:"drivers"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		e.t.Fatalf("GET desired: %s: %v", resp.Status, err)
	}
	for _, d := range m.Drivers {
		if d.Name == name {
			return d.ID, d.RuntimeConfig
		}
	}
	e.t.Fatalf("the manifest has no driver %s", name)
	return "", nil
}
