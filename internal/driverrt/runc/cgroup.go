package runc

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// memCgroup is a container's memory cgroup: the v1 memory controller's
// directory, or the unified directory on cgroup v2.
type memCgroup struct {
	v2  bool
	dir string
}

func memoryCgroup(path string) memCgroup {
	var st unix.Statfs_t
	if unix.Statfs("/sys/fs/cgroup", &st) == nil && st.Type == unix.CGROUP2_SUPER_MAGIC {
		return memCgroup{v2: true, dir: "/sys/fs/cgroup" + path}
	}
	return memCgroup{dir: "/sys/fs/cgroup/memory" + path}
}

// usage is the cgroup's current memory use, 0 when unknown.
func (c memCgroup) usage() int64 {
	file := "memory.usage_in_bytes"
	if c.v2 {
		file = "memory.current"
	}
	b, err := os.ReadFile(c.dir + "/" + file)
	if err != nil {
		return 0
	}
	n, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		return 0
	}
	return n
}

// oomKills is the cgroup's OOM kill count ("oom_kill" in memory.oom_control
// on v1, memory.events on v2), -1 when unknown.
func (c memCgroup) oomKills() int64 {
	file := "memory.oom_control"
	if c.v2 {
		file = "memory.events"
	}
	b, err := os.ReadFile(c.dir + "/" + file)
	if err != nil {
		return -1
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		k, v, _ := strings.Cut(sc.Text(), " ")
		if k == "oom_kill" {
			n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			if err == nil {
				return n
			}
		}
	}
	return -1
}

// oomWatch notices OOM kills in a cgroup while it exists: runc removes the
// cgroup as soon as the container ends, so the counters cannot be read
// afterwards. v1 uses an eventfd registered on memory.oom_control, v2 an
// inotify watch on memory.events.
type oomWatch struct {
	f   *os.File
	wg  sync.WaitGroup
	oom atomic.Bool
}

func watchOOM(c memCgroup) (*oomWatch, error) {
	w := &oomWatch{}
	if c.oomKills() > 0 {
		w.oom.Store(true)
	}
	if c.v2 {
		fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
		if err != nil {
			return nil, fmt.Errorf("inotify: %w", err)
		}
		if _, err := unix.InotifyAddWatch(fd, c.dir+"/memory.events", unix.IN_MODIFY); err != nil {
			unix.Close(fd)
			return nil, fmt.Errorf("watch memory.events: %w", err)
		}
		w.f = os.NewFile(uintptr(fd), "inotify")
	} else {
		fd, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
		if err != nil {
			return nil, fmt.Errorf("eventfd: %w", err)
		}
		ctl, err := os.Open(c.dir + "/memory.oom_control")
		if err != nil {
			unix.Close(fd)
			return nil, err
		}
		err = os.WriteFile(c.dir+"/cgroup.event_control", fmt.Appendf(nil, "%d %d", fd, ctl.Fd()), 0)
		ctl.Close()
		if err != nil {
			unix.Close(fd)
			return nil, fmt.Errorf("register OOM event: %w", err)
		}
		w.f = os.NewFile(uintptr(fd), "oom-eventfd")
	}
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		buf := make([]byte, 4096)
		for {
			if _, err := w.f.Read(buf); err != nil {
				return
			}
			// On v1 the eventfd also fires when the cgroup is removed:
			// only count it when the cgroup still exists.
			if c.oomKills() > 0 {
				w.oom.Store(true)
			} else if _, err := os.Stat(c.dir + "/cgroup.procs"); err == nil && !c.v2 {
				w.oom.Store(true)
			}
		}
	}()
	return w, nil
}

// stop ends the watch and reports whether an OOM kill was seen.
func (w *oomWatch) stop() bool {
	if w == nil {
		return false
	}
	w.f.Close()
	w.wg.Wait()
	return w.oom.Load()
}
