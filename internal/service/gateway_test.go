package service_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"github.com/driverhub/driverhub"
	"github.com/driverhub/driverhub/internal/service"
)

func TestDesiredManifestAndETag(t *testing.T) {
	t.Parallel()
	ts := newTestService(t)
	i := ts.newInstance(t, ts.admin, "edge")
	m, etag := ts.fetch(t, i.GatewaySecret, "")
	if m == nil || m.Type != "none" || len(m.Drivers) != 0 || etag != `"none"` {
		t.Fatalf("before any deployment: %+v, %s", m, etag)
	}
	if m, etag := ts.fetch(t, i.GatewaySecret, `"none"`); m != nil || etag != `"none"` {
		t.Errorf("If-None-Match of the current state answered %+v, %s; want not modified", m, etag)
	}

	d := ts.deploy(t, ts.admin, "edge")
	ts.clock.Advance(time.Second)
	m, etag = ts.fetch(t, i.GatewaySecret, `"none"`)
	if m == nil || m.DeploymentID != d.ID || m.Type != driverhub.DeployTypeDeploy || etag != `"`+d.ID+`"` {
		t.Fatalf("after deploying: %+v, %s", m, etag)
	}
	// The first fetch starts the deployment; later ones do not restart it.
	started := t0.Add(time.Second)
	for _, ifNoneMatch := range []string{etag, `"older"`} {
		ts.clock.Advance(time.Second)
		got := ts.deployment(t, ts.admin, "edge", d.ID)
		if got.Status != driverhub.DeployProcessing || got.StartedAt == nil || !got.StartedAt.Equal(started) {
			t.Errorf("deployment is %s since %v, want processing since %v", got.Status, got.StartedAt, started)
		}
		m, _ := ts.fetch(t, i.GatewaySecret, ifNoneMatch)
		if (m == nil) != (ifNoneMatch == etag) {
			t.Errorf("If-None-Match %s answered manifest %+v", ifNoneMatch, m)
		}
	}
	_, _, err := ts.Desired(context.Background(), "", 0)
	wantErr(t, err, driverhub.EUnauthenticated, "")
}

func TestDesiredLongPoll(t *testing.T) {
	t.Parallel()
	ts := newTestService(t)
	i := ts.newInstance(t, ts.admin, "edge")
	type answer struct {
		m    *driverhub.Manifest
		etag string
		err  error
	}
	got := make(chan answer, 1)
	ctx := ts.gatewayCtx(t, i.GatewaySecret)
	go func() {
		m, etag, err := ts.Desired(ctx, `"none"`, time.Hour)
		got <- answer{m, etag, err}
	}()
	d := ts.deploy(t, ts.admin, "edge") // wakes the waiting poll, whenever it subscribed
	a := <-got
	if a.err != nil || a.m == nil || a.m.DeploymentID != d.ID || a.etag != `"`+d.ID+`"` {
		t.Fatalf("woken poll answered %+v", a)
	}

	etag := a.etag
	m, e, err := ts.Desired(ts.gatewayCtx(t, i.GatewaySecret), etag, time.Nanosecond)
	if err != nil || m != nil || e != etag {
		t.Errorf("poll at its deadline answered %+v, %s, %v; want not modified", m, e, err)
	}
}

func TestGatewayOnlineWithinThreePollPeriods(t *testing.T) {
	t.Parallel()
	for _, period := range []time.Duration{0, 10 * time.Second} {
		t.Run(fmt.Sprint("poll period ", period), func(t *testing.T) {
			t.Parallel()
			ts := newTestService(t, func(c *service.Config) { c.PollPeriod = period })
			if period == 0 {
				period = 30 * time.Second // the default
			}
			i := ts.newInstance(t, ts.admin, "edge")
			if g := must(ts.GetInstance(ts.admin, "edge"))(t).Gateway; g.Online || g.LastSeenAt != nil {
				t.Fatalf("a gateway never seen: %+v", g)
			}
			ts.fetch(t, i.GatewaySecret, "")
			tests := []struct {
				after  time.Duration
				online bool
			}{
				{0, true},
				{3 * period, true},
				{3*period + time.Microsecond, false},
				{time.Hour, false},
			}
			for _, tt := range tests {
				ts.clock.Advance(t0.Add(tt.after).Sub(ts.clock.Now()))
				if g := must(ts.GetInstance(ts.admin, "edge"))(t).Gateway; g.Online != tt.online {
					t.Errorf("%v after its sync: online %v, want %v", tt.after, g.Online, tt.online)
				}
				if l := must(ts.ListInstances(ts.admin, driverhub.Page{}))(t).Items; l[0].Gateway.Online != tt.online {
					t.Errorf("%v after its sync: listed online %v, want %v", tt.after, l[0].Gateway.Online, tt.online)
				}
			}
		})
	}
}

