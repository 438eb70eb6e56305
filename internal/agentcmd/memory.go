package agentcmd

import (
	"bufio"
	"os"
	"runtime/debug"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
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

// releaseBinaryPages lets the kernel take back the pages of the agent's
// own executable that are resident now (MADV_PAGEOUT, Linux 5.4+; a no-op
// before). Starting maps most of the binary: package initialisation (the
// TUF library's protobuf descriptors alone are a megabyte), flag parsing,
// the runtime probe, and the kernel's fault-around of 16 pages per fault.
// Once started the agent uses under half of it; the pages it does use come
// back from the page cache at the next touch. Only clean, read-only
// mappings are advised: nothing is written back or lost. It returns the
// bytes advised.
func releaseBinaryPages() int {
	exe, err := os.Readlink("/proc/self/exe")
	if err != nil {
		return 0
	}
	f, err := os.Open("/proc/self/maps")
	if err != nil {
		return 0
	}
	defer f.Close()
	advised := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// "00400000-00846000 r-xp 00000000 fd:01 1234 /path/to/exe"
		fs := strings.Fields(sc.Text())
		if len(fs) < 6 || fs[5] != exe || strings.Contains(fs[1], "w") {
			continue
		}
		lo, hi, _ := strings.Cut(fs[0], "-")
		start, err1 := strconv.ParseUint(lo, 16, 64)
		end, err2 := strconv.ParseUint(hi, 16, 64)
		if err1 != nil || err2 != nil || end <= start {
			continue
		}
		// By address: the mapping is not Go memory, and advice on it reads
		// or writes nothing.
		if _, _, errno := unix.Syscall(unix.SYS_MADVISE, uintptr(start), uintptr(end-start), unix.MADV_PAGEOUT); errno == 0 {
			advised += int(end - start)
		}
	}
	return advised
}
