package service

import (
	"context"
	"fmt"
	"time"

	"github.com/driverhub/driverhub"
)

// recordDriverStates writes a report's driver states onto the instance's
// bindings. The list is whole — the agent lists every driver it runs — so
// a bound driver it leaves out runs no longer: shown as up, restarting or
// in a crash loop before, it becomes stopped. Reports of drivers no longer
// bound are dropped. Reports come all day from every gateway: one read of
// the bindings, a write for each driver listed, and one for a driver left
// out only when its state changes.
func recordDriverStates(ctx context.Context, tx driverhub.Tx, instanceID string, drivers []driverhub.DriverReport, now time.Time) error {
	bindings, err := tx.ListBindings(ctx, instanceID)
	if err != nil {
		return err
	}
	reported := make(map[string]*driverhub.DriverReport, len(drivers))
	for k := range drivers {
		reported[drivers[k].Name] = &drivers[k]
	}
	for _, b := range bindings {
		next := nextRuntime(b.Runtime, reported[b.Driver], now)
		if next == nil {
			continue
		}
		b.Runtime = next
		if err := tx.UpdateBinding(ctx, b); err != nil {
			return err
		}
	}
	return nil
}

// nextRuntime is a binding's runtime after a report that lists its driver
// (r) or leaves it out (r nil); nil when it stays as it is. A driver left
// out keeps its restarts and last exit, and runs no version.
func nextRuntime(cur *driverhub.DriverStatus, r *driverhub.DriverReport, now time.Time) *driverhub.DriverStatus {
	if r != nil {
		return &driverhub.DriverStatus{State: r.State, Version: r.Version, Restarts: r.Restarts,
			LastExit: r.LastExit, MemoryBytes: r.MemoryBytes, ReportedAt: now}
	}
	if cur == nil || cur.State == driverhub.DriverStopped || cur.State == driverhub.DriverFailed {
		return nil // never reported, or already not running: nothing new to say
	}
	return &driverhub.DriverStatus{State: driverhub.DriverStopped, Restarts: cur.Restarts, LastExit: cur.LastExit, ReportedAt: now}
}

// validateDriverReports checks the drivers of a report: known states, each
// driver once.
func validateDriverReports(drivers []driverhub.DriverReport) error {
	seen := make(map[string]bool, len(drivers))
	for k, dr := range drivers {
		if !dr.State.Valid() {
			return driverhub.Invalid(fmt.Sprintf("drivers[%d].state", k), "must be one of %s", driverhub.Words(driverhub.AllDriverStates))
		}
		if seen[dr.Name] {
			return driverhub.Invalid(fmt.Sprintf("drivers[%d].name", k), "lists driver %q a second time", dr.Name)
		}
		seen[dr.Name] = true
	}
	return nil
}
