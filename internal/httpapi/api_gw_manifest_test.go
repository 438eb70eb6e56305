package httpapi_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/driverhub/driverhub/internal/apitest"
)

// gwManifestDriver returns the one driver of a manifest named name.
func gwManifestDriver(t testing.TB, m map[string]any, name string) map[string]any {
	t.Helper()
	drivers, _ := m["drivers"].([]any)
	for _, d := range drivers {
		if d, ok := d.(map[string]any); ok && d["name"] == name {
			return d
		}
	}
	t.Fatalf("manifest has no driver %s: %v", name, m)
	return nil
}

func TestGWManifest(t *testing.T) {
	s := apitest.New(t)
	a := s.AdminToken
	g := gwNewInstance(t, s, a, "m")

	none := gwManifestBeforeDeploy(t, g)
	container, pkg, driverID := gwManifestBoundDriver(t, s, a)

	// A private network needs a gateway that isolates drivers (docs/isolation.md).
	g.report(t, map[string]any{"capabilities": map[string]any{"runtimes": []string{"process", "runc"}, "isolation": true, "cgroup": "v2"}})
	d := gwDeploy(t, s, a, "m", "deploy")
	id := gwStr(d, "id")
	diff(t, "new deployment", []any{"deploy", "pending", nil, nil}, []any{d["type"], d["status"], d["started_at"], d["finished_at"]})
	cur := object(t, s.Must(t, http.StatusOK, "GET", gwInstPath("m"), a, nil))["current_deployment"].(map[string]any)
	diff(t, "current deployment", []any{id, "pending"}, []any{cur["id"], cur["status"]})

	// An ETag the gateway holds from before no longer matches.
	r := g.desired(t, none, "")
	if r.Status != http.StatusOK {
		t.Fatalf("GET desired after deploy: %d %s", r.Status, r.Body)
	}
	etag := r.Header.Get("ETag")
	if etag == none || !strings.HasPrefix(etag, `"`) {
		t.Errorf("ETag %q after a deployment (before %q), want a new strong ETag", etag, none)
	}
	m := object(t, r)
	diff(t, "manifest head", []any{id, "deploy"}, []any{m["deployment_id"], m["type"]})
	md := gwManifestDriver(t, m, "Py")
	got := map[string]any{}
	for _, k := range []string{"id", "name", "publisher", "version", "runtime", "cpu_arch", "builtin", "jvm_args", "package", "config_file", "container"} {
		got[k] = md[k]
	}
	diff(t, "manifest driver", map[string]any{"id": driverID, "name": "Py", "publisher": "default", "version": "1.0", "runtime": "python3",
		"cpu_arch": "", "builtin": false, "jvm_args": "", "config_file": nil, "container": container,
		"package": map[string]any{"sha256": sha256Hex(pkg), "size": float64(len(pkg)), "url": "/api/v1/gateway/blobs/" + sha256Hex(pkg)}}, got)
	diff(t, "runtime_config", jsonValue(t, `{
		"deviceList": [
			{"productKey": "pump", "deviceName": "p1", "custom": "{\"slave\":1}"},
			{"productKey": "pump", "deviceName": "p2", "custom": "{}"}],
		"config": {"json": {"a": 1, "b": "x<y"}}}`), md["runtime_config"])
	// custom is JSON text a driver can parse.
	for _, dev := range md["runtime_config"].(map[string]any)["deviceList"].([]any) {
		if !json.Valid([]byte(gwStr(dev.(map[string]any), "custom"))) {
			t.Errorf("custom %q is not JSON text", dev.(map[string]any)["custom"])
		}
	}

	// The first fetch moved it to processing.
	v := gwWantStatus(t, s, a, "m", id, "processing")
	if v["started_at"] == nil || v["finished_at"] != nil {
		t.Errorf("processing: started_at %v, finished_at %v", v["started_at"], v["finished_at"])
	}
	// Fetching again is the same manifest; with the ETag, 304.
	r = g.desired(t, "", "")
	diff(t, "refetch", m, object(t, r))
	diff(t, "same ETag", etag, r.Header.Get("ETag"))
	if r := g.desired(t, etag, ""); r.Status != http.StatusNotModified {
		t.Errorf("If-None-Match current: %d, want 304", r.Status)
	}
	gwWantStatus(t, s, a, "m", id, "processing")
}

