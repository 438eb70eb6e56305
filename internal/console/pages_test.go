package console_test

import (
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/driverhub/driverhub"
	"github.com/driverhub/driverhub/internal/apitest"
	"github.com/driverhub/driverhub/internal/console"
)

// TestMessagesComplete checks that every message has both languages and
// that every key the templates name exists (also in branches that the
// sample pages below do not reach).
func TestMessagesComplete(t *testing.T) {
	for _, k := range console.MessageKeys() {
		for _, lang := range console.Languages {
			if s, ok := console.Translate(lang, k); !ok || strings.TrimSpace(s) == "" {
				t.Errorf("%s has no %s text", k, lang)
			}
		}
		zh, _ := console.Translate("zh-CN", k)
		if strings.Count(zh, "%") != strings.Count(func() string { s, _ := console.Translate("en", k); return s }(), "%") {
			t.Errorf("%s: the two languages take different arguments", k)
		}
	}
	files, err := filepath.Glob("templates/*.html")
	if err != nil || len(files) == 0 {
		t.Fatalf("templates: %v", err)
	}
	key := regexp.MustCompile(`\bt "([a-z0-9_.]+)"|dlg [^)]*`)
	quoted := regexp.MustCompile(`"([a-z_]+\.[a-z0-9_.]+)"`)
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range key.FindAllStringSubmatch(string(b), -1) {
			keys := []string{m[1]}
			if m[1] == "" {
				keys = nil
				for _, q := range quoted.FindAllStringSubmatch(m[0], -1) {
					keys = append(keys, q[1])
				}
			}
			for _, k := range keys {
				if _, ok := console.Translate("en", k); !ok {
					t.Errorf("%s uses the missing key %q", f, k)
				}
			}
		}
	}
	// Every value of the enumerations the templates translate.
	for prefix, values := range map[string][]string{
		"protocol.": driverhub.Protocols, "runtime.": words(driverhub.AllRuntimes...), "state.": words(driverhub.AllDriverStates...), "stage.": words(driverhub.AllStages...),
		"deploy.status.": words(driverhub.DeployPending, driverhub.DeployProcessing, driverhub.DeploySucceeded, driverhub.DeployFailed, driverhub.DeploySuperseded, driverhub.DeployClosed),
		"deploy.type.":   words(driverhub.DeployTypeDeploy, driverhub.DeployTypeReset),
		"code.": {driverhub.EInvalid, driverhub.EUnauthenticated, driverhub.EPermissionDenied, driverhub.ENotFound, driverhub.EConflict,
			driverhub.EVersionPublished, driverhub.ETooLarge, driverhub.EFailedPrecondition, driverhub.EInternal},
		"role.": {"viewer", "developer", "admin"}, "resource.": words(driverhub.AllResourceTypes...), "config.format.": {"kv", "json", "file"},
		"rollout.state.": words(driverhub.AllRolloutStates...), "target.state.": words(driverhub.AllTargetStates...),
		"rollout.wave_state.": words(driverhub.AllWaveStates...), "rollout.event.": words(driverhub.AllRolloutEventTypes...),
		"rollout.on_abort.": words(driverhub.AllOnAbort...),
		"rollout.problem.": words(driverhub.ProblemNotBound, driverhub.ProblemOtherPublisher, driverhub.ProblemInstanceMissing,
			driverhub.ProblemDeploymentFailed, driverhub.ProblemDeploymentReplaced, driverhub.ProblemWaveTimeout,
			driverhub.ProblemRollbackFailed, driverhub.ProblemRollbackBindingGone),
	} {
		for _, v := range values {
			if _, ok := console.Translate("en", prefix+v); !ok {
				t.Errorf("no message for %s%s", prefix, v)
			}
		}
	}
}

