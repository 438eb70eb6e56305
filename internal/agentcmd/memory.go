package agentcmd

import (
	"os"
	"runtime/debug"
)

// agentGCPercent is the agent's GOGC unless the environment sets one. Its
// live heap is a megabyte or two, which the default (100) lets grow to
// twice that and more (a heap below 4 MiB is never collected); at 25 a
// gateway keeps about a megabyte more for its drivers, for a collection a
// second of so small a heap: a fraction of a percent of a core.
const agentGCPercent = 25

// tuneMemory applies the agent's memory defaults.
func tuneMemory() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(agentGCPercent)
	}
}
