package agentcmd

import (
	"runtime/debug"
	"testing"
)

// The agent collects its small heap often, unless GOGC says otherwise.
func TestTuneMemory(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	for env, want := range map[string]int{"": agentGCPercent, "200": 100} {
		t.Setenv("GOGC", env)
		debug.SetGCPercent(100)
		tuneMemory()
		if got := debug.SetGCPercent(100); got != want {
			t.Errorf("GOGC=%q: GC percent %d, want %d", env, got, want)
		}
	}
}