// sample fills a server with one of everything: drivers with draft and
// published versions, a listing of another tenant that was acquired, an
// instance with a driver, a device, configs, a finished deployment and
// driver logs, users and tokens.
func sample(t *testing.T) (*apitest.Server, *browser, string) {
	srv := apitest.New(t)
	b := adminBrowser(t, srv)
	if p := b.saveDraft("/drivers/new", meterForm(t, "meter", pythonPackage(t))...); p.Status != http.StatusSeeOther {
		t.Fatalf("driver: %d %s", p.Status, snippet(p.Body))
	}
	parts := replace(meterForm(t, "", nil)[1:], "version", "1.1.0")
	if p := b.postMultipart("/drivers/meter/versions/new", parts...); p.Status != http.StatusSeeOther {
		t.Fatalf("version: %d %s", p.Status, snippet(p.Body))
	}
	b.post("/drivers/meter/versions/1.0.0/publish", nil)
	b.post("/drivers/meter/listing", url.Values{"title": {"Meter"}, "summary": {"Reads meters"}})
	c := map[string]any{"name": "plc_c", "protocol": "opcua", "runtime": "c", "cpu_arch": "aarch64", "builtin": true}
	srv.Must(t, http.StatusCreated, "POST", "/api/v1/drivers", srv.AdminToken, c)

	other := srv.NewTenant(t, "acme")
	srv.Must(t, http.StatusCreated, "POST", "/api/v1/drivers", other, map[string]any{"name": "lora", "protocol": "lorawan", "runtime": "nodejs"})
	srv.Must(t, http.StatusCreated, "POST", "/api/v1/drivers/lora/versions", other, map[string]any{"version": "2.0.0", "min_edge_version": "1.0.0"})
	srv.Must(t, http.StatusOK, "PUT", "/api/v1/drivers/lora/versions/2.0.0/package?filename=lora.zip", other,
		strings.NewReader(string(zipOf(t, map[string]string{"index.js": "console.log(1)"}))))
	srv.Must(t, http.StatusOK, "POST", "/api/v1/drivers/lora/versions/2.0.0/publish", other, nil)
	srv.Must(t, http.StatusOK, "PUT", "/api/v1/drivers/lora/listing", other, map[string]any{"title": "LoRa gateway driver", "summary": "LoRaWAN"})
	b.post("/marketplace/acme/lora/acquire", nil)

	secret, _ := createInstance(t, b, "gw1")
	b.post("/instances/gw1/bind", url.Values{"choice": {"|meter|1.0.0"}})
	b.post("/instances/gw1/bind", url.Values{"choice": {"acme|lora|2.0.0"}})
	b.post("/instances/gw1/devices", url.Values{"product": {"pm800"}, "name": {"m1"}, "driver": {"meter"}, "config": {`{"slave":1}`}})
	b.postMultipart("/instances/gw1/drivers/meter/config", field("config_format", "kv"), field("kv_key", "poll_ms"), field("kv_value", "100"), field("kv_note", ""))
	// The meter's private network needs a gateway that said it isolates drivers.
	srv.Must(t, http.StatusNoContent, "POST", "/api/v1/gateway/report", secret, map[string]any{"capabilities": map[string]any{"runtimes": []string{"runc"}, "isolation": true, "cgroup": "v2"}})
	p := b.post("/instances/gw1/deployments", url.Values{"type": {"deploy"}})
	if p.Status != http.StatusSeeOther {
		t.Fatalf("deploy: %d %s", p.Status, snippet(p.Body))
	}
	succeed(t, srv, secret, desired(t, srv, secret))
	srv.Must(t, http.StatusNoContent, "POST", "/api/v1/gateway/logs", secret, map[string]any{"driver": "meter",
		"lines": []map[string]any{{"time": "2026-01-02T03:04:05Z", "stream": "stderr", "text": "poll ok"}}})
	b.post("/instances/gw1/deployments", url.Values{"type": {"reset"}}) // a pending one too
	createInstance(t, b, "gw2")                                         // meter without its required instance config: deploying lists the problem
	b.post("/instances/gw2/bind", url.Values{"choice": {"|meter|1.0.0"}})
	newUser(t, srv, "dave", driverhub.RoleViewer)
	return srv, b, p.Location
}

