package console_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/driverhub/driverhub"
	"github.com/driverhub/driverhub/internal/apitest"
	"github.com/driverhub/driverhub/internal/testenv"
)

const chromiumPath = "/usr/bin/chromium"

// ui drives Debian's Chromium against a real server on 127.0.0.1:0 and
// saves a PNG of every page it visits.
type ui struct {
	t     *testing.T
	ctx   context.Context
	srv   *apitest.Server
	shots string
	n     int
}

func newUI(t *testing.T, srv *apitest.Server) *ui {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		testenv.Require(t, "no Chromium at "+chromiumPath+" (apt-get install -y chromium)")
	}
	shots, err := os.MkdirTemp("", "driverhub-console-"+strings.ToLower(regexp.MustCompile(`\W+`).ReplaceAllString(t.Name(), "-"))+"-")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshots: %s", shots)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-dev-shm-usage", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true), chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true), chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1280, 900))
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(alloc)
	t.Cleanup(func() { cancelCtx(); cancelAlloc() }) // closes the tab, then stops Chromium and waits for it
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1280, 900)); err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	return &ui{t: t, ctx: ctx, srv: srv, shots: shots}
}

// do runs steps with a time limit, failing the test on error.
func (u *ui) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	u.t.Helper()
	ctx, cancel := context.WithTimeout(u.ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		u.shot("failed-" + what)
		u.t.Fatalf("%s: %v", what, err)
	}
}

func run[T any](u *ui, what string, a chromedp.Action[T]) T {
	u.t.Helper()
	ctx, cancel := context.WithTimeout(u.ctx, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		u.shot("failed-" + what)
		u.t.Fatalf("%s: %v", what, err)
	}
	return v
}

// open navigates to a path of the server and saves a screenshot.
func (u *ui) open(path, name string) {
	u.t.Helper()
	u.do("open "+path, chromedp.Navigate(u.srv.URL+path))
	u.shot(name)
}

// submit clicks sel and waits for the page it loads, then saves a screenshot.
func (u *ui) submit(sel, name string) {
	u.t.Helper()
	ctx, cancel := context.WithTimeout(u.ctx, 60*time.Second)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.WaitEvent(cdppage.LoadEventFired, nil, chromedp.Click(chromedp.CSS(sel)))); err != nil {
		u.shot("failed-" + name)
		u.t.Fatalf("submit %s: %v", sel, err)
	}
	u.shot(name)
}

// shot saves a full-page PNG.
func (u *ui) shot(name string) {
	u.t.Helper()
	ctx, cancel := context.WithTimeout(u.ctx, 20*time.Second)
	defer cancel()
	buf, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		u.t.Logf("screenshot %s: %v", name, err)
		return
	}
	u.n++
	if err := os.WriteFile(filepath.Join(u.shots, fmt.Sprintf("%02d-%s.png", u.n, name)), buf, 0o644); err != nil {
		u.t.Error(err)
	}
}

func (u *ui) text(sel string) string {
	u.t.Helper()
	return run(u, "text of "+sel, chromedp.Text(chromedp.CSS(sel)))
}

func (u *ui) value(sel string) string {
	u.t.Helper()
	return run(u, "value of "+sel, chromedp.Value(chromedp.CSS(sel)))
}

func (u *ui) eval(js string) bool {
	u.t.Helper()
	return run(u, js, chromedp.Evaluate[bool](js))
}

// choose sets a select or checks a radio the way a user does: with a change event.
func (u *ui) choose(sel, value string) {
	u.t.Helper()
	js := fmt.Sprintf(`(() => { const el = document.querySelector(%q); el.value = %q; el.dispatchEvent(new Event('change', {bubbles: true})); return true })()`, sel, value)
	if !u.eval(js) {
		u.t.Fatalf("choose %s", sel)
	}
}

func (u *ui) login(username, password string) {
	u.t.Helper()
	u.open("/login", "login")
	u.do("sign in", chromedp.SendKeys(chromedp.ID("username"), username), chromedp.SendKeys(chromedp.ID("password"), password))
	u.submit("#login", "drivers")
	if loc := run(u, "location", chromedp.Location()); !strings.HasSuffix(loc, "/drivers") {
		u.t.Fatalf("after login: %s", loc)
	}
}

