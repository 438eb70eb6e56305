package console_test

import (
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/driverhub/driverhub"
	"github.com/driverhub/driverhub/internal/apitest"
)

// rolloutFleet publishes python3 driver meter at 1.0.0 and 2.0.0 and makes
// instances gw1 and gw2 (site=sh) bound to 1.0.0, whose gateways reported
// and then keep quiet, so that a rollout's deployments stay pending; and
// gw3 (site=sh) without the driver, which a rollout skips. It returns the
// gateway secrets by instance.
func rolloutFleet(t *testing.T, srv *apitest.Server) map[string]string {
	t.Helper()
	secrets := map[string]string{}
	tok := srv.AdminToken
	srv.Must(t, http.StatusCreated, "POST", "/api/v1/drivers", tok, map[string]any{"name": "meter", "protocol": "modbus", "runtime": "python3"})
	for _, v := range []string{"1.0.0", "2.0.0"} {
		srv.Must(t, http.StatusCreated, "POST", "/api/v1/drivers/meter/versions", tok, map[string]any{"version": v, "min_edge_version": "1.0.0"})
		srv.Must(t, http.StatusOK, "PUT", "/api/v1/drivers/meter/versions/"+v+"/package?filename=meter.zip", tok, strings.NewReader(string(pythonPackage(t))))
		srv.Must(t, http.StatusOK, "POST", "/api/v1/drivers/meter/versions/"+v+"/publish", tok, nil)
	}
	for _, name := range []string{"gw1", "gw2", "gw3"} {
		var inst struct {
			Secret string `json:"gateway_secret"`
		}
		srv.Must(t, http.StatusCreated, "POST", "/api/v1/instances", tok, map[string]any{"name": name, "tags": map[string]string{"site": "sh"}}).Decode(t, &inst)
		secrets[name] = inst.Secret
		report(t, srv, inst.Secret, map[string]any{"edge_version": driverhub.Version, "arch": "x86-64", "builtin_drivers": []string{}})
		if name != "gw3" {
			srv.Must(t, http.StatusOK, "PUT", "/api/v1/instances/"+name+"/drivers/meter", tok, map[string]any{"version": "1.0.0"})
		}
	}
	return secrets
}

// rolloutForm is the creation form as a user fills it.
func rolloutForm(name, waves string) url.Values {
	return url.Values{"name": {name}, "driver": {"meter"}, "version": {"2.0.0"}, "by": {"tags"}, "selector": {"site=sh"},
		"waves": {waves}, "success_threshold": {"100"}, "failure_threshold": {"0"}, "wave_timeout": {"1h"}, "on_abort": {"rollback"}}
}

// fieldError is the error shown at a field of a form, or "".
func fieldError(body, field string) string {
	m := regexp.MustCompile(`<p class="field-error" id="err-` + field + `">([^<]*)</p>`).FindStringSubmatch(body)
	if m == nil {
		return ""
	}
	return m[1]
}

