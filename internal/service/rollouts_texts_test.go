package service_test

import (
	"fmt"
	"testing"

	"github.com/driverhub/driverhub"
)

// TestRolloutTextsKeepTheirFormats: what a rollout stores for people to
// read later (its reason, its events, its targets' problems) comes back
// from the store with the format and arguments that made it, so that a
// console can show it in another language; the English is as before.
func TestRolloutTextsKeepTheirFormats(t *testing.T) {
	ts := newTestService(t)
	f := newRolloutFleet(t, ts, 4, "sh")
	f.addInstance(t, "nobind", map[string]string{"site": "sh"}, false)
	r := f.create(t, rolloutIn("sh", 50, 100))
	f.answer(t, "gw000", driverhub.DeployFailed) // the failure threshold is 0
	r = f.get(t, r.ID)
	if r.State != driverhub.RolloutAborted || r.ReasonFormat == "" {
		t.Fatalf("rollout %s, reason %q made by %q; want aborted with a format", r.State, r.Reason, r.ReasonFormat)
	}
	if en := fmt.Sprintf(r.ReasonFormat, r.ReasonArgs...); en != r.Reason {
		t.Errorf("the reason's format and arguments make %q, the reason is %q", en, r.Reason)
	}
	for _, e := range r.Events {
		if e.Format == "" || fmt.Sprintf(e.Format, e.Args...) != e.Message {
			t.Errorf("%s event %q: format %q and arguments %#v do not make it", e.Type, e.Message, e.Format, e.Args)
		}
		if e.Type != driverhub.EventAborted {
			continue
		}
		if e.Message != "aborted: "+r.Reason || len(e.Args) != 1 {
			t.Errorf("abort event %q, want \"aborted: \" and the reason", e.Message)
		} else if m, ok := e.Args[0].(driverhub.Message); !ok || m.Format != r.ReasonFormat {
			t.Errorf("the abort event's argument is %#v, want the reason as a Message", e.Args[0])
		}
	}
	skipped := f.targets(t, r.ID, driverhub.TargetSkipped)
	if len(skipped) != 1 || len(skipped[0].Problems) != 1 {
		t.Fatalf("skipped targets %v, want nobind with one problem", skipped)
	}
	p := skipped[0].Problems[0]
	if p.Format != "%s is not bound to instance %s" || fmt.Sprintf(p.Format, p.Args...) != p.Message || p.Message != "meter is not bound to instance nobind" {
		t.Errorf("nobind's problem %q made by %q %#v", p.Message, p.Format, p.Args)
	}
}
