package console_test

import (
	"html"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"github.com/driverhub/driverhub/internal/apitest"
	"github.com/driverhub/driverhub/internal/console"
	"github.com/driverhub/driverhub/internal/testenv"
)

var secretPattern = regexp.MustCompile(`id="gateway-secret" class="code wide" value="(dhg_[0-9a-f]+)"`)

// createInstance creates an instance through its form and returns its gateway secret.
func createInstance(t testing.TB, b *browser, name string) (string, *page) {
	t.Helper()
	p := b.post("/instances", url.Values{"name": {name}, "description": {"line 1"}, "tags": {"site=plant-1\nline=3"}})
	if p.Status != http.StatusCreated {
		t.Fatalf("create instance: %d %s", p.Status, snippet(p.Body))
	}
	m := secretPattern.FindStringSubmatch(p.Body)
	if m == nil {
		t.Fatalf("no gateway secret on the page: %s", snippet(p.Body))
	}
	return m[1], p
}

func TestInstanceBindAssociateDeploy(t *testing.T) {
	srv := apitest.New(t)
	b := adminBrowser(t, srv)
	if p := b.saveDraft("/drivers/new", meterForm(t, "meter", pythonPackage(t))...); p.Status != http.StatusSeeOther {
		t.Fatalf("create driver: %d %s", p.Status, snippet(p.Body))
	}
	secret, created := createInstance(t, b, "gw1")
	instanceSecretPage(t, srv, b, secret, created)
	instanceBindAndAssociate(t, b)
	instanceDriverConfig(t, b)
	instanceDeploy(t, srv, b, secret)
	instanceResetRotateRemove(t, b, secret)
}

// instanceSecretPage checks the page that shows gw1's new secret, a
// refused instance name, and gw1's page before its gateway reports.
func instanceSecretPage(t *testing.T, srv *apitest.Server, b *browser, secret string, created *page) {
	cmd := "driverhub agent --server " + srv.URL + " --dir /var/lib/driverhub-agent --secret-file /etc/driverhub/gateway-secret"
	if !strings.Contains(created.Body, cmd) || !strings.Contains(created.Body, html.EscapeString(console.SecretFileCommand())) {
		t.Errorf("the secret page lacks the agent command or the secret file command: %s", created.Body)
	}
	// The secret is on the page once, in its copyable field: never in a command line, so never in a shell's history.
	if n := strings.Count(created.Body, secret); n != 1 || !strings.Contains(created.Body, `id="gateway-secret" class="code wide" value="`+secret+`"`) {
		t.Errorf("the secret shows %d times, want once, in its field", n)
	}
	writeSecretFile(t, secret)
	if created.Header.Get("Cache-Control") != "no-store" {
		t.Error("the page with the secret may be cached")
	}
	if p := b.post("/instances", url.Values{"name": {"bad name!"}, "description": {"kept"}}); p.Status != http.StatusBadRequest ||
		!strings.Contains(p.Body, `id="err-name"`) || !strings.Contains(p.Body, `value="bad name!"`) {
		t.Errorf("bad instance name: %d %s", p.Status, snippet(p.Body))
	}
	inst := b.mustGet("/instances/gw1").Body
	if !strings.Contains(inst, `id="gateway-state">Offline`) || strings.Contains(inst, secret) {
		t.Error("the instance page shows the gateway online, or the secret again")
	}
}

// instanceBindAndAssociate binds meter 1.0.0 to gw1 and associates a
// device with it, after refusing a bind and a device config.
func instanceBindAndAssociate(t *testing.T, b *browser) {
	if p := b.post("/instances/gw1/bind", url.Values{"choice": {"|meter|"}}); p.Status != http.StatusBadRequest || !strings.Contains(p.Body, "no published version") {
		t.Errorf("binding the newest published of a driver without one: %d %s", p.Status, snippet(p.Body))
	}
	if p := b.post("/instances/gw1/bind", url.Values{"choice": {"|meter|1.0.0"}}); p.Status != http.StatusSeeOther {
		t.Fatalf("bind: %d %s", p.Status, snippet(p.Body))
	}
	p := b.post("/instances/gw1/devices", url.Values{"product": {"pm800"}, "name": {"meter-1"}, "driver": {"meter"}, "config": {`{"slave": 1,}`}})
	if p.Status != http.StatusBadRequest || !strings.Contains(p.Body, `id="err-device-config"`) || !strings.Contains(p.Body, `value="meter-1"`) {
		t.Errorf("malformed device config: %d %s", p.Status, snippet(p.Body))
	}
	if p := b.post("/instances/gw1/devices", url.Values{"product": {"pm800"}, "name": {"meter-1"}, "driver": {"meter"}, "config": {`{"slave": 1}`}}); p.Status != http.StatusSeeOther {
		t.Fatalf("associate: %d %s", p.Status, snippet(p.Body))
	}
	if p := b.post("/instances/gw1/devices?op=validate-json", url.Values{"product": {"pm800"}, "name": {"meter-1"}, "existing": {"1"}, "config": {`{"a":`}}); !strings.Contains(p.Body, "line 1, column 6") {
		t.Errorf("validate device config: %s", snippet(p.Body))
	}
}

