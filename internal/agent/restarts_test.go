package agent

import (
	"testing"
	"time"

	"github.com/driverhub/driverhub"
)

// exitStep is one exit of a driver: wait is the time since the previous
// exit (or the start of the test), ran how long the run lasted; state and
// delay are what the policy must answer.
type exitStep struct {
	wait, ran time.Duration
	state     driverhub.DriverState
	delay     time.Duration
}

const (
	restarting = driverhub.DriverRestarting
	crashloop  = driverhub.DriverCrashloop
	quick      = 100 * time.Millisecond
)

func TestRestartPolicy(t *testing.T) {
	s := time.Second
	for _, tc := range []struct {
		name  string
		steps []exitStep
	}{
		{"quick crashes double the delay to the cap and become a crash loop at the 5th", []exitStep{
			{0, quick, restarting, 1 * s},
			{1 * s, quick, restarting, 2 * s},
			{2 * s, quick, restarting, 4 * s},
			{4 * s, quick, restarting, 8 * s},
			{8 * s, quick, crashloop, 16 * s},
			{16 * s, quick, crashloop, 32 * s},
			{32 * s, quick, crashloop, 60 * s},
			{60 * s, quick, crashloop, 60 * s}, // still retried, at the cap
		}},
		{"60 s up resets the delay to 1 s", []exitStep{
			{0, quick, restarting, 1 * s},
			{1 * s, quick, restarting, 2 * s},
			{2 * s, quick, restarting, 4 * s},
			{4*s + 60*s, 60 * s, restarting, 1 * s},
			{1 * s, quick, crashloop, 2 * s}, // reset delay, yet 5 exits in 5 minutes
		}},
		{"a run just short of 60 s does not reset the delay", []exitStep{
			{0, quick, restarting, 1 * s},
			{1*s + 59*s, 59 * s, restarting, 2 * s},
		}},
		{"5 exits in exactly 5 minutes are a crash loop", []exitStep{
			{0, quick, restarting, 1 * s},
			{75 * s, quick, restarting, 2 * s},
			{75 * s, quick, restarting, 4 * s},
			{75 * s, quick, restarting, 8 * s},
			{75 * s, quick, crashloop, 16 * s},
		}},
		{"exits spread over more than 5 minutes are no crash loop", []exitStep{
			{0, 90 * s, restarting, 1 * s},
			{91 * s, 90 * s, restarting, 1 * s},
			{91 * s, 90 * s, restarting, 1 * s},
			{91 * s, 90 * s, restarting, 1 * s},
			{91 * s, 90 * s, restarting, 1 * s},
			{91 * s, 90 * s, restarting, 1 * s},
		}},
		{"a crash loop ends once a long run leaves fewer than 5 exits in 5 minutes", []exitStep{
			{0, quick, restarting, 1 * s},
			{1 * s, quick, restarting, 2 * s},
			{2 * s, quick, restarting, 4 * s},
			{4 * s, quick, restarting, 8 * s},
			{8 * s, quick, crashloop, 16 * s},
			{16*s + 10*time.Minute, 10 * time.Minute, restarting, 1 * s},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			now := time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC) // the fake clock
			var p restartPolicy
			for i, st := range tc.steps {
				now = now.Add(st.wait)
				state, delay := p.exited(now, st.ran)
				if state != st.state || delay != st.delay {
					t.Fatalf("exit %d: %s, restart in %s; want %s, restart in %s", i+1, state, delay, st.state, st.delay)
				}
			}
		})
	}
}
