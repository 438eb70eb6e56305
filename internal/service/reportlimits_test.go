package service_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/driverhub/driverhub"
)

// jsonSize is the size of v's compact JSON, as the API answers it.
func jsonSize(t testing.TB, v any) int {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return len(b)
}

// TestReportLogsAreCut plays the gateway whose secret was taken from a
// device in the field and that reports megabytes of log: messages and the
// reason are cut with a marker, levels cut, and a resource keeps its
// newest entries only.
func TestReportLogsAreCut(t *testing.T) {
	t.Parallel()
	ts := newTestService(t)
	ts.ready(t, ts.admin, driverIn("Pump", "python3"))
	i := ts.newInstance(t, ts.admin, "edge")
	ts.bind(t, ts.admin, "edge", "Pump", "")
	d := ts.deploy(t, ts.admin, "edge")

	huge := strings.Repeat("é", 1<<19) // 1 MiB of two-byte characters
	log := []driverhub.LogEntry{{Time: t0, Level: strings.Repeat("L", 1000), Stage: "start", Message: huge}}
	for k := range driverhub.MaxReportLogEntries + 50 {
		log = append(log, driverhub.LogEntry{Time: t0, Level: "info", Stage: "start", Message: fmt.Sprint("line ", k)})
	}
	ts.report(t, i.GatewaySecret, driverhub.GatewayReport{Deployment: &driverhub.DeploymentReport{ID: d.ID, Status: driverhub.DeployProcessing,
		Resources: []driverhub.Resource{{Type: "driver", Name: "Pump", Stage: "start", Status: driverhub.DeployProcessing,
			Log: []driverhub.LogEntry{log[0]}}}}})
	got := ts.deployment(t, ts.admin, "edge", d.ID).Resources[0].Log
	if len(got) != 1 {
		t.Fatalf("log of %d entries, want 1", len(got))
	}
	msg := got[0].Message
	if len(msg) > driverhub.MaxReportLogMessageBytes || !utf8.ValidString(msg) || !strings.HasPrefix(msg, "ééé") ||
		!strings.HasSuffix(msg, fmt.Sprintf("[cut from %d bytes]", len(huge))) {
		t.Errorf("a 1 MiB message is kept as %d bytes ending %q; want at most %d valid bytes, marked as cut",
			len(msg), msg[max(0, len(msg)-40):], driverhub.MaxReportLogMessageBytes)
	}
	if len(got[0].Level) > driverhub.MaxReportLogLevelBytes {
		t.Errorf("level of %d bytes kept, want at most %d", len(got[0].Level), driverhub.MaxReportLogLevelBytes)
	}

	ts.report(t, i.GatewaySecret, driverhub.GatewayReport{Deployment: &driverhub.DeploymentReport{ID: d.ID, Status: driverhub.DeployFailed,
		Reason: huge, Resources: []driverhub.Resource{{Type: "driver", Name: "Pump", Stage: "start", Status: driverhub.DeployFailed, Log: log[1:]}}}})
	after := ts.deployment(t, ts.admin, "edge", d.ID)
	got = after.Resources[0].Log
	if len(got) != driverhub.MaxReportLogEntries || got[len(got)-1].Message != fmt.Sprint("line ", driverhub.MaxReportLogEntries+49) {
		t.Errorf("log of %d entries ending %q; want the newest %d", len(got), got[len(got)-1].Message, driverhub.MaxReportLogEntries)
	}
	if len(after.Reason) > driverhub.MaxReportLogMessageBytes || !strings.Contains(after.Reason, "[cut from") {
		t.Errorf("reason of %d bytes kept, want at most %d, marked as cut", len(after.Reason), driverhub.MaxReportLogMessageBytes)
	}
}

// TestDeploymentLogsStaySmall sends reports of full-size messages, ten
// times what a resource keeps: each resource's log stays within
// MaxResourceLogBytes, and all of them within MaxDeploymentLogBytes, the
// largest losing entries first.
func TestDeploymentLogsStaySmall(t *testing.T) {
	t.Parallel()
	ts := newTestService(t)
	ts.ready(t, ts.admin, driverIn("Pump", "python3"))
	i := ts.newInstance(t, ts.admin, "edge")
	ts.bind(t, ts.admin, "edge", "Pump", "")
	for k := range 20 {
		ts.device(t, ts.admin, "pump", fmt.Sprint("p", k), "edge", "Pump", "")
	}
	d := ts.deploy(t, ts.admin, "edge")
	if len(d.Resources) < 20 {
		t.Fatalf("%d resources, want 22", len(d.Resources))
	}
	full := strings.Repeat("x", driverhub.MaxReportLogMessageBytes)
	entries := func(n int, msg string) []driverhub.LogEntry {
		out := make([]driverhub.LogEntry, n)
		for k := range out {
			out[k] = driverhub.LogEntry{Time: t0, Level: "error", Stage: "start", Message: msg}
		}
		return out
	}
	// One line that says why the driver's config failed, then the flood.
	why := driverhub.Resource{Type: "driver_config", Name: "Pump", Stage: "start", Status: driverhub.DeployFailed,
		Log: []driverhub.LogEntry{{Time: t0, Level: "error", Stage: "start", Message: "config.json: port missing"}}}
	ts.report(t, i.GatewaySecret, driverhub.GatewayReport{Deployment: &driverhub.DeploymentReport{ID: d.ID, Status: driverhub.DeployProcessing,
		Resources: []driverhub.Resource{why}}})
	for range 20 {
		var res []driverhub.Resource
		for _, r := range d.Resources {
			if r.Type != "driver_config" {
				res = append(res, driverhub.Resource{Type: r.Type, Name: r.Name, Stage: "start", Status: driverhub.DeployProcessing, Log: entries(10, full)})
			}
		}
		ts.report(t, i.GatewaySecret, driverhub.GatewayReport{Deployment: &driverhub.DeploymentReport{ID: d.ID, Status: driverhub.DeployProcessing, Resources: res}})
	}
	got := ts.deployment(t, ts.admin, "edge", d.ID)
	total := 0
	for _, r := range got.Resources {
		n := jsonSize(t, r.Log)
		total += n
		if n > driverhub.MaxResourceLogBytes {
			t.Errorf("%s %s keeps %d bytes of log, want at most %d", r.Type, r.Name, n, driverhub.MaxResourceLogBytes)
		}
		if r.Type == "driver_config" && (len(r.Log) != 1 || r.Log[0].Message != why.Log[0].Message) {
			t.Errorf("the flood pushed out the line that says why the config failed: %d entries", len(r.Log))
		}
	}
	if total > driverhub.MaxDeploymentLogBytes {
		t.Errorf("the deployment keeps %d bytes of logs, want at most %d", total, driverhub.MaxDeploymentLogBytes)
	}
	if n := jsonSize(t, got); n > driverhub.MaxDeploymentLogBytes+64<<10 {
		t.Errorf("the deployment's view is %d bytes", n)
	}
}
