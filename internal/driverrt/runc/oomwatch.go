package runc

import (
	"fmt"
	"os"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"

	"github.com/driverhub/driverhub/internal/driverrt/cgroupfs"
)

// oomWatch notices OOM kills in a cgroup while it exists: runc removes the
// cgroup as soon as the container ends, so the counters cannot be read
// afterwards. v1 uses an eventfd registered on memory.oom_control, v2 an
// inotify watch on memory.events.
type oomWatch struct {
	f   *os.File
	wg  sync.WaitGroup
	oom atomic.Bool
}

func watchOOM(c cgroupfs.Group) (*oomWatch, error) {
	w := &oomWatch{}
	if n, _ := c.OOMKills(); n > 0 {
		w.oom.Store(true)
	}
	if c.Version == 2 {
		fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
		if err != nil {
			return nil, fmt.Errorf("inotify: %w", err)
		}
		if _, err := unix.InotifyAddWatch(fd, c.OOMEventsFile(), unix.IN_MODIFY); err != nil {
			unix.Close(fd)
			return nil, fmt.Errorf("watch memory.events: %w", err)
		}
		w.f = os.NewFile(uintptr(fd), "inotify")
	} else {
		fd, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
		if err != nil {
			return nil, fmt.Errorf("eventfd: %w", err)
		}
		ctl, err := os.Open(c.OOMEventsFile())
		if err != nil {
			unix.Close(fd)
			return nil, err
		}
		err = os.WriteFile(c.File("cgroup.event_control"), fmt.Appendf(nil, "%d %d", fd, ctl.Fd()), 0)
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
			if n, _ := c.OOMKills(); n > 0 {
				w.oom.Store(true)
			} else if _, err := os.Stat(c.File("cgroup.procs")); err == nil && c.Version == 1 {
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
