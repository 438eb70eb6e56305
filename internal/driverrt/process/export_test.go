package process

import "github.com/driverhub/driverhub/internal/driverrt"

// CgroupDir is the driver's cgroup directory, "" without one.
func CgroupDir(p driverrt.Process) string {
	if c := p.(*process).cg; c != nil {
		return c.Dir
	}
	return ""
}

// ProcStat exposes /proc/<pid>/stat: state, process group and start time.
func ProcStat(pid int) (state byte, pgrp int, start uint64, err error) {
	st, err := readStat(pid)
	return st.state, st.pgrp, st.start, err
}