func TestRolloutFromAVersionPage(t *testing.T) {
	srv := apitest.New(t)
	rolloutFleet(t, srv)
	b := adminBrowser(t, srv)

	link := regexp.MustCompile(`href="(/rollouts/new\?[^"]+)" id="roll-out"`).FindStringSubmatch(b.mustGet("/drivers/meter/versions/2.0.0").Body)
	if link == nil {
		t.Fatal("the published version's page has no Roll out button")
	}
	form := b.mustGet(strings.ReplaceAll(link[1], "&amp;", "&")).Body
	for _, want := range []string{`name="driver" value="meter"`, `name="version" value="2.0.0"`} {
		if !strings.Contains(form, want) {
			t.Errorf("the form is not prefilled: no %s", want)
		}
	}

	// A value the form cannot read is shown at its field, in the page's
	// language, with every other field's problem, and what was typed stays.
	bad := rolloutForm("", "1, x, 100")
	bad.Set("failure_threshold", "101")
	p := b.post("/rollouts/new", bad)
	if p.Status != http.StatusBadRequest {
		t.Fatalf("bad form: %d %s", p.Status, snippet(p.Body))
	}
	if msg := fieldError(p.Body, "waves"); !strings.Contains(msg, "whole number") {
		t.Errorf("waves error %q, want it at the field", msg)
	}
	if fieldError(p.Body, "name") == "" || fieldError(p.Body, "failure_threshold") == "" {
		t.Errorf("the name and failure threshold problems are not at their fields: %s", snippet(p.Body))
	}
	if !strings.Contains(p.Body, `value="1, x, 100"`) || !strings.Contains(p.Body, `value="101"`) || !strings.Contains(p.Body, ">site=sh</textarea>") {
		t.Error("the refused form lost what was typed")
	}
	b.lang = "zh-CN"
	if msg := fieldError(b.post("/rollouts/new", bad).Body, "waves"); !strings.Contains(msg, "必须是整数") {
		t.Errorf("zh-CN waves error %q, want Chinese", msg)
	}
	b.lang = "en"
	// A value the service refuses is shown at its field too.
	p = b.post("/rollouts/new", rolloutForm("meter 2", "50, 10, 100"))
	if p.Status != http.StatusBadRequest || !strings.Contains(fieldError(p.Body, "waves"), "above the wave before") {
		t.Errorf("falling waves: %d, waves error %q", p.Status, fieldError(p.Body, "waves"))
	}
	if !strings.Contains(p.Body, `value="meter 2"`) {
		t.Error("the refused form lost the name")
	}

	p = b.post("/rollouts/new", rolloutForm("meter 2 to sh", "50, 100"))
	if p.Status != http.StatusSeeOther || !strings.HasPrefix(p.Location, "/rollouts/") {
		t.Fatalf("create: %d %s", p.Status, snippet(p.Body))
	}
	page := b.mustGet(p.Location).Body
	for _, want := range []string{`data-state="running"`, `data-wave="1" data-state="running"`, `data-wave="2" data-state="waiting"`,
		"Rollout created", `id="pause"`, `data-dialog="dlg-cancel"`} {
		if !strings.Contains(page, want) {
			t.Errorf("the new rollout's page lacks %s", want)
		}
	}
	skipped := b.mustGet(strings.SplitN(p.Location, "?", 2)[0] + "?state=skipped").Body
	if !strings.Contains(skipped, `data-instance="gw3"`) || !strings.Contains(skipped, `data-code="not_bound"><strong>Driver not bound</strong>`) || strings.Contains(skipped, `data-instance="gw1"`) {
		t.Errorf("the skipped targets lack gw3 and its reason, or list others: %s", snippet(skipped))
	}
	if list := b.mustGet("/rollouts").Body; !strings.Contains(list, "meter 2 to sh") || !strings.Contains(list, "0 of 2 succeeded") {
		t.Errorf("the list lacks the rollout or its progress")
	}
}

func TestRolloutPauseResumeCancel(t *testing.T) {
	srv := apitest.New(t)
	rolloutFleet(t, srv)
	var ro driverhub.Rollout
	srv.Must(t, http.StatusCreated, "POST", "/api/v1/rollouts", srv.AdminToken, map[string]any{"name": "meter 2", "driver": "meter",
		"version": "2.0.0", "selector": map[string]any{"tags": map[string]string{"site": "sh"}}, "waves": []int{50, 100}}).Decode(t, &ro)
	page := "/rollouts/" + ro.ID

	viewer, pw := newUser(t, srv, "vera", driverhub.RoleViewer)
	v := newBrowser(t, srv)
	v.login(viewer, pw)
	if body := v.mustGet(page).Body; strings.Contains(body, `id="pause"`) || strings.Contains(body, "dlg-cancel") || !strings.Contains(body, `id="viewer-hint"`) {
		t.Error("a viewer is offered pause or cancel")
	}
	if body := v.mustGet("/rollouts").Body; strings.Contains(body, `id="new-rollout"`) {
		t.Error("a viewer is offered a new rollout")
	}
	if p := v.post(page+"/pause", nil); p.Status != http.StatusForbidden {
		t.Errorf("viewer pausing: %d", p.Status)
	}
	if p := v.post("/rollouts/new", rolloutForm("by a viewer", "100")); p.Status != http.StatusForbidden || !strings.Contains(p.Body, `value="by a viewer"`) {
		t.Errorf("viewer creating a rollout: %d %s", p.Status, snippet(p.Body))
	}

	b := adminBrowser(t, srv)
	for _, step := range []struct {
		action, state, shows, hides string
	}{
		{"pause", "paused", `id="resume"`, `id="pause"`},
		{"resume", "running", `id="pause"`, `id="resume"`},
		{"cancel", "cancelled", "", `id="rollout-actions"`},
	} {
		p := b.post(page+"/"+step.action, nil)
		if p.Status != http.StatusSeeOther {
			t.Fatalf("%s: %d %s", step.action, p.Status, snippet(p.Body))
		}
		body := b.mustGet(p.Location).Body
		if !strings.Contains(body, `id="rollout-state" data-state="`+step.state+`"`) {
			t.Errorf("after %s: not %s", step.action, step.state)
		}
		if step.shows != "" && !strings.Contains(body, step.shows) || strings.Contains(body, step.hides) {
			t.Errorf("after %s: want %s shown and %s hidden", step.action, step.shows, step.hides)
		}
	}
	// A cancelled rollout cannot be resumed: the service's conflict is shown.
	if p := b.post(page+"/resume", nil); p.Status != http.StatusConflict || !strings.Contains(p.Body, "only a paused rollout") {
		t.Errorf("resume a cancelled rollout: %d %s", p.Status, snippet(p.Body))
	}
	if body := b.mustGet(page).Body; !strings.Contains(body, "cancelled by alice") || !strings.Contains(body, "paused by alice") {
		t.Error("the events do not say who paused and cancelled")
	}
	for _, lang := range []string{"en", "zh-CN"} {
		b.lang = lang
		for _, path := range []string{"/rollouts", page, page + "?state=waiting", "/rollouts/new?driver=meter&version=2.0.0"} {
			checkPage(t, lang, path, b.mustGet(path))
		}
		checkPage(t, lang, "refused rollout", b.post("/rollouts/new", rolloutForm("", "x")))
	}
}

