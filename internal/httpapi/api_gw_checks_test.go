package httpapi_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/driverhub/driverhub/internal/apitest"
)

// gwCheckFixture binds to instance inst one driver per deploy-time check,
// each failing it on a gateway that reported edge 0.9.0, x86-64 and no
// built-in "Builtin"; device <inst>-bare lacks the config DevReq requires.
func gwCheckFixture(t testing.TB, s *apitest.Server, a, inst string) {
	t.Helper()
	low := map[string]any{"min_edge_version": "0.1.0"}
	with := func(m map[string]any) map[string]any {
		out := map[string]any{}
		for k, v := range low {
			out[k] = v
		}
		for k, v := range m {
			out[k] = v
		}
		return out
	}
	exists := func(d string) bool { return s.Do(t, "GET", driverPath(d), a, nil).Status == http.StatusOK }

	// driver_config_missing
	if !exists("CfgReq") {
		newDriver(t, s, a, "CfgReq", "python3")
		gwNewVersionWith(t, s, a, "CfgReq", "1", with(map[string]any{"config_checks": map[string]bool{"driver_config_required": true},
			"driver_config": map[string]any{"format": "kv", "kv": []any{}}}))
		gwUploadPackage(t, s, a, "CfgReq", "1", pyPackage(t, "pass\n"))
		gwPublish(t, s, a, "CfgReq", "1")

		// device_config_missing
		newDriver(t, s, a, "DevReq", "nodejs")
		gwNewVersionWith(t, s, a, "DevReq", "1", with(map[string]any{"config_checks": map[string]bool{"device_config_required": true}}))
		gwUploadPackage(t, s, a, "DevReq", "1", buildZip(t, "index.js", "1\n"))
		gwPublish(t, s, a, "DevReq", "1")

		// package_missing
		newDriver(t, s, a, "NoPkg", "python3")
		gwNewVersionWith(t, s, a, "NoPkg", "dbg", low)

		// edge_version_too_old
		newDriver(t, s, a, "Edgy", "python3")
		gwNewVersionWith(t, s, a, "Edgy", "1", map[string]any{"min_edge_version": "1.0.0"})
		gwUploadPackage(t, s, a, "Edgy", "1", pyPackage(t, "pass\n"))
		gwPublish(t, s, a, "Edgy", "1")

		// arch_mismatch
		s.Must(t, http.StatusCreated, "POST", "/api/v1/drivers", a, map[string]any{"name": "ArmC", "protocol": "custom", "runtime": "c", "cpu_arch": "armv7"})
		gwNewVersionWith(t, s, a, "ArmC", "1", low)
		gwUploadPackage(t, s, a, "ArmC", "1", buildZip(t, "main", "\x7fELF", "lib/libx.so", "x"))
		gwPublish(t, s, a, "ArmC", "1")

		// builtin_missing
		s.Must(t, http.StatusCreated, "POST", "/api/v1/drivers", a, map[string]any{"name": "Builtin", "protocol": "modbus", "runtime": "java", "builtin": true})
		gwNewVersionWith(t, s, a, "Builtin", "1", low)
		gwPublish(t, s, a, "Builtin", "1")
	}

	for _, d := range []string{"CfgReq", "DevReq", "Edgy", "ArmC", "Builtin"} {
		gwBind(t, s, a, inst, d, nil)
	}
	gwBind(t, s, a, inst, "NoPkg", map[string]any{"version": "dbg"})
	gwNewDevice(t, s, a, "pump", inst+"-bare")
	gwNewDevice(t, s, a, "pump", inst+"-set")
	gwAssociate(t, s, a, inst, "pump", inst+"-bare", "DevReq", nil)
	gwAssociate(t, s, a, inst, "pump", inst+"-set", "DevReq", map[string]any{"slave": 1})
}