func TestBrowserNewDriverFormPublish(t *testing.T) {
	srv := apitest.New(t)
	u := newUI(t, srv)
	user, pw := newUser(t, srv, "alice", driverhub.RoleDeveloper)
	u.login(user, pw)

	pkg, big := newDriverFiles(t)
	newDriverFormChecks(t, u, big)
	newDriverRefusedThenCreated(t, u, pkg)
	publishThroughDialog(t, u)
	listAndViewInChinese(t, u)
}

// newDriverFiles writes a driver package and a file one byte over the
// package limit, returning their paths.
func newDriverFiles(t *testing.T) (pkg, big string) {
	dir := t.TempDir()
	pkg = filepath.Join(dir, "meter.zip")
	if err := os.WriteFile(pkg, pythonPackage(t), 0o644); err != nil {
		t.Fatal(err)
	}
	big = filepath.Join(dir, "big.zip")
	if err := os.WriteFile(big, nil, 0o644); err != nil || os.Truncate(big, driverhub.MaxPackageBytes+1) != nil {
		t.Fatal("make a 50 MiB + 1 file")
	}
	return pkg, big
}

// newDriverFormChecks opens the new driver form and checks what it does
// before anything is submitted: the CPU architecture field and the
// package size limit.
func newDriverFormChecks(t *testing.T, u *ui, big string) {
	u.submit("#new-driver", "new-driver-form")
	if u.eval(`!document.getElementById('cpu-arch-field').hidden`) {
		t.Error("the CPU architecture field shows for Node.js")
	}
	u.choose("#runtime", "c")
	u.do("CPU architecture appears for C", chromedp.WaitVisible(chromedp.ID("cpu_arch")))
	u.shot("cpu-arch-for-c")
	u.choose("#runtime", "python3")
	u.do("CPU architecture goes for Python", chromedp.WaitNotVisible(chromedp.ID("cpu-arch-field")))

	// The 50 MB check happens before any upload.
	u.do("too large a package", chromedp.SetUploadFiles(chromedp.ID("package"), []string{big}))
	u.do("size error", chromedp.WaitVisible(chromedp.CSS("#package-field .js-error")))
	if msg := u.text("#package-field .js-error"); !strings.Contains(msg, "50 MB") {
		t.Errorf("the too-large message: %q", msg)
	}
	u.shot("package-too-large")
}

// newDriverRefusedThenCreated submits the form with a name the service
// refuses, checks the form comes back filled in, then corrects the name.
func newDriverRefusedThenCreated(t *testing.T, u *ui, pkg string) {
	// Fill the form with a name the service refuses.
	u.do("fill the form",
		chromedp.SendKeys(chromedp.ID("name"), "9meter"),
		chromedp.Clear(chromedp.ID("version")), chromedp.SendKeys(chromedp.ID("version"), "1.0.0"),
		chromedp.SendKeys(chromedp.ID("description"), "Reads power meters"),
		chromedp.SetUploadFiles(chromedp.ID("package"), []string{pkg}),
		chromedp.Click(chromedp.CSS(`[data-add-row="kv"]`)),
		chromedp.SendKeys(chromedp.CSS(`[data-rows="kv"] tbody tr:last-child input[name="kv_key"]`), "poll_ms"),
		chromedp.SendKeys(chromedp.CSS(`[data-rows="kv"] tbody tr:last-child input[name="kv_value"]`), "500"),
		chromedp.Click(chromedp.CSS(`input[name="host_network"][value="no"]`)),
		chromedp.WaitVisible(chromedp.ID("ports-field")),
		chromedp.Click(chromedp.CSS(`[data-add-row="ports"]`)),
		chromedp.SendKeys(chromedp.CSS(`[data-rows="ports"] tbody tr:last-child input[name="port_host"]`), "8502"),
		chromedp.SendKeys(chromedp.CSS(`[data-rows="ports"] tbody tr:last-child input[name="port_container"]`), "502"),
		chromedp.Clear(chromedp.ID("memory_limit_mb")), chromedp.SendKeys(chromedp.ID("memory_limit_mb"), "256"),
		chromedp.Click(chromedp.ID("driver_config_required")),
	)
	u.choose("#min_edge_version", "1.0.0") // the edge version is chosen, not typed
	u.shot("form-filled")
	u.submit("#submit", "invalid-name-refused")
	u.do("name error beside the field", chromedp.WaitVisible(chromedp.ID("err-name")))
	if msg := u.text("#err-name"); !strings.Contains(msg, "must start with a letter") {
		t.Errorf("name error: %q", msg)
	}
	if !u.eval(`document.getElementById('name').nextElementSibling.nextElementSibling.id === 'err-name'`) {
		t.Error("the name error is not beside the name field")
	}
	for sel, want := range map[string]string{"#name": "9meter", "#version": "1.0.0", "#description": "Reads power meters",
		"#memory_limit_mb": "256", `input[name="kv_key"]`: "poll_ms", `input[name="port_host"]`: "8502"} {
		if got := u.value(sel); got != want {
			t.Errorf("after the refused submit %s = %q, want %q", sel, got, want)
		}
	}
	if !u.eval(`document.querySelector('input[name="host_network"][value="no"]').checked && document.getElementById('driver_config_required').checked`) {
		t.Error("the refused form lost the host network or config-check choices")
	}

	// The chosen file is kept (browsers empty the file input): correct the name and submit.
	if kept := u.text("#package-kept"); kept != "Uploaded file: meter.zip" {
		t.Errorf("after the refused submit the package shows as %q, want it kept", kept)
	}
	u.do("correct the name", chromedp.Clear(chromedp.ID("name")), chromedp.SendKeys(chromedp.ID("name"), "modbus_meter"))
	u.submit("#submit", "driver-created")
	if loc := run(u, "location", chromedp.Location()); !strings.Contains(loc, "/drivers/modbus_meter") {
		t.Fatalf("after create: %s", loc)
	}
	if row := u.text(`tr[data-version="1.0.0"]`); !strings.Contains(row, "meter.zip") || !strings.Contains(row, "Draft") {
		t.Errorf("version row: %q", row)
	}
}

