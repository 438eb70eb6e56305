package agent

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/driverhub/driverhub"
)

// deployment is one manifest being applied: what ran before, what will
// run after, and what failed on the way.
type deployment struct {
	a        *Agent
	m        *driverhub.Manifest
	p        *progress
	old      map[string]*Installed // what ran before
	next     map[string]*Installed // what runs after: the new state
	started  map[string]*Installed // started by this deployment, not yet healthy
	failures []string              // "driver: why", the deployment's reason
	// failed are the drivers that failed to start with nothing to roll back to.
	failed map[string]driverhub.DriverReport
}

// apply makes the gateway run what the manifest says, in steps. Every
// driver is prepared before anything running is touched; a driver that
// fails to prepare keeps its running version; a new driver that does not
// stay up for HealthyAfter is rolled back to the version before.
func (a *Agent) apply(ctx context.Context, m *driverhub.Manifest, etag string) {
	a.log.Info("applying deployment", "deployment", m.DeploymentID, "type", m.Type, "drivers", len(m.Drivers))
	a.mu.Lock()
	old := a.state.Drivers
	a.mu.Unlock()
	d := &deployment{a: a, m: m, p: newProgress(a, m), old: old,
		next: map[string]*Installed{}, started: map[string]*Installed{}, failed: map[string]driverhub.DriverReport{}}
	d.p.send(ctx)

	prepared := d.prepareAll(ctx)
	pl := decide(m, old, prepared, a.running)
	d.stopRemoved(pl.stop)
	d.keep(pl)
	d.startNew(pl.start)
	d.p.send(ctx)
	d.checkHealth(ctx)
	d.finish(ctx, etag)
	a.cleanDisk(m)
}

// fail records that a driver failed at a stage, and why.
func (d *deployment) fail(md *driverhub.ManifestDriver, stage driverhub.Stage, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	d.failures = append(d.failures, md.Name+": "+msg)
	d.p.driverStep(md, stage, driverhub.DeployFailed, "error", "%s", msg)
}

// prepareAll downloads, verifies and unpacks every driver of the manifest
// (none for a reset). It returns those ready to run, by name.
func (d *deployment) prepareAll(ctx context.Context) map[string]*Installed {
	prepared := map[string]*Installed{}
	if d.m.Type == driverhub.DeployTypeReset {
		return prepared
	}
	for i := range d.m.Drivers {
		md := &d.m.Drivers[i]
		inst, stage, err := d.a.prepare(ctx, d.p, md)
		if err != nil {
			d.fail(md, stage, "%v", err)
			d.p.send(ctx)
			continue
		}
		prepared[md.Name] = inst
	}
	return prepared
}

// plan is what a deployment changes on the gateway.
type plan struct {
	keep      []*Installed // failed to prepare: they keep running as they were
	unchanged []*Installed // prepared identical to what runs: not restarted
	stop      []string     // no longer wanted
	start     []*Installed // new or changed
}

// decide compares what ran (old) with what the manifest wants and could be
// prepared. running says whether a driver is supervised right now.
func decide(m *driverhub.Manifest, old, prepared map[string]*Installed, running func(string) bool) plan {
	var pl plan
	for _, name := range sortedNames(old) {
		_, ready := prepared[name]
		switch {
		case !inManifest(m, name):
			pl.stop = append(pl.stop, name)
		case !ready:
			pl.keep = append(pl.keep, old[name])
		}
	}
	for _, name := range sortedNames(prepared) {
		inst := prepared[name]
		if prev, ok := old[name]; ok && sameDriver(prev, inst) && running(name) {
			pl.unchanged = append(pl.unchanged, prev)
		} else {
			pl.start = append(pl.start, inst)
		}
	}
	return pl
}