func TestFrequentPollsRecordTheSyncEvery10s(t *testing.T) {
	t.Parallel()
	ts := newTestService(t)
	i := ts.newInstance(t, ts.admin, "edge")
	ts.fetch(t, i.GatewaySecret, "")
	ts.clock.Advance(5 * time.Second)
	ts.fetch(t, i.GatewaySecret, "")
	if g := must(ts.GetInstance(ts.admin, "edge"))(t).Gateway; !g.LastSeenAt.Equal(t0) || !g.Online {
		t.Errorf("last seen %v, want %v", g.LastSeenAt, t0)
	}
	ts.clock.Advance(5 * time.Second)
	ts.fetch(t, i.GatewaySecret, "")
	if g := must(ts.GetInstance(ts.admin, "edge"))(t).Gateway; !g.LastSeenAt.Equal(ts.clock.Now()) {
		t.Errorf("last seen %v after 10 s of polls, want %v", g.LastSeenAt, ts.clock.Now())
	}
	// A report records it as often, and at once when it says something new.
	synced := ts.clock.Now()
	ts.clock.Advance(time.Second)
	ts.report(t, i.GatewaySecret, driverhub.GatewayReport{})
	if g := must(ts.GetInstance(ts.admin, "edge"))(t).Gateway; !g.LastSeenAt.Equal(synced) {
		t.Errorf("a report 1 s after a sync left last seen at %v, want %v", g.LastSeenAt, synced)
	}
	ts.clock.Advance(time.Second)
	ts.report(t, i.GatewaySecret, driverhub.GatewayReport{EdgeVersion: "2.0.0", Arch: "aarch64"})
	if g := must(ts.GetInstance(ts.admin, "edge"))(t).Gateway; !g.LastSeenAt.Equal(ts.clock.Now()) || g.EdgeVersion != "2.0.0" || g.Arch != "aarch64" {
		t.Errorf("a report of new facts left %+v", g)
	}
	// The same facts again: nothing to write; a change of one: written
	// at once, though the cache remembers the facts reported before.
	factsAt := ts.clock.Now()
	caps := &driverhub.Capabilities{Runtimes: []string{"process", "runc"}, Isolation: true, Cgroup: "v1"}
	ts.clock.Advance(time.Second)
	ts.report(t, i.GatewaySecret, driverhub.GatewayReport{EdgeVersion: "2.0.0", Arch: "aarch64"})
	if g := must(ts.GetInstance(ts.admin, "edge"))(t).Gateway; !g.LastSeenAt.Equal(factsAt) {
		t.Errorf("a report of the same facts 1 s later left last seen at %v, want %v", g.LastSeenAt, factsAt)
	}
	ts.clock.Advance(time.Second)
	ts.report(t, i.GatewaySecret, driverhub.GatewayReport{EdgeVersion: "2.0.0", Arch: "aarch64", Capabilities: caps})
	if g := must(ts.GetInstance(ts.admin, "edge"))(t).Gateway; !g.LastSeenAt.Equal(ts.clock.Now()) || !cmp.Equal(g.Capabilities, caps) {
		t.Errorf("a report of new capabilities 1 s after the last sync left %+v", g)
	}
	ts.clock.Advance(10 * time.Second)
	ts.report(t, i.GatewaySecret, driverhub.GatewayReport{})
	if g := must(ts.GetInstance(ts.admin, "edge"))(t).Gateway; !g.LastSeenAt.Equal(ts.clock.Now()) || g.EdgeVersion != "2.0.0" {
		t.Errorf("a report 10 s after the last sync left %+v", g)
	}
}