// instanceDriverConfig sets meter's instance driver config on gw1, which
// deploying requires, and refuses a kv config without a key.
func instanceDriverConfig(t *testing.T, b *browser) {
	// The version requires an instance driver config: deploying lists the problem.
	p := b.post("/instances/gw1/deployments", url.Values{"type": {"deploy"}})
	if p.Status != http.StatusUnprocessableEntity || !strings.Contains(p.Body, "driver_config_missing") {
		t.Fatalf("deploy without the required config: %d %s", p.Status, snippet(p.Body))
	}
	cfg := b.postMultipart("/instances/gw1/drivers/meter/config", field("config_format", "json"), field("json", `{"poll_ms": 250}`))
	if cfg.Status != http.StatusSeeOther {
		t.Fatalf("instance driver config: %d %s", cfg.Status, snippet(cfg.Body))
	}
	bad := b.postMultipart("/instances/gw1/drivers/meter/config", field("config_format", "kv"), field("kv_key", ""), field("kv_value", "x"), field("kv_note", ""))
	if bad.Status != http.StatusBadRequest || !strings.Contains(bad.Body, `id="err-driver_config-kv-0-key"`) {
		t.Errorf("kv config without key: %d %s", bad.Status, snippet(bad.Body))
	}
}

// instanceDeploy deploys gw1 once its gateway says it isolates drivers,
// and follows the deployment to its end through a simulated gateway.
func instanceDeploy(t *testing.T, srv *apitest.Server, b *browser, secret string) {
	// The meter's private network needs a gateway that said it isolates drivers.
	srv.Must(t, http.StatusNoContent, "POST", "/api/v1/gateway/report", secret, map[string]any{"capabilities": map[string]any{"runtimes": []string{"runc"}, "isolation": true, "cgroup": "v2"}})
	p := b.post("/instances/gw1/deployments", url.Values{"type": {"deploy"}})
	if p.Status != http.StatusSeeOther || !strings.HasPrefix(p.Location, "/instances/gw1/deployments/") {
		t.Fatalf("deploy: %d %q %s", p.Status, p.Location, snippet(p.Body))
	}
	dep := b.mustGet(p.Location).Body
	if !strings.Contains(dep, `data-status="pending"`) || !strings.Contains(dep, `data-live="running"`) {
		t.Errorf("new deployment page: %s", snippet(dep))
	}
	m := desired(t, srv, secret)
	if len(m.Drivers) != 1 || m.Drivers[0].Name != "meter" || string(m.Drivers[0].RuntimeConfig.Config.JSON) != `{"poll_ms":250}` {
		t.Errorf("manifest: %+v", m)
	}
	succeed(t, srv, secret, m)
	srv.Must(t, http.StatusNoContent, "POST", "/api/v1/gateway/logs", secret, map[string]any{"driver": "meter",
		"lines": []map[string]any{{"time": "2026-01-02T03:04:05Z", "stream": "stdout", "text": "hello from the meter driver"}}})
	dep = b.mustGet(p.Location).Body
	for _, want := range []string{`data-status="succeeded"`, `data-live="done"`, "started meter", "hello from the meter driver", "state-running"} {
		if !strings.Contains(dep, want) {
			t.Errorf("finished deployment page lacks %s", want)
		}
	}
	inst := b.mustGet("/instances/gw1").Body
	if !strings.Contains(inst, `id="gateway-state">Online`) || !strings.Contains(inst, "deploy-succeeded") {
		t.Error("the instance page does not show the gateway online and the deployment succeeded")
	}
	if bp := b.mustGet("/instances/gw1/drivers/meter").Body; !strings.Contains(bp, "hello from the meter driver") || !strings.Contains(bp, `value="|meter|1.0.0" selected`) {
		t.Error("the binding page lacks the driver's logs or its version")
	}
}

