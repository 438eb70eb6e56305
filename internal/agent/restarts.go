package agent

import (
	"time"

	"github.com/driverhub/driverhub"
)

// Supervision rules (SPEC §7): restart with backoff from 1 s doubling to
// 60 s, reset after 60 s up; 5 restarts within 5 minutes is a crash loop,
// still retried at the cap.
const (
	backoffMin      = time.Second
	backoffMax      = 60 * time.Second
	backoffResetAge = 60 * time.Second
	crashloopCount  = 5
	crashloopWindow = 5 * time.Minute
)

// restartPolicy decides what follows each exit of a driver: how long to
// wait before starting it again, and whether it is crash-looping. It reads
// no clock: the supervisor tells it when each exit happened and how long
// the run lasted, so that it is tested without waiting.
type restartPolicy struct {
	delay time.Duration // the last delay given; 0 before the first exit
	exits []time.Time   // the exits within crashloopWindow of the last one
}

// exited records an exit at time at, of a run that lasted ran. It returns
// the driver's state until it is restarted and the delay before that.
func (p *restartPolicy) exited(at time.Time, ran time.Duration) (driverhub.DriverState, time.Duration) {
	if p.delay == 0 || ran >= backoffResetAge {
		p.delay = backoffMin
	} else {
		p.delay = min(p.delay*2, backoffMax)
	}
	p.exits = append(p.exits, at)
	for len(p.exits) > 0 && at.Sub(p.exits[0]) > crashloopWindow {
		p.exits = p.exits[1:]
	}
	if len(p.exits) >= crashloopCount {
		return driverhub.DriverCrashloop, p.delay
	}
	return driverhub.DriverRestarting, p.delay
}

// looping reports whether the last exits make a crash loop: the driver is
// reported crash-looping while it runs again, until a run lasts
// backoffResetAge.
func (p *restartPolicy) looping() bool { return len(p.exits) >= crashloopCount }

// clock is the supervisor's time: real, or a test's.
type clock interface {
	Now() time.Time
	After(d time.Duration) <-chan time.Time
}

type realClock struct{}

func (realClock) Now() time.Time                         { return time.Now() }
func (realClock) After(d time.Duration) <-chan time.Time { return time.After(d) }