func sortedNames(m map[string]*Installed) []string {
	names := make([]string, 0, len(m))
	for name := range m {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

func inManifest(m *driverhub.Manifest, name string) bool {
	if m.Type == driverhub.DeployTypeReset {
		return false
	}
	for _, d := range m.Drivers {
		if d.Name == name {
			return true
		}
	}
	return false
}

// stopRemoved stops the drivers the manifest no longer names.
func (d *deployment) stopRemoved(names []string) {
	for _, name := range names {
		d.a.stopDriver(name)
	}
}

// keep carries the drivers that stay as they are into the new state.
func (d *deployment) keep(pl plan) {
	for _, inst := range pl.keep {
		d.next[inst.Manifest.Name] = inst
	}
	for _, inst := range pl.unchanged {
		d.next[inst.Manifest.Name] = inst
		d.p.driverStep(&inst.Manifest, driverhub.StageFinish, driverhub.DeploySucceeded, "info", "unchanged: %s keeps running", inst.Manifest.Version)
	}
}

// startNew replaces each changed driver's running version, and starts the
// new drivers. They are on probation until checkHealth.
func (d *deployment) startNew(insts []*Installed) {
	for _, inst := range insts {
		md := &inst.Manifest
		d.a.stopDriver(md.Name)
		d.p.driverStep(md, driverhub.StageStart, driverhub.DeployProcessing, "info", "starting %s %s", md.Name, md.Version)
		if err := d.a.startDriver(inst); err != nil {
			d.fail(md, driverhub.StageStart, "start: %v", err)
			d.rollback(md, driverhub.DriverReport{LastExit: "start: " + err.Error()})
			continue
		}
		d.started[md.Name] = inst
	}
}

// checkHealth waits until every started driver has stayed up for
// HealthyAfter, or ended before: that one is stopped, its output sent to
// the server ahead of the failure, and it is rolled back.
func (d *deployment) checkHealth(ctx context.Context) {
	type verdict struct {
		name string
		ok   bool
		last driverhub.DriverReport // how the first run ended
	}
	verdicts := make(chan verdict, len(d.started))
	for name := range d.started {
		d.a.mu.Lock()
		s := d.a.sups[name]
		d.a.mu.Unlock()
		go func() {
			ok, _ := s.healthy(d.a.cfg.HealthyAfter)
			verdicts <- verdict{name, ok, s.status()}
		}()
	}
	for range d.started {
		v := <-verdicts
		inst := d.started[v.name]
		md := &inst.Manifest
		if v.ok {
			d.next[v.name] = inst
			d.p.driverStep(md, driverhub.StageFinish, driverhub.DeploySucceeded, "info", "%s %s is running", v.name, md.Version)
			continue
		}
		d.fail(md, driverhub.StageStart, "did not stay up for %s (%s)", d.a.cfg.HealthyAfter, v.last.LastExit)
		d.a.stopDriver(v.name)
		d.lastWords(ctx, md)
		d.rollback(md, v.last)
	}
}

// lastWords ships the output of a driver that ended at once to the server,
// and puts its last lines in the deployment's log, where the user looks
// first: a traceback says more than an exit status.
func (d *deployment) lastWords(ctx context.Context, md *driverhub.ManifestDriver) {
	d.a.shipLogsOf(ctx, md.Name)
	d.a.mu.Lock()
	l := d.a.logs[md.Name]
	d.a.mu.Unlock()
	if l == nil {
		return
	}
	if out := l.lastRunOutput(outputLinesShown); len(out) > 0 {
		d.p.step(driverhub.ResourceDriver, md.Name, driverhub.StageStart, driverhub.DeployFailed, "error",
			"%s %s printed before it ended:\n%s", md.Name, md.Version, printable(strings.Join(out, "\n")))
	}
}

// printable replaces what a driver may print but a message should not
// carry (terminal escapes, other control characters, bidirectional
// overrides, invalid UTF-8).
func printable(s string) string {
	return strings.Map(func(r rune) rune {
		control := r < 0x20 || r == 0x7f || r >= 0x80 && r < 0xa0
		bidi := r >= 0x202a && r <= 0x202e || r >= 0x2066 && r <= 0x2069
		if r != '\n' && r != '\t' && (control || bidi) {
			return utf8.RuneError
		}
		return r
	}, strings.ToValidUTF8(s, string(utf8.RuneError)))
}

// outputLinesShown is how much of a failed driver's output the deployment's
// log shows (the server has all of it).
const outputLinesShown = 20

// rollback restarts the version that ran before a failed one, if any; else
// the driver is reported failed, as its last run ended.
func (d *deployment) rollback(md *driverhub.ManifestDriver, last driverhub.DriverReport) {
	prev := d.old[md.Name]
	if prev == nil {
		d.failed[md.Name] = driverhub.DriverReport{Name: md.Name, Version: md.Version, State: driverhub.DriverFailed,
			Restarts: last.Restarts, LastExit: last.LastExit}
		d.p.driverStep(md, driverhub.StageStart, driverhub.DeployFailed, "error", "no earlier version to roll back to: %s is stopped", md.Name)
		return
	}
	if err := d.a.startDriver(prev); err != nil {
		d.failed[md.Name] = driverhub.DriverReport{Name: md.Name, Version: prev.Manifest.Version, State: driverhub.DriverFailed,
			LastExit: "start: " + err.Error()}
		d.p.driverStep(md, driverhub.StageStart, driverhub.DeployFailed, "error", "roll back to %s failed: %v", prev.Manifest.Version, err)
		return
	}
	d.next[md.Name] = prev
	d.p.driverStep(md, driverhub.StageStart, driverhub.DeployFailed, "warn", "rolled back to version %s", prev.Manifest.Version)
}

// finish saves what now runs with the deployment's outcome, and reports it.
func (d *deployment) finish(ctx context.Context, etag string) {
	a := d.a
	final := d.p.finish(d.failures)
	a.mu.Lock()
	st := a.state
	st.Previous = previousVersions(st.Previous, d.old, d.next)
	st.Failed = d.stillFailed(st.Failed)
	st.Drivers, st.DeploymentID, st.ETag, st.Result = d.next, d.m.DeploymentID, etag, &final
	err := a.saveState(st)
	a.result = &final
	a.mu.Unlock()
	if err != nil {
		a.log.Error("save state", "err", err)
	}
	d.p.send(ctx)
	a.markDirty()
	a.log.Info("deployment applied", "deployment", d.m.DeploymentID, "status", final.Status, "reason", final.Reason)
}

// previousVersions is, for each driver that runs next, the version it ran
// before: the one it replaced, else the one recorded before.
func previousVersions(before, old, next map[string]*Installed) map[string]*Installed {
	out := map[string]*Installed{}
	for name, inst := range next {
		if o := old[name]; o != nil && o.Dir != inst.Dir {
			out[name] = o
		} else if p := before[name]; p != nil && p.Dir != inst.Dir {
			out[name] = p
		}
	}
	return out
}

// stillFailed lists the drivers that failed and still do not run: those
// of this deployment, and those that failed before which it names but
// could not start either.
func (d *deployment) stillFailed(before map[string]driverhub.DriverReport) map[string]driverhub.DriverReport {
	out := map[string]driverhub.DriverReport{}
	for name, f := range before {
		if inManifest(d.m, name) && d.next[name] == nil {
			out[name] = f
		}
	}
	maps.Copy(out, d.failed)
	return out
}