// TestRolloutTextsInThePagesLanguage: what a rollout stored for later
// (a skipped target's problem, its events, the reason it aborted) reads
// in the page's language, Chinese included, as the rollout's own pages do.
func TestRolloutTextsInThePagesLanguage(t *testing.T) {
	srv := apitest.New(t)
	secrets := rolloutFleet(t, srv)
	var ro driverhub.Rollout
	srv.Must(t, http.StatusCreated, "POST", "/api/v1/rollouts", srv.AdminToken, map[string]any{"name": "meter 2", "driver": "meter",
		"version": "2.0.0", "selector": map[string]any{"tags": map[string]string{"site": "sh"}}, "waves": []int{50, 100}}).Decode(t, &ro)
	// Wave 1 is gw1: its deployment fails, above the failure threshold of 0%.
	awaitRollout(t, srv, ro.ID, "deploying gw1", func(r *driverhub.Rollout) bool { return r.Counts[driverhub.TargetPending] == 1 })
	m := desired(t, srv, secrets["gw1"])
	report(t, srv, secrets["gw1"], map[string]any{"edge_version": driverhub.Version, "arch": "x86-64", "builtin_drivers": []string{},
		"deployment": map[string]any{"id": m.DeploymentID, "status": "failed", "reason": "driver meter exited"}})
	awaitRollout(t, srv, ro.ID, "aborted and rolled back", func(r *driverhub.Rollout) bool {
		return r.State == driverhub.RolloutAborted && slices.ContainsFunc(r.Events, func(e driverhub.RolloutEvent) bool {
			return e.Type == driverhub.EventRolledBack
		})
	})

	b := adminBrowser(t, srv)
	page := "/rollouts/" + ro.ID
	for _, tt := range []struct {
		lang                  string
		reason, events, skips []string
	}{
		{"en", []string{"wave 1: 1 of 1 targets failed (100%), above the failure threshold of 0%"},
			[]string{"to 2 instances in 2 waves (1 skipped)", "wave 1 of 2 started: 1 targets (50% of the rollout)",
				"aborted: wave 1: 1 of 1 targets failed (100%)", "rolled back 1 target to their previous version"},
			[]string{"meter is not bound to instance gw3"}},
		{"zh-CN", []string{"第1批：1个目标中1个失败（100%），超过失败阈值0%"},
			[]string{"发布到2个实例，分2批（跳过1个）", "第1批（共2批）开始：1个目标（占全部的50%）",
				"已中止：第1批：1个目标中1个失败（100%）", "已将1个目标回滚到之前的版本"},
			[]string{"meter 未绑定到实例 gw3"}},
	} {
		b.lang = tt.lang
		body := b.mustGet(page).Body
		reason := regexp.MustCompile(`id="rollout-reason">([^<]*)</p>`).FindStringSubmatch(body)
		if reason == nil || !strings.Contains(reason[1], tt.reason[0]) {
			t.Errorf("%s: reason %q, want it to say %q", tt.lang, reason, tt.reason[0])
		}
		events := body[strings.Index(body, `id="events"`):]
		for _, want := range tt.events {
			if !strings.Contains(events, want) {
				t.Errorf("%s: the events do not say %q: %s", tt.lang, want, snippet(events))
			}
		}
		skipped := b.mustGet(page + "?state=skipped").Body
		for _, want := range tt.skips {
			if !strings.Contains(skipped, want) {
				t.Errorf("%s: the skipped target does not say %q", tt.lang, want)
			}
		}
		checkPage(t, tt.lang, page, b.mustGet(page))
	}
}

// awaitRollout reads the rollout until cond holds, and fails after 10 s:
// the server's loop acts on a report within milliseconds.
func awaitRollout(t *testing.T, srv *apitest.Server, id, what string, cond func(*driverhub.Rollout) bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var r driverhub.Rollout
		srv.Must(t, http.StatusOK, "GET", "/api/v1/rollouts/"+id, srv.AdminToken, nil).Decode(t, &r)
		if cond(&r) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("rollout %s: not %s after 10 s: %s, %d events", id, what, r.State, len(r.Events))
		}
		time.Sleep(20 * time.Millisecond)
	}
}
