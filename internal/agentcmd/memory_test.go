package agentcmd

import (
	"os"
	"runtime/debug"
	"strconv"
	"strings"
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

// Releasing the executable's pages after start lowers the resident file
// pages of the process (here the test binary), and the process goes on
// running the code it released.
func TestReleaseBinaryPages(t *testing.T) {
	before := rssFileKiB(t)
	advised := releaseBinaryPages()
	if advised == 0 {
		t.Skip("MADV_PAGEOUT is not supported by this kernel (Linux 5.4+)")
	}
	after := rssFileKiB(t)
	if after >= before {
		t.Errorf("RssFile %d KiB before, %d KiB after releasing %d bytes of the executable", before, after, advised)
	}
	tuneMemory() // code from the released pages still runs
}

func rssFileKiB(t *testing.T) int {
	t.Helper()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "RssFile:"); ok {
			n, err := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Fatal("no RssFile in /proc/self/status")
	return 0
}