func TestGWDeployChecksAllAtOnce(t *testing.T) {
	s := apitest.New(t)
	a := s.AdminToken
	g := gwNewInstance(t, s, a, "checked")
	gwCheckFixture(t, s, a, "checked")
	g.report(t, map[string]any{"edge_version": "0.9.0", "arch": "x86-64", "builtin_drivers": []string{"SomethingElse"}})

	r := s.Do(t, "POST", gwDeploymentsPath("checked"), a, map[string]any{"type": "deploy"})
	e := wantError(t, r, http.StatusUnprocessableEntity, "failed_precondition", "")
	want := map[string]string{ // code → a name its resource must hold
		"driver_config_missing": "CfgReq",
		"device_config_missing": "checked-bare",
		"package_missing":       "NoPkg",
		"edge_version_too_old":  "Edgy",
		"arch_mismatch":         "ArmC",
		"builtin_missing":       "Builtin",
	}
	var codes []string
	for _, p := range e.Problems {
		codes = append(codes, string(p.Code))
		if p.Message == "" {
			t.Errorf("problem %+v has no message", p)
		}
		if name, ok := want[string(p.Code)]; ok && !strings.Contains(p.Resource, name) {
			t.Errorf("problem %s: resource %q does not name %s", p.Code, p.Resource, name)
		}
		if strings.Contains(p.Resource, "checked-set") {
			t.Errorf("a device with a config raised %+v", p)
		}
	}
	slices.Sort(codes)
	diff(t, "problem codes, one each", []string{"arch_mismatch", "builtin_missing", "device_config_missing",
		"driver_config_missing", "edge_version_too_old", "package_missing"}, codes)

	// Nothing was created.
	var l struct {
		Items []any `json:"items"`
	}
	s.Must(t, http.StatusOK, "GET", gwDeploymentsPath("checked"), a, nil).Decode(t, &l)
	if len(l.Items) != 0 {
		t.Errorf("a refused deployment was stored: %v", l.Items)
	}
	diff(t, "manifest", map[string]any{"deployment_id": "", "type": "none", "drivers": []any{}}, g.manifest(t))

	// A reset needs none of it.
	gwDeploy(t, s, a, "checked", "reset")

	// Fix one thing at a time: the problems shrink to the rest.
	fixes := []struct {
		code string
		fix  func()
	}{
		{"driver_config_missing", func() {
			s.Must(t, http.StatusOK, "PUT", gwBindingPath("checked", "CfgReq")+"/config", a, `{"format":"kv","kv":[{"key":"k","value":"v"}]}`)
		}},
		{"device_config_missing", func() { gwAssociate(t, s, a, "checked", "pump", "checked-bare", "DevReq", "{}") }},
		{"package_missing", func() { gwUploadPackage(t, s, a, "NoPkg", "dbg", pyPackage(t, "pass\n")) }},
		{"edge_version_too_old", func() { g.report(t, map[string]any{"edge_version": "1.0.0"}) }},
		{"arch_mismatch", func() { g.report(t, map[string]any{"arch": "armv7"}) }},
		{"builtin_missing", func() { g.report(t, map[string]any{"builtin_drivers": []string{"Builtin"}}) }},
	}
	left := slices.Clone(codes)
	for _, f := range fixes {
		f.fix()
		left = slices.DeleteFunc(left, func(c string) bool { return c == f.code })
		r := s.Do(t, "POST", gwDeploymentsPath("checked"), a, map[string]any{"type": "deploy"})
		if len(left) == 0 {
			if r.Status != http.StatusCreated {
				t.Fatalf("all fixed: status %d: %s", r.Status, r.Body)
			}
			break
		}
		got := gwProblemCodes(t, r)
		slices.Sort(got)
		diff(t, "after fixing "+f.code, left, got)
	}
}

func TestGWDeployChecksUnknownGateway(t *testing.T) {
	// Before the gateway reports, its version, arch and built-ins are
	// unknown: those checks wait; the config and package checks do not.
	s := apitest.New(t)
	a := s.AdminToken
	gwNewInstance(t, s, a, "fresh")
	gwCheckFixture(t, s, a, "fresh")
	got := gwProblemCodes(t, s.Do(t, "POST", gwDeploymentsPath("fresh"), a, nil))
	slices.Sort(got)
	diff(t, "problems of an unknown gateway", []string{"device_config_missing", "driver_config_missing", "package_missing"}, got)
}