func TestReportRecordsTheGateway(t *testing.T) {
	t.Parallel()
	ts := newTestService(t)
	i := ts.newInstance(t, ts.admin, "edge")
	ts.report(t, i.GatewaySecret, driverhub.GatewayReport{EdgeVersion: "1.2.3", Arch: "aarch64", BuiltinDrivers: &[]string{"Bi"}})
	ts.report(t, i.GatewaySecret, driverhub.GatewayReport{}) // absent fields keep what was reported
	g := must(ts.GetInstance(ts.admin, "edge"))(t).Gateway
	if g.EdgeVersion != "1.2.3" || g.Arch != "aarch64" || !cmp.Equal(g.BuiltinDrivers, []string{"Bi"}) || !g.Online {
		t.Errorf("gateway %+v", g)
	}
	ts.report(t, i.GatewaySecret, driverhub.GatewayReport{BuiltinDrivers: &[]string{}})
	if g := must(ts.GetInstance(ts.admin, "edge"))(t).Gateway; len(g.BuiltinDrivers) != 0 {
		t.Errorf("built-ins after reporting none: %v", g.BuiltinDrivers)
	}
}

func TestReportRefusesWhatItCannotRecord(t *testing.T) {
	t.Parallel()
	ts := newTestService(t)
	ts.ready(t, ts.admin, driverIn("Pump", "python3"))
	i := ts.newInstance(t, ts.admin, "edge")
	ts.bind(t, ts.admin, "edge", "Pump", "")
	d := ts.deploy(t, ts.admin, "edge")
	ts.fetch(t, i.GatewaySecret, "")
	before := ts.deployment(t, ts.admin, "edge", d.ID)
	res := func(typ driverhub.ResourceType, stage driverhub.Stage, status driverhub.DeployStatus) driverhub.GatewayReport {
		return driverhub.GatewayReport{Deployment: &driverhub.DeploymentReport{ID: d.ID, Status: driverhub.DeployProcessing,
			Resources: []driverhub.Resource{{Type: typ, Name: "Pump", Stage: stage, Status: status}}}}
	}
	many := make([]string, 1001)
	tests := []struct {
		name  string
		r     driverhub.GatewayReport
		field string
	}{
		{"edge version", driverhub.GatewayReport{EdgeVersion: "1.0"}, "edge_version"},
		{"arch", driverhub.GatewayReport{Arch: strings.Repeat("a", 33)}, "arch"},
		{"built-ins", driverhub.GatewayReport{BuiltinDrivers: &many}, "builtin_drivers"},
		{"deployment status", driverhub.GatewayReport{Deployment: &driverhub.DeploymentReport{ID: d.ID, Status: "done"}}, "deployment.status"},
		{"superseded from the gateway", driverhub.GatewayReport{Deployment: &driverhub.DeploymentReport{ID: d.ID, Status: driverhub.DeploySuperseded}}, "deployment.status"},
		{"resource type", res("firmware", "init", driverhub.DeployPending), "deployment.resources[0].type"},
		{"resource stage", res("driver", "boot", driverhub.DeployPending), "deployment.resources[0].stage"},
		{"resource status", res("driver", "init", "ok"), "deployment.resources[0].status"},
		{"driver state", driverhub.GatewayReport{Drivers: []driverhub.DriverReport{{Name: "Pump", State: "running"}, {Name: "Pump", State: "dancing"}}}, "drivers[1].state"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ts.Report(ts.gatewayCtx(t, i.GatewaySecret), tt.r)
			wantErr(t, err, driverhub.EInvalid, tt.field)
		})
	}
	if b := must(ts.GetBinding(ts.admin, "edge", "Pump"))(t); b.Runtime != nil {
		t.Errorf("a refused report recorded driver state %+v", b.Runtime)
	}
	if after := ts.deployment(t, ts.admin, "edge", d.ID); !cmp.Equal(before, after) {
		t.Errorf("a refused report changed the deployment:\n%s", cmp.Diff(before, after))
	}
	err := ts.Report(ts.gatewayCtx(t, i.GatewaySecret), driverhub.GatewayReport{Deployment: &driverhub.DeploymentReport{ID: driverhub.NewID(), Status: driverhub.DeployProcessing}})
	wantErr(t, err, driverhub.ENotFound, "")
	wantErr(t, ts.Report(context.Background(), driverhub.GatewayReport{}), driverhub.EUnauthenticated, "")
}

