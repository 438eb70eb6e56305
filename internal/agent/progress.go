package agent

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/driverhub/driverhub"
)

// progress tracks a deployment's resources and reports each change.
type progress struct {
	a  *Agent
	mu sync.Mutex
	r  driverhub.DeploymentReport
}

func newProgress(a *Agent, m *driverhub.Manifest) *progress {
	p := &progress{a: a, r: driverhub.DeploymentReport{ID: m.DeploymentID, Status: driverhub.DeployProcessing}}
	for _, d := range m.Drivers {
		p.r.Resources = append(p.r.Resources, resource(driverhub.ResourceDriver, d.Name), resource(driverhub.ResourceDriverConfig, d.Name))
		for _, dev := range d.RuntimeConfig.DeviceList {
			p.r.Resources = append(p.r.Resources, resource(driverhub.ResourceDeviceConfig, deviceName(dev)))
		}
	}
	return p
}

func resource(typ driverhub.ResourceType, name string) driverhub.Resource {
	return driverhub.Resource{Type: typ, Name: name, Stage: driverhub.StageInit, Status: driverhub.DeployProcessing, Log: []driverhub.LogEntry{}}
}

// deviceName names a device_config resource.
func deviceName(dev driverhub.RuntimeDevice) string { return dev.ProductKey + "/" + dev.DeviceName }

// step records a resource's stage, status and a log line. Only the new log
// lines are sent: the server appends them.
func (p *progress) step(typ driverhub.ResourceType, name string, stage driverhub.Stage, status driverhub.DeployStatus, level, format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i := range p.r.Resources {
		r := &p.r.Resources[i]
		if r.Type == typ && r.Name == name {
			r.Stage, r.Status = stage, status
			r.Log = append(r.Log, driverhub.LogEntry{Time: time.Now().UTC(), Level: level, Stage: stage, Message: cutMessage(fmt.Sprintf(format, args...))})
		}
	}
}

// cutMarker ends a log message cut to what a report may carry.
const cutMarker = " […cut]"

// cutMessage cuts a message to MaxReportLogMessageBytes, on a character
// boundary, ending with cutMarker: the server would refuse or cut it.
func cutMessage(msg string) string {
	if len(msg) <= driverhub.MaxReportLogMessageBytes {
		return msg
	}
	cut := driverhub.MaxReportLogMessageBytes - len(cutMarker)
	for cut > 0 && !utf8.RuneStart(msg[cut]) {
		cut--
	}
	return msg[:cut] + cutMarker
}

// driverStep applies a step to a driver and, once it has an outcome, to
// every resource that belongs to it.
func (p *progress) driverStep(md *driverhub.ManifestDriver, stage driverhub.Stage, status driverhub.DeployStatus, level, format string, args ...any) {
	p.step(driverhub.ResourceDriver, md.Name, stage, status, level, format, args...)
	if status != driverhub.DeployProcessing {
		msg := fmt.Sprintf(format, args...)
		p.step(driverhub.ResourceDriverConfig, md.Name, stage, status, level, "driver config: %s", msg)
		for _, dev := range md.RuntimeConfig.DeviceList {
			p.step(driverhub.ResourceDeviceConfig, deviceName(dev), stage, status, level, "device config: %s", msg)
		}
	}
}

// finish sets the deployment's outcome from its failures and returns the
// final report.
func (p *progress) finish(failures []string) driverhub.DeploymentReport {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(failures) > 0 {
		p.r.Status, p.r.Reason = driverhub.DeployFailed, strings.Join(failures, "; ")
	} else {
		p.r.Status = driverhub.DeploySucceeded
	}
	return p.r
}

// send reports progress (best effort: the final report is retried by the report loop).
func (p *progress) send(ctx context.Context) {
	p.mu.Lock()
	r := p.r
	r.Resources = append([]driverhub.Resource(nil), p.r.Resources...)
	for i := range p.r.Resources {
		p.r.Resources[i].Log = p.r.Resources[i].Log[:0:0] // sent once; the server keeps them
	}
	p.mu.Unlock()
	if err := p.a.report(ctx, &r); err != nil {
		p.a.log.Warn("report deployment progress", "deployment", r.ID, "err", err)
	}
}
