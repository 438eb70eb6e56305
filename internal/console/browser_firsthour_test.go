package console_test

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/driverhub/driverhub"
	"github.com/driverhub/driverhub/internal/apitest"
	"github.com/driverhub/driverhub/internal/console"
)

// clock is a server clock the test moves, to take a gateway offline.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// msg is a console text in a language, formatted.
func msg(t *testing.T, lang, key string, args ...any) string {
	t.Helper()
	s, ok := console.Translate(lang, key)
	if !ok {
		t.Fatalf("no message %s", key)
	}
	if len(args) > 0 {
		s = fmt.Sprintf(s, args...)
	}
	return s
}

// TestBrowserFirstHour walks a newcomer's first hour in each language, in
// Chromium: a gateway that already reports, a driver made with the seed's
// form (edge version chosen, JSON checked while typing, the uploaded file
// confirmed), published through a dialog that shows what becomes
// permanent, listed and found in the marketplace, bound, configured,
// deployed, its logs read from their newest line, and its gateway gone
// offline.
func TestBrowserFirstHour(t *testing.T) {
	for _, lang := range console.Languages {
		t.Run(lang, func(t *testing.T) { firstHour(t, lang) })
	}
}

func firstHour(t *testing.T, lang string) {
	clk := &clock{now: time.Now().UTC()}
	srv := apitest.New(t, apitest.Options{Now: clk.Now})
	secret := reportingGateway(t, srv, "gw0")
	u := newUI(t, srv)
	user, pw := newUser(t, srv, "nina", driverhub.RoleDeveloper)
	u.login(user, pw)
	u.open("/lang?to="+lang+"&next=/drivers", "drivers-empty")

	pkg := filepath.Join(t.TempDir(), "meter.zip")
	data := pythonPackage(t)
	if err := os.WriteFile(pkg, data, 0o644); err != nil {
		t.Fatal(err)
	}
	newDriverWithConfirmedFile(t, u, srv, lang, pkg, data)
	publishAndList(t, u, lang, data)
	searchMarketplace(t, u, lang)
	deployment := bindConfigureAndDeploy(t, u, srv, lang, secret)
	readLogs(t, u, srv, lang, secret, deployment)
	goOffline(t, u, srv, clk, lang)
	secretPage(t, u, lang)
}

// reportingGateway makes an instance whose gateway reports edge 1.2.0, a
// Python 3.11.2 and what it can enforce, and returns its secret.
func reportingGateway(t *testing.T, srv *apitest.Server, name string) string {
	var i driverhub.Instance
	srv.Must(t, http.StatusCreated, "POST", "/api/v1/instances", srv.AdminToken, map[string]any{"name": name}).Decode(t, &i)
	report(t, srv, i.GatewaySecret, gatewayFacts("1.2.0"))
	return i.GatewaySecret
}

// gatewayFacts is a report of what an agent says of its gateway in every report.
func gatewayFacts(edge string) map[string]any {
	return map[string]any{"edge_version": edge, "arch": "x86-64", "builtin_drivers": []string{},
		"runtime_versions": map[string]string{"python3": "3.11.2"},
		"capabilities":     map[string]any{"runtimes": []string{"process"}, "isolation": false, "cgroup": "v2"}}
}

// gatewayView is the instance's gateway as the API shows it: what the
// console must show too.
func gatewayView(t *testing.T, srv *apitest.Server, name string) driverhub.Gateway {
	var i driverhub.Instance
	srv.Must(t, http.StatusOK, "GET", "/api/v1/instances/"+name, srv.AdminToken, nil).Decode(t, &i)
	return i.Gateway
}