func TestReportProgress(t *testing.T) {
	t.Parallel()
	ts := newTestService(t)
	ts.ready(t, ts.admin, driverIn("Pump", "python3"))
	i := ts.newInstance(t, ts.admin, "edge")
	ts.bind(t, ts.admin, "edge", "Pump", "")
	ts.device(t, ts.admin, "pump", "p1", "edge", "Pump", "")
	d := ts.deploy(t, ts.admin, "edge")

	// A gateway may report before its first fetch lands; the deployment starts then.
	var log []driverhub.LogEntry
	for k := range 250 {
		log = append(log, driverhub.LogEntry{Time: t0, Level: "info", Stage: "download", Message: fmt.Sprint("chunk ", k)})
	}
	ts.report(t, i.GatewaySecret, driverhub.GatewayReport{Deployment: &driverhub.DeploymentReport{ID: d.ID, Status: driverhub.DeployProcessing,
		Resources: []driverhub.Resource{
			{Type: "driver", Name: "Pump", Stage: "download", Status: driverhub.DeployProcessing, Log: log},
			{Type: "driver", Name: "Stranger", Stage: "start", Status: driverhub.DeployFailed},
		}}})
	got := ts.deployment(t, ts.admin, "edge", d.ID)
	if got.Status != driverhub.DeployProcessing || got.StartedAt == nil || len(got.Resources) != 3 {
		t.Fatalf("deployment after progress: %+v", got)
	}
	drv := got.Resources[0]
	if drv.Stage != "download" || drv.Status != driverhub.DeployProcessing || len(drv.Log) != 200 || drv.Log[0].Message != "chunk 50" {
		t.Errorf("driver resource %s/%s with %d log lines from %+v; want download/processing, the newest 200",
			drv.Stage, drv.Status, len(drv.Log), drv.Log[0])
	}

	// Success vouches for every resource.
	ts.clock.Advance(time.Minute)
	ts.report(t, i.GatewaySecret, driverhub.GatewayReport{Deployment: &driverhub.DeploymentReport{ID: d.ID, Status: driverhub.DeploySucceeded, Reason: "all up"}})
	got = ts.deployment(t, ts.admin, "edge", d.ID)
	if got.Status != driverhub.DeploySucceeded || got.FinishedAt == nil || !got.FinishedAt.Equal(ts.clock.Now()) || got.Reason != "all up" {
		t.Errorf("deployment after success: %s, finished %v, reason %q", got.Status, got.FinishedAt, got.Reason)
	}
	for _, r := range got.Resources {
		if r.Stage != "finish" || r.Status != driverhub.DeploySucceeded {
			t.Errorf("resource %s %s is %s/%s after success", r.Type, r.Name, r.Stage, r.Status)
		}
	}
}

func TestReportForAFinishedDeploymentChangesNothing(t *testing.T) {
	t.Parallel()
	tests := []struct {
		status driverhub.DeployStatus
		finish func(t *testing.T, ts *testService, secret, id string)
	}{
		{driverhub.DeploySuperseded, func(t *testing.T, ts *testService, _, _ string) { ts.deploy(t, ts.admin, "edge") }},
		{driverhub.DeployClosed, func(t *testing.T, ts *testService, _, id string) { must(ts.CloseDeployment(ts.admin, "edge", id))(t) }},
		{driverhub.DeployFailed, func(t *testing.T, ts *testService, secret, id string) {
			ts.report(t, secret, driverhub.GatewayReport{Deployment: &driverhub.DeploymentReport{ID: id, Status: driverhub.DeployFailed, Reason: "disk full"}})
		}},
		{driverhub.DeploySucceeded, func(t *testing.T, ts *testService, secret, id string) {
			ts.report(t, secret, driverhub.GatewayReport{Deployment: &driverhub.DeploymentReport{ID: id, Status: driverhub.DeploySucceeded}})
		}},
	}
	for _, tt := range tests {
		t.Run(string(tt.status), func(t *testing.T) {
			t.Parallel()
			ts := newTestService(t)
			ts.ready(t, ts.admin, driverIn("Pump", "python3"))
			i := ts.newInstance(t, ts.admin, "edge")
			ts.bind(t, ts.admin, "edge", "Pump", "")
			d := ts.deploy(t, ts.admin, "edge")
			ts.fetch(t, i.GatewaySecret, "")
			tt.finish(t, ts, i.GatewaySecret, d.ID)
			before := ts.deployment(t, ts.admin, "edge", d.ID)
			if before.Status != tt.status {
				t.Fatalf("deployment is %s, want %s", before.Status, tt.status)
			}
			ts.clock.Advance(time.Minute)
			for _, status := range []driverhub.DeployStatus{driverhub.DeployProcessing, driverhub.DeploySucceeded, driverhub.DeployFailed} {
				ts.report(t, i.GatewaySecret, driverhub.GatewayReport{Deployment: &driverhub.DeploymentReport{ID: d.ID, Status: status, Reason: "late",
					Resources: []driverhub.Resource{{Type: "driver", Name: "Pump", Stage: "start", Status: status}}}})
			}
			if after := ts.deployment(t, ts.admin, "edge", d.ID); !cmp.Equal(before, after) {
				t.Errorf("a late report changed a %s deployment:\n%s", tt.status, cmp.Diff(before, after))
			}
		})
	}
}

