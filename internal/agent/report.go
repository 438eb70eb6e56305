package agent

import (
	"context"
	"sort"
	"time"

	"github.com/driverhub/driverhub"
)

// reportGap is the least time between two reports of state changes: a
// burst of changes (ten drivers starting) goes out as one report, and a
// driver flapping fast sends at most a few a second.
const reportGap = 500 * time.Millisecond

// report sends the gateway's state and, when given, a deployment's progress.
func (a *Agent) report(ctx context.Context, d *driverhub.DeploymentReport) error {
	return a.send(ctx, d, a.driverStatuses())
}

// send posts one report, with the interpreters' versions once measured
// (the report loop's first report waits for them; a deployment's progress
// does not wait for a JVM to say its version).
func (a *Agent) send(ctx context.Context, d *driverhub.DeploymentReport, drivers []driverhub.DriverReport) error {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	builtins := a.builtins()
	r := driverhub.GatewayReport{EdgeVersion: driverhub.Version, Arch: a.arch, BuiltinDrivers: &builtins,
		Deployment: d, Drivers: drivers, Capabilities: a.cfg.Capabilities, RuntimeVersions: a.versions.measured()}
	return a.client.Report(ctx, r)
}

// driverStatuses lists what every driver does: those supervised, and
// those that failed to start with no version to fall back on.
func (a *Agent) driverStatuses() []driverhub.DriverReport {
	a.mu.Lock()
	sups := make([]*supervisor, 0, len(a.sups))
	for _, s := range a.sups {
		sups = append(sups, s)
	}
	out := make([]driverhub.DriverReport, 0, len(sups))
	if a.state != nil {
		for name, f := range a.state.Failed {
			if _, runs := a.sups[name]; !runs {
				out = append(out, f)
			}
		}
	}
	a.mu.Unlock()
	for _, s := range sups {
		out = append(out, s.status())
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// reportLoop sends a heartbeat every ReportEvery, soon after a driver's
// state changes, and a deployment's result until the server has it.
func (a *Agent) reportLoop(ctx context.Context) {
	t := time.NewTicker(a.cfg.ReportEvery)
	defer t.Stop()
	a.versions.wait(ctx) // bounded by versionProbeTimeout
	for {
		a.mu.Lock()
		pending := a.result
		a.mu.Unlock()
		err := a.report(ctx, pending)
		if err != nil && pending != nil && refused(err) {
			// Sent again it would be refused again, and hold back every
			// later heartbeat: the drivers' states matter more.
			a.log.Warn("the server refused the deployment's result: dropped", "deployment", pending.ID, "err", err)
		}
		if pending != nil && (err == nil || refused(err)) {
			a.mu.Lock()
			if a.result == pending {
				a.result = nil
			}
			a.mu.Unlock()
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-a.dirty:
			sleep(ctx, reportGap) // gather a burst of changes into one report
		}
	}
}

// markDirty asks the report loop for a report soon: a driver's state changed.
func (a *Agent) markDirty() {
	select {
	case a.dirty <- struct{}{}:
	default:
	}
}

// reportStopped tells the server, as the agent ends, the drivers' last
// words and that they are stopped, rather than leave their last state
// standing. It gives up after a few seconds: the agent is being stopped.
func (a *Agent) reportStopped(drivers []driverhub.DriverReport) {
	if len(drivers) == 0 {
		return
	}
	sort.Slice(drivers, func(i, j int) bool { return drivers[i].Name < drivers[j].Name })
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	a.shipAllLogs(ctx)
	if err := a.send(ctx, nil, drivers); err != nil {
		a.log.Warn("report the drivers stopped", "err", err)
	}
}