func TestEveryPageInBothLanguages(t *testing.T) {
	srv, b, deployment := sample(t)
	pages := []string{"/drivers", "/drivers?protocol=modbus&q=met", "/drivers/new", "/drivers/meter", "/drivers/plc_c",
		"/drivers/meter/versions/new", "/drivers/meter/versions/1.0.0", "/drivers/meter/versions/1.1.0",
		"/drivers/meter/versions/1.1.0/publish", "/drivers/meter/versions/1.1.0/delete",
		"/marketplace", "/marketplace?tab=acquired", "/marketplace/acme/lora", "/marketplace/default/meter",
		"/instances", "/instances/gw1", "/instances/gw1/drivers/meter", "/instances/gw1/drivers/lora", deployment,
		"/users", "/tokens", "/instances/gw1/drivers/meter/unbind", "/marketplace?q=meter&runtime=python3", "/marketplace?q=nothing",
		"/instances/gw1/drivers/meter?tail=1"}
	latest := regexp.MustCompile(`href="(/instances/gw1/deployments/[^"]+)"`).FindStringSubmatch(b.mustGet("/instances/gw1").Body)
	pages = append(pages, latest[1])
	for _, lang := range console.Languages {
		b.lang = lang
		for _, path := range pages {
			p := b.mustGet(path)
			checkPage(t, lang, path, p)
		}
		// Pages that only a POST shows: refused forms, secrets shown once, errors.
		posts := map[string]*page{
			"refused driver form": b.postMultipart("/drivers/new", replace(meterForm(t, "9bad", nil), "port_host", "x")...),
			"refused instance":    b.post("/instances", url.Values{"name": {"bad name"}}),
			"deploy problems":     b.post("/instances/gw2/deployments", url.Values{"type": {"deploy"}}),
			"new token":           b.post("/tokens", url.Values{"name": {"t-" + lang}, "role": {"viewer"}}),
			"secret":              b.post("/instances/gw1/rotate-secret", nil),
			"not found":           b.get("/drivers/nosuch"),
			"refused user":        b.post("/users", url.Values{"username": {""}, "password": {""}, "role": {"admin"}}),
			"listing refused":     b.post("/drivers/plc_c/listing", url.Values{"title": {"x"}}),
		}
		for name, p := range posts {
			if p.Status >= 500 {
				t.Errorf("%s (%s): status %d: %s", name, lang, p.Status, p.Body)
				continue
			}
			checkPage(t, lang, name, p)
		}
	}
	b.lang = "en"
	if p := newBrowser(t, srv).mustGet("/login"); !strings.Contains(p.Body, `name="username"`) || !strings.Contains(p.Body, `name="password"`) {
		t.Error("the login form lacks its fields")
	}
}

var cjk = regexp.MustCompile(`\p{Han}`)

// checkPage checks a page's language, its labels and that no text is left untranslated.
func checkPage(t *testing.T, lang, name string, p *page) {
	t.Helper()
	if !strings.Contains(p.Body, `<html lang="`+lang+`">`) {
		t.Errorf("%s (%s): wrong language: %d %s", name, lang, p.Status, snippet(p.Body))
	}
	if strings.Contains(p.Body, "⟦") {
		t.Errorf("%s (%s): an untranslated key", name, lang)
	}
	nav := p.Body
	if i := strings.Index(nav, `<main`); i > 0 {
		nav = nav[:i]
	}
	if hasCJK := cjk.MatchString(strings.ReplaceAll(nav, "中文", "")); hasCJK != (lang == "zh-CN") {
		t.Errorf("%s (%s): the header is in the other language", name, lang)
	}
	checkLabels(t, name+" ("+lang+")", p.Body)
}

var (
	inputTag = regexp.MustCompile(`<(input|select|textarea)\b[^>]*>`)
	idAttr   = regexp.MustCompile(`\bid="([^"]+)"`)
)

// checkLabels checks that every visible form control has a label.
func checkLabels(t *testing.T, name, body string) {
	t.Helper()
	for _, tag := range inputTag.FindAllString(body, -1) {
		if strings.Contains(tag, `type="hidden"`) || strings.Contains(tag, "aria-label=") || strings.Contains(tag, `type="radio"`) && strings.Contains(body, "</label>") {
			continue
		}
		id := idAttr.FindStringSubmatch(tag)
		if id == nil || !strings.Contains(body, `for="`+id[1]+`"`) {
			t.Errorf("%s: a control without a label: %s", name, tag)
		}
	}
}

// words spells a vocabulary as the strings the templates print.
func words[T ~string](set ...T) []string {
	out := make([]string, len(set))
	for i, w := range set {
		out[i] = string(w)
	}
	return out
}