// gwManifestBeforeDeploy checks the manifest of an instance never
// deployed and returns its ETag.
func gwManifestBeforeDeploy(t *testing.T, g *gwSim) (none string) {
	// Before any deployment.
	r := g.desired(t, "", "")
	if r.Status != http.StatusOK {
		t.Fatalf("GET desired: %d %s", r.Status, r.Body)
	}
	diff(t, "empty manifest", map[string]any{"deployment_id": "", "type": "none", "drivers": []any{}}, object(t, r))
	none = r.Header.Get("ETag")
	if !strings.HasPrefix(none, `"`) {
		t.Fatalf("ETag %q, want a strong ETag", none)
	}
	if r := g.desired(t, none, ""); r.Status != http.StatusNotModified || len(r.Body) != 0 {
		t.Errorf("If-None-Match the empty ETag: %d %q, want 304", r.Status, r.Body)
	}
	return none
}

// gwManifestBoundDriver publishes Py 1.0, binds it to instance m with a
// config and two pump devices, and returns the version's container, its
// package and the driver's id.
func gwManifestBoundDriver(t *testing.T, s *apitest.Server, a string) (container map[string]any, pkg []byte, driverID string) {
	newDriver(t, s, a, "Py", "python3")
	container = map[string]any{"host_network": false, "port_mappings": []any{map[string]any{"host_port": 1502.0, "container_port": 502.0, "protocol": "tcp"}},
		"privileged": false, "device_mappings": []any{}, "volume_mappings": []any{}, "memory_limit_mb": 64.0}
	gwNewVersionWith(t, s, a, "Py", "1.0", map[string]any{"container": container,
		"driver_config": map[string]any{"format": "kv", "kv": []any{map[string]any{"key": "host", "value": "10.0.0.1", "note": "n"}}}})
	pkg = pyPackage(t, "print('manifest')\n")
	gwUploadPackage(t, s, a, "Py", "1.0", pkg)
	gwPublish(t, s, a, "Py", "1.0")
	driverID = gwStr(object(t, s.Must(t, http.StatusOK, "GET", driverPath("Py"), a, nil)), "id")
	gwBind(t, s, a, "m", "Py", nil)
	s.Must(t, http.StatusOK, "PUT", gwBindingPath("m", "Py")+"/config", a, `{"format":"json","json":{"a":1,"b":"x<y"}}`)
	for _, n := range []string{"p1", "p2"} {
		gwNewDevice(t, s, a, "pump", n)
	}
	gwAssociate(t, s, a, "m", "pump", "p1", "Py", "{ \"slave\" : 1 }")
	gwAssociate(t, s, a, "m", "pump", "p2", "Py", nil)
	return container, pkg, driverID
}

