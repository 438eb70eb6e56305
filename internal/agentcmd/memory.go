package agentcmd

import (
	"os"
	"runtime/debug"
)

// agentGCPercent is the agent's GOGC unless the environment sets one. Its
// live heap is a megabyte or two, which the default (100) lets double
// between collections; on a gateway memory is what is scarce, and
// collecting so small a heap costs next to nothing.
const agentGCPercent = 50

// tuneMemory applies the agent's memory defaults.
func tuneMemory() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(agentGCPercent)
	}
}
