package cli

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/driverhub/driverhub"
)

// On a terminal, create --wait redraws one progress line in place and
// prints each event once, on its own line above it; elsewhere it prints a
// line per change and never a carriage return.
func TestRolloutProgressLine(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	view := func(ok, failed int, events ...string) *rolloutView {
		r := &rolloutView{}
		r.State, r.Wave = driverhub.RolloutRunning, 1
		r.Waves = []driverhub.RolloutWave{{Number: 1, Size: 4, Succeeded: ok, Failed: failed}}
		r.Counts = map[driverhub.TargetState]int{driverhub.TargetFailed: failed}
		for _, e := range events {
			r.Events = append(r.Events, driverhub.RolloutEvent{Time: at, Type: driverhub.EventWaveStarted, Message: e})
		}
		return r
	}
	for _, terminal := range []bool{true, false} {
		var out bytes.Buffer
		pw := &progressWriter{w: &out, bar: terminal, p: &printer{}}
		seen := pw.show(view(0, 0, "wave 1 started"), 0)
		seen = pw.show(view(0, 0, "wave 1 started"), seen) // nothing new
		seen = pw.show(view(2, 1, "wave 1 started", "second event"), seen)
		pw.done()
		got := out.String()
		if n := strings.Count(got, "wave 1 started"); n != 1 || strings.Count(got, "second event") != 1 {
			t.Errorf("terminal=%v: events printed %d times:\n%q", terminal, n, got)
		}
		if !strings.Contains(got, "[###############xxxxxxxx-------] 2/4 succeeded, 1 failed · wave 1/1 · running") {
			t.Errorf("terminal=%v: no progress line for 2 of 4 succeeded, 1 failed:\n%q", terminal, got)
		}
		if terminal {
			// The event after a drawn bar clears the bar's line first.
			if !strings.Contains(got, "\r\x1b[2K03:04:05 wave_started   second event\n") || !strings.HasSuffix(got, "running\n") {
				t.Errorf("terminal: the bar is not redrawn in place under the events:\n%q", got)
			}
		} else if strings.Contains(got, "\r") || strings.Count(got, "0/4 succeeded") != 1 {
			t.Errorf("pipe: want one line per change and no carriage return:\n%q", got)
		}
	}
}