func newDriverWithConfirmedFile(t *testing.T, u *ui, srv *apitest.Server, lang, pkg string, data []byte) {
	u.submit("#new-driver", "new-driver-form")
	// The language list says what the gateways have, as the service knows it.
	python := run(u, "Python option", chromedp.Evaluate[string](`document.querySelector('#runtime option[value="python3"]').textContent`))
	if v := gatewayView(t, srv, "gw0").RuntimeVersions["python3"]; v != "" {
		if want := msg(t, lang, "form.gateways_have", v); !strings.Contains(python, want) {
			t.Errorf("the Python option says %q, want it to say %q", python, want)
		}
	} else if strings.Contains(python, "3.11.2") {
		t.Errorf("the Python option claims a version no gateway is known to have: %q", python)
	}
	// The edge version is chosen: the fleet's 1.2.0 above this server's own, then another.
	opts := run(u, "edge versions", chromedp.Evaluate[[]string](`[...document.querySelectorAll('#min_edge_version option')].map(o => o.value)`))
	if want := []string{"1.2.0", driverhub.Version, "other"}; strings.Join(opts, " ") != strings.Join(want, " ") {
		t.Errorf("edge versions offered: %q, want %q", opts, want)
	}
	if u.eval(`!document.getElementById('min-edge-other').hidden`) {
		t.Error("the field for another edge version shows before it is chosen")
	}
	u.choose("#min_edge_version", "other")
	u.do("another edge version", chromedp.WaitVisible(chromedp.ID("min_edge_version_other")),
		chromedp.SendKeys(chromedp.ID("min_edge_version_other"), "1.1.0"))
	u.shot("edge-version-other")

	// The JSON config is checked while typing, with no button pressed.
	u.do("JSON config", chromedp.Click(chromedp.CSS(`input[name="config_format"][value="json"]`)), chromedp.WaitVisible(chromedp.ID("json")),
		chromedp.SendKeys(chromedp.ID("json"), `{"poll_ms": 500,}`), chromedp.WaitVisible(chromedp.CSS("#json-check.bad")))
	u.shot("json-checked-while-typing")
	u.eval(`(() => { const a = document.getElementById('json'); a.value = ''; return true })()`)
	u.do("JSON fixed", chromedp.SendKeys(chromedp.ID("json"), `{"poll_ms": 500}`), chromedp.WaitVisible(chromedp.CSS("#json-check.ok")))

	u.do("fill the form", chromedp.SendKeys(chromedp.ID("name"), "meter"),
		chromedp.Click(chromedp.ID("driver_config_required")),
		chromedp.SetUploadFiles(chromedp.ID("package"), []string{pkg}))
	u.choose("#runtime", "python3")
	u.submit("#submit", "uploaded-file-to-confirm")
	// The file uploaded; the form shows it and nothing is saved until Confirm.
	summary := u.text("#package-summary")
	for _, want := range []string{"meter.zip", fmt.Sprintf("%d B", len(data)), sha256Hex(data), msg(t, lang, "upload.entry_found", "index.py")} {
		if !strings.Contains(summary, want) {
			t.Errorf("the uploaded file's summary %q lacks %q", summary, want)
		}
	}
	if r := srv.Do(t, "GET", "/api/v1/drivers/meter", srv.AdminToken, nil); r.Status != http.StatusNotFound {
		t.Fatalf("the driver was saved before its file was confirmed: %d", r.Status)
	}
	if got := u.value("#min_edge_version"); got != "1.1.0" {
		t.Errorf("the typed edge version came back as %q, want it chosen in the list", got)
	}
	u.submit("#submit", "driver-created")
	var v driverhub.DriverVersion
	srv.Must(t, http.StatusOK, "GET", "/api/v1/drivers/meter/versions/1.0.0", srv.AdminToken, nil).Decode(t, &v)
	if v.MinEdgeVersion != "1.1.0" || v.Package == nil || v.Package.SHA256 != sha256Hex(data) || v.DriverConfig == nil || !strings.Contains(string(v.DriverConfig.JSON), "poll_ms") {
		t.Errorf("saved version: edge %q, package %+v, config %s", v.MinEdgeVersion, v.Package, v.DriverConfig.JSON)
	}
}

func publishAndList(t *testing.T, u *ui, lang string, data []byte) {
	u.open("/drivers", "drivers-draft")
	row := `#drivers-table tr[data-driver="meter"]`
	if u.eval(`document.querySelector('` + row + ` .act-list') !== null`) {
		t.Error("the drivers list offers to list a driver with nothing published")
	}
	u.open("/drivers/meter", "driver-page")
	u.do("open the publish dialog", chromedp.Click(chromedp.CSS(`tr[data-version="1.0.0"] .act-publish`)), chromedp.WaitVisible(chromedp.ID("dlg-publish-0")))
	u.shot("publish-dialog")
	dlg := u.text("#dlg-publish-0")
	for _, want := range []string{sha256Hex(data), "meter.zip", "1.1.0", `"poll_ms": 500`, "1024 MB", msg(t, lang, "publish.permanent")} {
		if !strings.Contains(dlg, want) {
			t.Errorf("the publish dialog does not show %q: %q", want, dlg)
		}
	}
	u.submit(`#dlg-publish-0 button[type="submit"]`, "published")

	u.open("/drivers", "drivers-published")
	if latest := u.text(row + " .latest"); !strings.Contains(latest, "1.0.0") || !strings.Contains(latest, msg(t, lang, "status.published")) {
		t.Errorf("newest version column: %q", latest)
	}
	u.submit(row+" .act-list", "listing-form")
	u.do("summary", chromedp.SendKeys(chromedp.ID("summary"), "Reads Modbus power meters"))
	u.submit("#list-driver", "listed")
	u.open("/drivers", "drivers-listed")
	if u.eval(`document.querySelector('`+row+` .act-list') !== null`) || !strings.Contains(u.text(row+" .listing"), msg(t, lang, "driver.listed")) {
		t.Error("a listed driver is still offered for listing, or not shown as listed")
	}

	// The published version is a page to read, where only the description changes.
	u.submit(row+" .latest a", "published-version")
	if u.eval(`document.getElementById('version') !== null || document.getElementById('min_edge_version') !== null`) {
		t.Error("the published version's page shows the edit form")
	}
	if !strings.Contains(u.text(".version-facts"), sha256Hex(data)) {
		t.Error("the published version's page does not show its package digest")
	}
	u.do("describe", chromedp.SendKeys(chromedp.ID("description"), "Modbus RTU and TCP"))
	u.submit("#submit", "description-saved")
	if n := u.text(".notice"); n != msg(t, lang, "notice.version_saved") {
		t.Errorf("after saving the description: %q", n)
	}
}

