package console_test

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/driverhub/driverhub"
	"github.com/driverhub/driverhub/internal/apitest"
	"github.com/driverhub/driverhub/internal/console"
)

// TestBrowserRollout rolls meter 2.0.0 out from its version page, in each
// language: the form, the rollout page following its waves by itself as
// a simulated gateway reports, pause, and the list. Screenshots of each.
func TestBrowserRollout(t *testing.T) {
	for _, lang := range console.Languages {
		t.Run(lang, func(t *testing.T) { browserRollout(t, lang) })
	}
}

func browserRollout(t *testing.T, lang string) {
	srv := apitest.New(t)
	secrets := rolloutFleet(t, srv)
	u := newUI(t, srv)
	user, pw := newUser(t, srv, "rita", driverhub.RoleDeveloper)
	u.login(user, pw)
	u.open("/lang?to="+lang+"&next=/drivers/meter/versions/2.0.0", "version")
	u.submit("#roll-out", "rollout-form")
	if d, v := u.value("#r-driver"), u.value("#r-version"); d != "meter" || v != "2.0.0" {
		t.Fatalf("the form is prefilled with %q %q", d, v)
	}
	u.eval(`(() => { document.getElementById('r-waves').value = ''; return true })()`)
	u.do("fill the form", chromedp.SendKeys(chromedp.ID("r-name"), "meter 2 to sh"),
		chromedp.SendKeys(chromedp.ID("r-selector"), "site=sh"), chromedp.SendKeys(chromedp.ID("r-waves"), "50, 100"))
	u.submit("#create-rollout", "rollout-running")
	u.do("running", chromedp.WaitVisible(chromedp.CSS(`#rollout-state[data-state="running"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#waves li[data-wave="1"][data-state="running"]`)))

	// gw1 is wave 1 (50% of two targets): its success starts wave 2, and
	// the page shows it without a reload.
	succeed(t, srv, secrets["gw1"], desired(t, srv, secrets["gw1"]))
	u.do("wave 2 starts", chromedp.WaitVisible(chromedp.CSS(`#waves li[data-wave="1"][data-state="succeeded"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#waves li[data-wave="2"][data-state="running"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#targets-table tr[data-instance="gw1"] .tstate-succeeded`)))
	u.shot("rollout-wave-2")
	want := msg(t, lang, "rollout.progress_n", 1, 2)
	if got := u.text("#rollout-progress"); got != want {
		t.Errorf("progress %q, want %q", got, want)
	}
	u.submit("#pause", "rollout-paused")
	if s := run(u, "state", chromedp.AttributeValue(chromedp.ID("rollout-state"), "data-state")); s.Value != "paused" {
		t.Errorf("after pause: %q", s.Value)
	}
	if !strings.Contains(u.text("#events"), msg(t, lang, "rollout.event.paused")) {
		t.Error("the events do not show the pause")
	}
	page := strings.SplitN(run(u, "location", chromedp.Location()), "?", 2)[0]
	u.open(strings.TrimPrefix(page, srv.URL)+"?state=skipped#targets", "rollout-skipped")
	if row := u.text(`#targets-table tr[data-instance="gw3"]`); !strings.Contains(row, msg(t, lang, "rollout.problem.not_bound")) {
		t.Errorf("skipped target row: %q", row)
	}
	u.open("/rollouts", "rollouts")
	if row := u.text("#rollouts-table tbody tr"); !strings.Contains(row, "meter 2 to sh") || !strings.Contains(row, msg(t, lang, "rollout.state.paused")) {
		t.Errorf("rollouts list row: %q", row)
	}
}