func TestGWManifestConfigs(t *testing.T) {
	s := apitest.New(t)
	a := s.AdminToken
	tests := []struct {
		name     string
		version  map[string]any // extra fields of the version
		binding  string         // instance driver config JSON, "" for none
		file     []byte         // instance config file, named plc.ini
		wantCfg  string
		wantFile bool
	}{
		{name: "version default kv", version: map[string]any{"driver_config": map[string]any{"format": "kv", "kv": []any{map[string]any{"key": "k", "value": "v", "note": ""}}}},
			wantCfg: `{"kv":[{"key":"k","value":"v","note":""}]}`},
		{name: "no config at all", wantCfg: `{"kv":[]}`},
		{name: "instance kv over version json", version: map[string]any{"driver_config": map[string]any{"format": "json", "json": map[string]any{"v": 1}}},
			binding: `{"format":"kv","kv":[{"key":"i","value":"2","note":"x"}]}`, wantCfg: `{"kv":[{"key":"i","value":"2","note":"x"}]}`},
		{name: "version json", version: map[string]any{"driver_config": map[string]any{"format": "json", "json": "{\"v\": [1, 2]}"}},
			wantCfg: `{"json":{"v":[1,2]}}`},
		{name: "instance file", file: []byte("[plc]\nport=502\n"), wantCfg: `{"fileList":[{"path":"plc.ini"}]}`, wantFile: true},
	}
	for k, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			inst, drv := "cfg"+string(rune('a'+k)), "Cfg"+string(rune('A'+k))
			g := gwNewInstance(t, s, a, inst)
			newDriver(t, s, a, drv, "python3")
			gwNewVersionWith(t, s, a, drv, "1", tc.version)
			gwUploadPackage(t, s, a, drv, "1", pyPackage(t, "pass\n"))
			gwPublish(t, s, a, drv, "1")
			gwBind(t, s, a, inst, drv, nil)
			if tc.binding != "" {
				s.Must(t, http.StatusOK, "PUT", gwBindingPath(inst, drv)+"/config", a, tc.binding)
			}
			if tc.file != nil {
				s.Must(t, http.StatusOK, "PUT", gwBindingPath(inst, drv)+"/config-file?name=plc.ini", a, bytes.NewReader(tc.file))
			}
			gwDeploy(t, s, a, inst, "deploy")
			md := gwManifestDriver(t, g.manifest(t), drv)
			rc := md["runtime_config"].(map[string]any)
			diff(t, "runtime_config.config", jsonValue(t, tc.wantCfg), rc["config"])
			diff(t, "deviceList", []any{}, rc["deviceList"])
			if !tc.wantFile {
				diff(t, "config_file", nil, md["config_file"])
				return
			}
			sha := sha256Hex(tc.file)
			diff(t, "config_file", map[string]any{"name": "plc.ini", "sha256": sha, "size": float64(len(tc.file)), "url": "/api/v1/gateway/blobs/" + sha}, md["config_file"])
			r := g.do(t, "GET", "/api/v1/gateway/blobs/"+sha, nil)
			if r.Status != http.StatusOK || !bytes.Equal(r.Body, tc.file) {
				t.Errorf("config file blob: %d %q", r.Status, r.Body)
			}
		})
	}
}

func TestGWManifestPinned(t *testing.T) {
	// A deployment delivers what was there when it was made.
	s := apitest.New(t)
	a := s.AdminToken
	g := gwNewInstance(t, s, a, "pin")
	newDriver(t, s, a, "Dbg", "python3")
	newVersion(t, s, a, "Dbg", "dev")
	first := pyPackage(t, "print(1)\n")
	gwUploadPackage(t, s, a, "Dbg", "dev", first)
	gwBind(t, s, a, "pin", "Dbg", map[string]any{"version": "dev"})
	d1 := gwDeploy(t, s, a, "pin", "deploy")

	second := pyPackage(t, "print(2)\n")
	gwUploadPackage(t, s, a, "Dbg", "dev", second)
	s.Must(t, http.StatusOK, "PATCH", versionPath("Dbg", "dev"), a, map[string]any{"container": map[string]any{"memory_limit_mb": 32}})

	md := gwManifestDriver(t, g.manifest(t), "Dbg")
	diff(t, "pinned digest", sha256Hex(first), md["package"].(map[string]any)["sha256"])
	diff(t, "pinned container", 1024.0, md["container"].(map[string]any)["memory_limit_mb"])
	r := g.do(t, "GET", "/api/v1/gateway/blobs/"+sha256Hex(first), nil)
	if r.Status != http.StatusOK || !bytes.Equal(r.Body, first) {
		t.Errorf("the pinned package is gone: %d", r.Status)
	}

	d2 := gwDeploy(t, s, a, "pin", "deploy")
	m := g.manifest(t)
	diff(t, "new deployment", gwStr(d2, "id"), m["deployment_id"])
	diff(t, "new digest", sha256Hex(second), gwManifestDriver(t, m, "Dbg")["package"].(map[string]any)["sha256"])
	gwWantStatus(t, s, a, "pin", gwStr(d1, "id"), "superseded")
}