// instanceResetRotateRemove resets gw1, rotates its secret, fails to
// delete it while it has drivers, and removes its device and its binding.
func instanceResetRotateRemove(t *testing.T, b *browser, secret string) {
	// Reset, rotate, remove.
	if p := b.post("/instances/gw1/deployments", url.Values{"type": {"reset"}}); p.Status != http.StatusSeeOther {
		t.Errorf("reset: %d", p.Status)
	}
	rot := b.post("/instances/gw1/rotate-secret", nil)
	if m := secretPattern.FindStringSubmatch(rot.Body); rot.Status != http.StatusOK || m == nil || m[1] == secret {
		t.Errorf("rotate: %d", rot.Status)
	}
	if p := b.post("/instances/gw1/delete", nil); p.Status != http.StatusConflict {
		t.Errorf("deleting an instance with drivers: %d", p.Status)
	}
	if p := b.post("/instances/gw1/devices/pm800/meter-1/remove", nil); p.Status != http.StatusSeeOther {
		t.Errorf("remove device: %d", p.Status)
	}
	if p := b.post("/instances/gw1/drivers/meter/unbind", nil); p.Status != http.StatusSeeOther {
		t.Errorf("unbind: %d %s", p.Status, snippet(p.Body))
	}
}

func TestUsersAndTokens(t *testing.T) {
	srv := apitest.New(t)
	b := adminBrowser(t, srv)
	if p := b.post("/users", url.Values{"username": {"dev1"}, "password": {"short"}, "role": {"developer"}}); p.Status != http.StatusBadRequest ||
		!strings.Contains(p.Body, `id="err-password"`) || !strings.Contains(p.Body, `value="dev1"`) {
		t.Errorf("short password: %d %s", p.Status, snippet(p.Body))
	}
	if p := b.post("/users", url.Values{"username": {"dev1"}, "password": {"a-long-password"}, "role": {"developer"}}); p.Status != http.StatusSeeOther {
		t.Fatalf("create user: %d", p.Status)
	}
	if p := b.post("/users/dev1", url.Values{"role": {"viewer"}}); p.Status != http.StatusSeeOther {
		t.Errorf("change role: %d", p.Status)
	}
	p := b.post("/tokens", url.Values{"name": {"ci"}, "role": {"developer"}})
	tok := regexp.MustCompile(`id="new-token" class="code wide" value="(dht_[0-9a-f]+)"`).FindStringSubmatch(p.Body)
	if p.Status != http.StatusCreated || tok == nil {
		t.Fatalf("create token: %d %s", p.Status, snippet(p.Body))
	}
	if r := srv.Do(t, "GET", "/api/v1/drivers", tok[1], nil); r.Status != http.StatusOK {
		t.Errorf("the new token does not work: %d", r.Status)
	}
	list := b.mustGet("/tokens").Body
	if strings.Contains(list, tok[1]) || !strings.Contains(list, "this session") {
		t.Error("the token list shows a secret, or not this session")
	}
	id := regexp.MustCompile(`/tokens/([0-9a-f-]+)/revoke`).FindAllStringSubmatch(list, -1)
	if len(id) == 0 {
		t.Fatal("no revoke forms")
	}
	if p := b.post("/tokens/"+id[0][1]+"/revoke", nil); p.Status != http.StatusSeeOther {
		t.Errorf("revoke: %d", p.Status)
	}
	if p := b.post("/users/dev1/delete", nil); p.Status != http.StatusSeeOther {
		t.Errorf("delete user: %d", p.Status)
	}
}

// writeSecretFile runs the page's secret file command as a gateway's root
// would, in a directory of the test, typing the secret when it waits: the
// file must hold the secret, readable by its owner only.
func writeSecretFile(t *testing.T, secret string) {
	t.Helper()
	bash := testenv.Command(t, "bash")
	dir := t.TempDir()
	line := strings.NewReplacer("/etc/driverhub", dir+"/etc", "/var/lib/driverhub-agent", dir+"/agent").Replace(console.SecretFileCommand())
	cmd := exec.Command(bash, "-c", line)
	cmd.Stdin = strings.NewReader(secret + "\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v: %s", line, err, out)
	}
	b, err := os.ReadFile(dir + "/etc/gateway-secret")
	if err != nil || string(b) != secret+"\n" {
		t.Fatalf("the secret file holds %q, %v; want the secret", b, err)
	}
	if fi, _ := os.Stat(dir + "/etc/gateway-secret"); fi.Mode().Perm() != 0o600 {
		t.Errorf("the secret file's mode is %v, want 0600", fi.Mode().Perm())
	}
}