func TestGWDeployChecksEmptyBuiltins(t *testing.T) {
	// A gateway that reported no built-ins at all has none.
	s := apitest.New(t)
	a := s.AdminToken
	g := gwNewInstance(t, s, a, "bare")
	s.Must(t, http.StatusCreated, "POST", "/api/v1/drivers", a, map[string]any{"name": "Bi", "protocol": "opcua", "runtime": "java", "builtin": true})
	newVersion(t, s, a, "Bi", "1")
	gwPublish(t, s, a, "Bi", "1")
	gwBind(t, s, a, "bare", "Bi", nil)

	gwDeploy(t, s, a, "bare", "deploy") // nothing reported: the check waits
	g.report(t, map[string]any{"builtin_drivers": []string{}})
	diff(t, "problems", []string{"builtin_missing"}, gwProblemCodes(t, s.Do(t, "POST", gwDeploymentsPath("bare"), a, nil)))
	g.report(t, map[string]any{"builtin_drivers": []string{"Bi"}})
	gwDeploy(t, s, a, "bare", "deploy")
}

// acquisition_missing is not reachable through the API: acquisitions are
// never deleted, and a listed driver with a published version can be
// neither deleted nor unpublished, so an acquired binding keeps its
// acquisition. TestGWMarketUnlist checks that unlisting does not raise it.

func TestGWDeployChecksEdgeVersion(t *testing.T) {
	s := apitest.New(t)
	a := s.AdminToken
	g := gwNewInstance(t, s, a, "ev")
	newDriver(t, s, a, "Ev", "python3")
	tests := []struct {
		gateway, min string
		tooOld       bool
	}{
		{"1.0.0", "1.0.0", false},
		{"1.10.0", "1.9.0", false},
		{"1.9.9", "1.10.0", true},
		{"2.0.0", "1.99.99", false},
		{"0.9.0", "1.0.0", true},
		{"1.0.10", "1.0.9", false},
		{"1.0.1", "1.0.2", true},
	}
	for k, tc := range tests {
		t.Run(tc.gateway+" vs "+tc.min, func(t *testing.T) {
			v := "v" + string(rune('a'+k))
			gwNewVersionWith(t, s, a, "Ev", v, map[string]any{"min_edge_version": tc.min})
			gwUploadPackage(t, s, a, "Ev", v, pyPackage(t, "pass\n"))
			gwBind(t, s, a, "ev", "Ev", map[string]any{"version": v})
			g.report(t, map[string]any{"edge_version": tc.gateway})
			r := s.Do(t, "POST", gwDeploymentsPath("ev"), a, nil)
			if !tc.tooOld {
				if r.Status != http.StatusCreated {
					t.Fatalf("status %d, want 201: %s", r.Status, r.Body)
				}
				return
			}
			diff(t, "problems", []string{"edge_version_too_old"}, gwProblemCodes(t, r))
		})
	}
}

func TestGWDeployRefusedKeepsCurrent(t *testing.T) {
	// A refused deployment supersedes nothing.
	s := apitest.New(t)
	a := s.AdminToken
	g := gwDeployable(t, s, a, "keep")
	id := gwStr(gwDeploy(t, s, a, "keep", "deploy"), "id")
	newDriver(t, s, a, "Broken", "python3")
	newVersion(t, s, a, "Broken", "dbg")
	gwBind(t, s, a, "keep", "Broken", map[string]any{"version": "dbg"})
	diff(t, "problems", []string{"package_missing"}, gwProblemCodes(t, s.Do(t, "POST", gwDeploymentsPath("keep"), a, nil)))
	gwWantStatus(t, s, a, "keep", id, "pending")
	diff(t, "the gateway still gets it", id, g.manifest(t)["deployment_id"])
	gwWantStatus(t, s, a, "keep", id, "processing")
}