func searchMarketplace(t *testing.T, u *ui, lang string) {
	u.open("/marketplace?q=nothing-like-it", "market-no-match")
	if got := u.text("#market-empty"); got != msg(t, lang, "market.none_match") {
		t.Errorf("a search without matches says %q", got)
	}
	u.open("/marketplace", "market")
	u.do("search", chromedp.SendKeys(chromedp.ID("m-q"), "POWER"))
	u.choose("#m-runtime", "python3")
	u.submit("#market-filter", "market-found")
	if txt := u.text("#listings"); !strings.Contains(txt, "meter") {
		t.Errorf("searching the summary found %q", txt)
	}
	u.choose("#m-runtime", "java")
	u.submit("#market-filter", "market-other-runtime")
	if !u.eval(`document.getElementById('listings') === null`) {
		t.Error("a Python driver matched a search for Java drivers")
	}
}

// bindConfigureAndDeploy returns the path of the deployment's page.
func bindConfigureAndDeploy(t *testing.T, u *ui, srv *apitest.Server, lang, secret string) string {
	u.open("/instances/gw0", "instance")
	u.choose("#bind-choice", "|meter|")
	u.submit("#bind", "bound")
	// Remove asks first.
	u.do("remove asks", chromedp.Click(chromedp.CSS(`tr[data-driver="meter"] .act-unbind`)), chromedp.WaitVisible(chromedp.ID("dlg-unbind-0")))
	u.shot("unbind-dialog")
	if !strings.Contains(u.text("#dlg-unbind-0"), "meter") {
		t.Error("the remove dialog does not name the driver")
	}
	u.do("keep it", chromedp.Click(chromedp.CSS(`#dlg-unbind-0 [data-close]`)), chromedp.WaitNotVisible(chromedp.ID("dlg-unbind-0")))

	u.open("/instances/gw0/drivers/meter", "binding-needs-config")
	if got := u.text("#config-check"); got != msg(t, lang, "binding.config_required") {
		t.Errorf("without an instance config the page says %q", got)
	}
	u.do("instance config", chromedp.Click(chromedp.CSS(`#binding-config-form input[name="config_format"][value="json"]`)),
		chromedp.WaitVisible(chromedp.ID("json")))
	u.eval(`(() => { document.getElementById('json').value = ''; return true })()`) // it starts from the version's default
	u.do("instance JSON", chromedp.SendKeys(chromedp.ID("json"), `{"poll_ms": 250}`))
	u.submit("#save-binding-config", "binding-configured")
	if got := u.text("#config-check"); !strings.Contains(got, msg(t, lang, "binding.config_required_met")) {
		t.Errorf("with an instance config the page says %q", got)
	}

	u.open("/instances/gw0", "instance-before-deploy")
	u.submit("#deploy", "deployment-pending")
	m := desired(t, srv, secret)
	if len(m.Drivers) != 1 {
		t.Fatalf("the deployment holds %d drivers, want the meter", len(m.Drivers))
	}
	m.Drivers[0].Version = "0.9.0" // the gateway reports another version running
	succeed(t, srv, secret, m)
	report(t, srv, secret, gatewayFacts(driverhub.Version)) // the agent's next heartbeat says all it knows again
	u.do("deployment succeeded", chromedp.WaitVisible(chromedp.CSS(`#deployment-status[data-status="succeeded"]`)))
	u.shot("deployment-succeeded")
	loc := run(u, "location", chromedp.Location())
	return loc[len(srv.URL):]
}