// publishThroughDialog publishes version 1.0.0 of modbus_meter from its
// driver page, then opens the published version.
func publishThroughDialog(t *testing.T, u *ui) {
	// Publish through the dialog that says it cannot be undone.
	u.do("open the publish dialog", chromedp.Click(chromedp.CSS(`tr[data-version="1.0.0"] .act-publish`)), chromedp.WaitVisible(chromedp.ID("dlg-publish-0")))
	u.shot("publish-dialog")
	if msg := u.text("#dlg-publish-0"); !strings.Contains(msg, "cannot be undone") {
		t.Errorf("publish dialog: %q", msg)
	}
	u.submit(`#dlg-publish-0 button[type="submit"]`, "published")
	if row := u.text(`tr[data-version="1.0.0"]`); !strings.Contains(row, "Published") {
		t.Errorf("after publishing: %q", row)
	}
	if !u.eval(`document.querySelector('tr[data-version="1.0.0"] .act-delete') === null && document.querySelector('tr[data-version="1.0.0"] .act-view') !== null`) {
		t.Error("delete is offered for the published version")
	}
	u.submit(`tr[data-version="1.0.0"] .act-view`, "view-published")
	if !u.eval(`document.getElementById('version') === null && !document.getElementById('description').disabled`) {
		t.Error("the published version's page lets more than the description change")
	}
}

// listAndViewInChinese lists modbus_meter in the marketplace, then views
// pages in Chinese at phone width.
func listAndViewInChinese(t *testing.T, u *ui) {
	// List it in the marketplace, then look at the marketplace and the tokens.
	u.open("/drivers/modbus_meter", "driver-page")
	u.do("listing", chromedp.SendKeys(chromedp.ID("summary"), "Reads Modbus power meters"))
	u.submit("#list-driver", "listed")
	u.open("/marketplace", "marketplace")
	if txt := u.text("#listings"); !strings.Contains(txt, "modbus_meter") {
		t.Errorf("marketplace: %q", txt)
	}
	u.open("/tokens", "tokens")
	// Chinese, at phone width.
	u.do("phone width", chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile))
	u.open("/lang?to=zh-CN&next=/drivers/new", "phone-new-driver-zh")
	if h := u.text("h1"); h != "新建驱动" {
		t.Errorf("Chinese heading: %q", h)
	}
	u.open("/drivers/modbus_meter", "phone-driver-zh")
}

