package process

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// procStat is what the runtime needs from /proc/<pid>/stat.
type procStat struct {
	state byte   // field 3: R, S, D, Z, …
	pgrp  int    // field 5
	start uint64 // field 22: start time in clock ticks after boot
}

func (s procStat) zombie() bool { return s.state == 'Z' || s.state == 'X' }

// readStat reads /proc/<pid>/stat. The command name (field 2) may hold
// spaces and parentheses, so fields are counted from the last ')'.
func readStat(pid int) (procStat, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return procStat{}, err
	}
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return procStat{}, fmt.Errorf("/proc/%d/stat: malformed", pid)
	}
	f := strings.Fields(string(data[i+1:]))
	if len(f) < 20 || len(f[0]) != 1 {
		return procStat{}, fmt.Errorf("/proc/%d/stat: malformed", pid)
	}
	pgrp, err1 := strconv.Atoi(f[2])
	start, err2 := strconv.ParseUint(f[19], 10, 64)
	if err1 != nil || err2 != nil {
		return procStat{}, fmt.Errorf("/proc/%d/stat: malformed", pid)
	}
	return procStat{state: f[0][0], pgrp: pgrp, start: start}, nil
}

// alive reports whether pid exists, is not a zombie and started at start.
func alive(pid int, start uint64) bool {
	st, err := readStat(pid)
	return err == nil && !st.zombie() && st.start == start
}

// allPids lists the process ids in /proc.
func allPids() []int {
	d, err := os.Open("/proc")
	if err != nil {
		return nil
	}
	defer d.Close()
	names, _ := d.Readdirnames(-1)
	pids := make([]int, 0, len(names))
	for _, n := range names {
		if pid, err := strconv.Atoi(n); err == nil && pid > 0 {
			pids = append(pids, pid)
		}
	}
	return pids
}

// member is a live process of a process group.
type member struct {
	pid   int
	start uint64
}

// groupMembers lists the live (non-zombie) processes of process group pgid.
func groupMembers(pgid int) []member {
	var ms []member
	for _, pid := range allPids() {
		st, err := readStat(pid)
		if err == nil && st.pgrp == pgid && !st.zombie() {
			ms = append(ms, member{pid, st.start})
		}
	}
	return ms
}

var pageSize = int64(os.Getpagesize())

// rssBytes is the resident set size of pid (VmRSS), 0 when unknown.
func rssBytes(pid int) int64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/statm", pid))
	if err != nil {
		return 0
	}
	f := strings.Fields(string(data))
	if len(f) < 2 {
		return 0
	}
	pages, err := strconv.ParseInt(f[1], 10, 64)
	if err != nil {
		return 0
	}
	return pages * pageSize
}

// groupRSS sums the resident set sizes of the processes of group pgid.
func groupRSS(pgid int) int64 {
	var sum int64
	for _, m := range groupMembers(pgid) {
		sum += rssBytes(m.pid)
	}
	return sum
}

// pollUntil calls done every interval until it returns true or timeout
// passes, and reports whether it returned true.
func pollUntil(timeout, interval time.Duration, done func() bool) bool {
	deadline := time.Now().Add(timeout)
	for {
		if done() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(interval)
	}
}