// readLogs sends 150 lines; the deployment and binding pages open on the newest ones.
func readLogs(t *testing.T, u *ui, srv *apitest.Server, lang, secret, deployment string) {
	var lines []map[string]any
	for i := 1; i <= 150; i++ {
		lines = append(lines, map[string]any{"time": time.Now().UTC(), "stream": "stdout", "text": fmt.Sprintf("poll %03d ok", i)})
	}
	srv.Must(t, http.StatusNoContent, "POST", "/api/v1/gateway/logs", secret, map[string]any{"driver": "meter", "lines": lines})
	u.open(deployment, "deployment-logs")
	if got := u.text("#driver-log-0-count"); !strings.Contains(got, msg(t, lang, "logs.count", 20)) {
		t.Errorf("the deployment page's log count says %q", got)
	}
	if !u.eval(newestInView("driver-log-0", false)) {
		t.Error("the deployment page's log pane does not open on its newest line")
	}
	u.open("/instances/gw0/drivers/meter", "binding-logs")
	if got := u.text("#driver-log-count"); !strings.Contains(got, msg(t, lang, "logs.count", driverhub.DefaultLogTail)) {
		t.Errorf("the log count says %q", got)
	}
	if !u.eval(newestInView("driver-log", true)) {
		t.Error("the log pane does not open on its newest line")
	}
	u.submit("#driver-log-count .log-more", "binding-more-logs")
	if n := run(u, "lines", chromedp.Evaluate[int](`document.querySelectorAll('#driver-log .line').length`)); n != 150 {
		t.Errorf("after asking for more, %d lines show, want all 150", n)
	}
	if !u.eval(newestInView("driver-log", true)) {
		t.Error("with more lines the pane does not open on its newest line")
	}
}

func goOffline(t *testing.T, u *ui, srv *apitest.Server, clk *clock, lang string) {
	u.open("/instances/gw0", "instance-online")
	if got := u.text(`tr[data-driver="meter"] .running`); !strings.Contains(got, "0.9.0") ||
		!u.eval(`document.querySelector('tr[data-driver="meter"] .running .running-version.warn') !== null`) {
		t.Errorf("the running version beside the bound 1.0.0: %q", got)
	}
	gw := gatewayView(t, srv, "gw0")
	caps := u.text("#gateway-capabilities")
	if gw.Capabilities != nil {
		if !strings.Contains(caps, "process") || !strings.Contains(caps, "v2") {
			t.Errorf("capabilities %+v show as %q", gw.Capabilities, caps)
		}
	} else if caps != msg(t, lang, "gateway.not_reported") {
		t.Errorf("unreported capabilities show as %q", caps)
	}
	runtimes := u.text("#gateway-runtimes")
	if v := gw.RuntimeVersions["python3"]; v != "" {
		if want := msg(t, lang, "runtime.python3") + " " + v; !strings.Contains(runtimes, want) {
			t.Errorf("runtime versions %v show as %q, want %q", gw.RuntimeVersions, runtimes, want)
		}
	} else if runtimes != msg(t, lang, "gateway.not_reported") {
		t.Errorf("unreported runtime versions show as %q", runtimes)
	}

	clk.Advance(10 * time.Minute) // three long-poll periods without a word
	u.open("/instances/gw0", "instance-offline")
	if got := u.text("#gateway-state"); got != msg(t, lang, "gateway.offline") {
		t.Errorf("gateway state %q, want offline", got)
	}
	var b driverhub.Binding
	srv.Must(t, http.StatusOK, "GET", "/api/v1/instances/gw0/drivers/meter", srv.AdminToken, nil).Decode(t, &b)
	shown := u.eval(`document.querySelector('tr[data-driver="meter"] .badge.stale') !== null`)
	if b.Runtime == nil || shown != b.Runtime.Stale {
		t.Errorf("the binding's runtime %+v shows stale: %v", b.Runtime, shown)
	}
}

func secretPage(t *testing.T, u *ui, lang string) {
	u.open("/instances", "instances")
	u.do("name the instance", chromedp.SendKeys(chromedp.ID("i-name"), "gw1"))
	u.submit("#create-instance", "instance-secret")
	secret := u.value("#gateway-secret")
	if cmd := u.value("#secret-command"); strings.Contains(cmd, secret) || !strings.Contains(cmd, "read -rs") {
		t.Errorf("the secret file command %q puts the secret on a command line", cmd)
	}
	if !u.eval(`document.querySelector('[data-copy-from="gateway-secret"]').offsetParent !== null`) {
		t.Error("no copy button beside the secret")
	}
	u.do("phone width", chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile))
	u.open("/drivers/new", "phone-new-driver")
	u.do("desktop width", chromedp.EmulateViewport(1280, 900))
}

// newestInView is a script telling whether a log pane shows the newest line
// sent, and, when scrolled is set, has scrolled its oldest out of view.
func newestInView(id string, scrolled bool) string {
	return fmt.Sprintf(`(() => { const box = document.getElementById(%q); const l = box.querySelectorAll('.line');
	const b = box.getBoundingClientRect(), last = l[l.length-1].getBoundingClientRect(), first = l[0].getBoundingClientRect();
	return l[l.length-1].textContent.includes('poll 150 ok') && last.bottom <= b.bottom + 1 && last.top >= b.top - 1 && (!%t || first.bottom <= b.top) })()`, id, scrolled)
}