func TestReportsOfAnotherInstancesDeploymentAreNotFound(t *testing.T) {
	t.Parallel()
	ts := newTestService(t)
	ts.newInstance(t, ts.admin, "a")
	b := ts.newInstance(t, ts.admin, "b")
	d := ts.deploy(t, ts.admin, "a")
	err := ts.Report(ts.gatewayCtx(t, b.GatewaySecret), driverhub.GatewayReport{Deployment: &driverhub.DeploymentReport{ID: d.ID, Status: driverhub.DeployFailed}})
	wantErr(t, err, driverhub.ENotFound, "")
	if got := ts.deployment(t, ts.admin, "a", d.ID); got.Status != driverhub.DeployPending {
		t.Errorf("another gateway's report made the deployment %s", got.Status)
	}
}

func TestDriverStatesReported(t *testing.T) {
	t.Parallel()
	ts := newTestService(t)
	ts.ready(t, ts.admin, driverIn("Pump", "python3"))
	i := ts.newInstance(t, ts.admin, "edge")
	ts.bind(t, ts.admin, "edge", "Pump", "")
	for _, state := range driverhub.AllDriverStates {
		ts.clock.Advance(time.Second)
		ts.report(t, i.GatewaySecret, driverhub.GatewayReport{Drivers: []driverhub.DriverReport{
			{Name: "Pump", Version: "1", State: state, Restarts: 2, MemoryBytes: 1 << 20},
			{Name: "Unbound", State: state}, // unbound since: ignored
		}})
		r := must(ts.GetBinding(ts.admin, "edge", "Pump"))(t).Runtime
		if r == nil || r.State != state || r.Restarts != 2 || !r.ReportedAt.Equal(ts.clock.Now()) {
			t.Errorf("reported %s, binding shows %+v", state, r)
		}
	}
}