func TestGWLongPoll(t *testing.T) {
	s := apitest.New(t)
	a := s.AdminToken
	g := gwNewInstance(t, s, a, "lp")
	gwPublishedPython(t, s, a, "Drv", "1.0", nil)
	gwBind(t, s, a, "lp", "Drv", nil)
	etag := g.desired(t, "", "").Header.Get("ETag")

	t.Run("no change: 304 at the deadline", func(t *testing.T) {
		start := time.Now()
		r := g.desired(t, etag, "?wait=300ms")
		el := time.Since(start)
		if r.Status != http.StatusNotModified {
			t.Fatalf("status %d, want 304: %s", r.Status, r.Body)
		}
		if el < 300*time.Millisecond || el > 3*time.Second {
			t.Errorf("answered after %s, want about 300ms", el)
		}
		diff(t, "ETag", etag, r.Header.Get("ETag"))
	})

	t.Run("a new deployment ends the wait", func(t *testing.T) {
		errc := make(chan error, 1)
		go func() {
			time.Sleep(200 * time.Millisecond)
			req, err := http.NewRequest("POST", s.URL+gwDeploymentsPath("lp"), strings.NewReader(`{"type":"deploy"}`))
			if err != nil {
				errc <- err
				return
			}
			req.Header.Set("Authorization", "Bearer "+a)
			resp, err := s.Client.Do(req)
			if err != nil {
				errc <- err
				return
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusCreated {
				errc <- fmt.Errorf("%s: %s", resp.Status, body)
				return
			}
			errc <- nil
		}()
		start := time.Now()
		r := g.desired(t, etag, "?wait=5s")
		el := time.Since(start)
		if err := <-errc; err != nil {
			t.Fatalf("deploying: %v", err)
		}
		if r.Status != http.StatusOK {
			t.Fatalf("status %d, want 200: %s", r.Status, r.Body)
		}
		if el > 2*time.Second || el < 150*time.Millisecond {
			t.Errorf("answered after %s, want soon after the deployment (~200ms)", el)
		}
		m := object(t, r)
		if m["type"] != "deploy" || gwStr(m, "deployment_id") == "" || r.Header.Get("ETag") == etag {
			t.Errorf("long-poll answer %v (ETag %s)", m, r.Header.Get("ETag"))
		}
		gwWantStatus(t, s, a, "lp", gwStr(m, "deployment_id"), "processing")
	})

	t.Run("stale ETag answers at once", func(t *testing.T) {
		start := time.Now()
		r := g.desired(t, etag, "?wait=5s")
		if r.Status != http.StatusOK || time.Since(start) > 2*time.Second {
			t.Errorf("status %d after %s, want 200 at once", r.Status, time.Since(start))
		}
	})

	for _, bad := range []string{"bad", "-1s", "5"} {
		wantError(t, g.desired(t, "", "?wait="+bad), http.StatusBadRequest, "invalid_argument", "wait")
	}
}

func TestGWLongPollManyGateways(t *testing.T) {
	// A deployment wakes its own gateway only.
	s := apitest.New(t)
	a := s.AdminToken
	const n = 12
	gws := make([]*gwSim, n)
	for i := range gws {
		gws[i] = gwNewInstance(t, s, a, fmt.Sprintf("g%02d", i))
	}
	etag := gws[0].desired(t, "", "").Header.Get("ETag")
	type result struct {
		i       int
		status  int
		elapsed time.Duration
	}
	results := make(chan result, n)
	for i, g := range gws {
		go func() {
			req, _ := http.NewRequest("GET", s.URL+"/api/v1/gateway/desired?wait=3s", nil)
			req.Header.Set("Authorization", "Bearer "+g.secret)
			req.Header.Set("If-None-Match", etag)
			start := time.Now()
			resp, err := s.Client.Do(req)
			if err != nil {
				results <- result{i, -1, 0}
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			results <- result{i, resp.StatusCode, time.Since(start)}
		}()
	}
	time.Sleep(300 * time.Millisecond)
	gwDeploy(t, s, a, "g07", "deploy")
	for k := range gws {
		var r result
		select {
		case r = <-results:
		case <-time.After(15 * time.Second): // a lost answer fails here rather than hanging the run
			t.Fatalf("%d gateways still unanswered 15 s after their deadline", n-k)
		}
		switch {
		case r.i == 7 && (r.status != http.StatusOK || r.elapsed > 2*time.Second):
			t.Errorf("the deployed gateway: %d after %s, want 200 before the deadline", r.status, r.elapsed)
		case r.i != 7 && (r.status != http.StatusNotModified || r.elapsed < 3*time.Second):
			t.Errorf("gateway %d: %d after %s, want 304 at the deadline", r.i, r.status, r.elapsed)
		}
	}
}