func TestBrowserInstanceDeploy(t *testing.T) {
	srv := apitest.New(t)
	publishMeter(t, srv)
	u := newUI(t, srv)
	user, pw := newUser(t, srv, "olga", driverhub.RoleDeveloper)
	u.login(user, pw)

	u.open("/instances", "instances")
	u.do("name the instance", chromedp.SendKeys(chromedp.ID("i-name"), "gw1"), chromedp.SendKeys(chromedp.ID("i-description"), "Line 1"))
	u.submit("#create-instance", "instance-secret")
	secret := u.value("#gateway-secret")
	if !strings.HasPrefix(secret, "dhg_") {
		t.Fatalf("gateway secret: %q", secret)
	}
	want := "driverhub agent --server " + srv.URL + " --dir /var/lib/driverhub-agent --secret-file /etc/driverhub/gateway-secret"
	if cmd := u.value("#agent-command"); cmd != want {
		t.Errorf("agent command %q, want %q", cmd, want)
	}
	if line := u.value("#secret-command"); strings.Contains(line, secret) || !strings.Contains(line, "/etc/driverhub/gateway-secret") {
		t.Errorf("secret file command: %q", line)
	}

	u.submit("#to-instance", "instance")
	u.choose("#bind-choice", "|meter|")
	u.submit("#bind", "driver-bound")
	if row := u.text(`#bindings-table tr[data-driver="meter"]`); !strings.Contains(row, "1.0.0") {
		t.Errorf("binding row: %q", row)
	}

	u.do("associate a device", chromedp.SendKeys(chromedp.ID("dev-product"), "pm800"), chromedp.SendKeys(chromedp.ID("dev-name"), "meter-1"),
		chromedp.SendKeys(chromedp.ID("dev-config"), `{"slave": 1,}`),
		chromedp.Click(chromedp.CSS(`#associate-form [data-validate-json]`)),
		chromedp.WaitVisible(chromedp.CSS(`#dev-config-check.bad`)))
	u.shot("device-config-invalid")
	u.eval(`(() => { document.getElementById('dev-config').value = ''; return true })()`)
	u.do("fix the device config", chromedp.SendKeys(chromedp.ID("dev-config"), `{"slave": 1}`),
		chromedp.Click(chromedp.CSS(`#associate-form [data-validate-json]`)),
		chromedp.WaitVisible(chromedp.CSS(`#dev-config-check.ok`)))
	u.submit("#associate", "device-associated")
	if tbl := u.text("#devices-table"); !strings.Contains(tbl, "meter-1") || !strings.Contains(tbl, "meter") {
		t.Errorf("devices: %q", tbl)
	}

	u.submit("#deploy", "deployment-pending")
	if s := run(u, "status", chromedp.AttributeValue(chromedp.ID("deployment-status"), "data-status")); s.Value != "pending" {
		t.Errorf("new deployment: %q", s.Value)
	}
	// A simulated gateway: plain HTTP with the instance's secret.
	m := desired(t, srv, secret)
	if len(m.Drivers) != 1 || m.Drivers[0].RuntimeConfig.DeviceList[0].DeviceName != "meter-1" {
		t.Fatalf("manifest: %s", mustJSON(m))
	}
	succeed(t, srv, secret, m)
	srv.Must(t, http.StatusNoContent, "POST", "/api/v1/gateway/logs", secret, map[string]any{"driver": "meter",
		"lines": []map[string]any{{"time": time.Now().UTC(), "stream": "stdout", "text": "hello from the meter driver"}}})
	// The page refreshes by itself.
	u.do("deployment succeeded", chromedp.WaitVisible(chromedp.CSS(`#deployment-status[data-status="succeeded"]`)))
	u.shot("deployment-succeeded")
	if txt := u.text("#live"); !strings.Contains(txt, "Running") || !strings.Contains(txt, "hello from the meter driver") {
		t.Errorf("deployment page: %q", txt)
	}
	u.open("/instances/gw1", "instance-online")
	if s := u.text("#gateway-state"); s != "Online" {
		t.Errorf("gateway state: %q", s)
	}
	u.do("phone width", chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile))
	u.open("/instances/gw1", "phone-instance")
}

// publishMeter publishes a python driver through the API.
func publishMeter(t *testing.T, srv *apitest.Server) {
	tok := srv.AdminToken
	srv.Must(t, http.StatusCreated, "POST", "/api/v1/drivers", tok, map[string]any{"name": "meter", "protocol": "modbus", "runtime": "python3"})
	srv.Must(t, http.StatusCreated, "POST", "/api/v1/drivers/meter/versions", tok, map[string]any{"version": "1.0.0", "min_edge_version": "1.0.0",
		"driver_config": map[string]any{"format": "kv", "kv": []map[string]string{{"key": "poll_ms", "value": "500", "note": ""}}}})
	srv.Must(t, http.StatusOK, "PUT", "/api/v1/drivers/meter/versions/1.0.0/package?filename=meter.zip", tok, strings.NewReader(string(pythonPackage(t))))
	srv.Must(t, http.StatusOK, "POST", "/api/v1/drivers/meter/versions/1.0.0/publish", tok, nil)
}