func TestDriverLogsKeepTheNewest(t *testing.T) {
	t.Parallel()
	ts := newTestService(t)
	ts.ready(t, ts.admin, driverIn("Pump", "python3"))
	i := ts.newInstance(t, ts.admin, "edge")
	ts.bind(t, ts.admin, "edge", "Pump", "")
	gw := ts.gatewayCtx(t, i.GatewaySecret)
	n := 0
	post := func(count int) {
		lines := make([]driverhub.LogLine, count)
		for k := range lines {
			n++
			lines[k] = driverhub.LogLine{Text: fmt.Sprint("line ", n)}
		}
		ok(t, ts.PostLogs(gw, "Pump", lines))
	}
	post(driverhub.MaxLogLinesPerPost)
	post(driverhub.MaxLogLinesPerPost)
	post(1)
	tail := func(k int) []driverhub.LogLine {
		return must(ts.DriverLogs(ts.admin, "edge", "Pump", k))(t)
	}
	all := tail(driverhub.DriverLogRing)
	if len(all) != driverhub.DriverLogRing || all[0].Text != "line 2" || all[len(all)-1].Text != "line 2001" {
		t.Fatalf("ring holds %d lines, %q to %q; want %d, line 2 to line 2001", len(all), all[0].Text, all[len(all)-1].Text, driverhub.DriverLogRing)
	}
	if all[0].Stream != "stdout" || !all[0].Time.Equal(t0) {
		t.Errorf("a line without stream or time: %+v, want stdout at %v", all[0], t0)
	}
	if d := tail(0); len(d) != driverhub.DefaultLogTail || d[0].Text != "line 1902" {
		t.Errorf("default tail: %d lines from %q", len(d), d[0].Text)
	}
	for _, bad := range []int{-1, driverhub.DriverLogRing + 1} {
		_, err := ts.DriverLogs(ts.admin, "edge", "Pump", bad)
		wantErr(t, err, driverhub.EInvalid, "tail")
	}

	wantErr(t, ts.PostLogs(gw, "Pump", make([]driverhub.LogLine, driverhub.MaxLogLinesPerPost+1)), driverhub.EInvalid, "lines")
	wantErr(t, ts.PostLogs(gw, "Nope", []driverhub.LogLine{{Text: "x"}}), driverhub.ENotFound, "")
	long := strings.Repeat("é", driverhub.MaxLogLineBytes) // cut in the middle of a character
	ok(t, ts.PostLogs(gw, "Pump", []driverhub.LogLine{{Text: long, Stream: "stderr"}, {Text: "a\x00b"}}))
	last := tail(2)
	if l := last[0].Text; len(l) > driverhub.MaxLogLineBytes+len("…") || !utf8.ValidString(l) || !strings.HasSuffix(l, "é…") {
		t.Errorf("a long line became %d bytes ending %q", len(l), l[len(l)-8:])
	}
	if last[0].Stream != "stderr" || last[1].Text != "a\uFFFDb" {
		t.Errorf("lines kept as %+v", last)
	}

	// Unbinding drops the driver's logs.
	ok(t, ts.Unbind(ts.admin, "edge", "Pump"))
	ts.bind(t, ts.admin, "edge", "Pump", "")
	if l := tail(0); len(l) != 0 {
		t.Errorf("a new binding shows %d old lines", len(l))
	}
}

func TestGatewayBlobsOnlyOfItsDeployments(t *testing.T) {
	t.Parallel()
	ts := newTestService(t)
	v := ts.ready(t, ts.admin, driverIn("Pump", "python3"))
	a := ts.newInstance(t, ts.admin, "a")
	b := ts.newInstance(t, ts.admin, "b")
	ts.bind(t, ts.admin, "a", "Pump", "")
	ts.bind(t, ts.admin, "b", "Pump", "")
	cfg := must(ts.PutBindingConfigFile(ts.admin, "a", "Pump", "site.ini", strings.NewReader("site=a")))(t).Config.File
	ts.newVersion(t, ts.admin, "Pump", "2")
	draft := ts.upload(t, ts.admin, "Pump", "2").Package // never deployed
	ts.deploy(t, ts.admin, "a")

	open := func(secret, sha string) ([]byte, error) {
		d, err := ts.OpenGatewayBlob(ts.gatewayCtx(t, secret), sha)
		if err != nil {
			return nil, err
		}
		return readAll(t, d), nil
	}
	pkg := must(open(a.GatewaySecret, v.Package.SHA256))(t)
	if sha256Hex(pkg) != v.Package.SHA256 {
		t.Error("the package served differs from its digest")
	}
	if got := must(open(a.GatewaySecret, cfg.SHA256))(t); !bytes.Equal(got, []byte("site=a")) {
		t.Errorf("config file served: %q", got)
	}
	refused := []struct{ name, secret, sha string }{
		{"another instance's package", b.GatewaySecret, v.Package.SHA256},
		{"another instance's config", b.GatewaySecret, cfg.SHA256},
		{"a package never deployed", a.GatewaySecret, draft.SHA256},
		{"not a digest", a.GatewaySecret, "../../etc/passwd"},
	}
	for _, tt := range refused {
		t.Run(tt.name, func(t *testing.T) {
			_, err := open(tt.secret, tt.sha)
			wantErr(t, err, driverhub.ENotFound, "")
		})
	}
	ts.deploy(t, ts.admin, "b")
	must(open(b.GatewaySecret, v.Package.SHA256))(t)
	_, err := ts.OpenGatewayBlob(context.Background(), v.Package.SHA256)
	wantErr(t, err, driverhub.EUnauthenticated, "")
}
