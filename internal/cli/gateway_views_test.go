package cli

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/driverhub/driverhub"
)

func plainPrinter(out *bytes.Buffer) *printer {
	return &printer{tw: tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)}
}

// instance get shows what the gateway can enforce and the language
// runtimes it found, or says it has not reported them.
func TestInstanceDetailShowsCapabilities(t *testing.T) {
	i := &driverhub.Instance{Name: "plant-1", Gateway: driverhub.Gateway{
		Capabilities:    &driverhub.Capabilities{Runtimes: []string{"process", "runc"}, Isolation: true, Cgroup: "v2"},
		RuntimeVersions: map[driverhub.Runtime]string{driverhub.RuntimePython3: "3.11.2", driverhub.RuntimeNodeJS: "18.19.0"},
	}}
	var out bytes.Buffer
	p := plainPrinter(&out)
	instanceDetail(p, i)
	p.flush()
	for _, want := range []string{
		"Capabilities:       runtimes process, runc; isolation yes; cgroup v2",
		"Language runtimes:  nodejs 18.19.0, python3 3.11.2",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("instance detail lacks %q:\n%s", want, out.String())
		}
	}

	out.Reset()
	i.Gateway = driverhub.Gateway{Capabilities: &driverhub.Capabilities{Runtimes: []string{"process"}}}
	instanceDetail(p, i)
	p.flush()
	for _, want := range []string{"isolation no: private networks, port and volume mappings are refused", "cgroup none", "Language runtimes:  -"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("instance detail of a gateway that cannot isolate lacks %q:\n%s", want, out.String())
		}
	}
	out.Reset()
	i.Gateway = driverhub.Gateway{}
	instanceDetail(p, i)
	p.flush()
	if !strings.Contains(out.String(), "Capabilities:       - (not reported yet)") {
		t.Errorf("instance detail before a report:\n%s", out.String())
	}
}

// instance drivers shows the version that runs beside the bound one, and
// marks the state of an offline gateway stale, reading the API's JSON.
func TestBindingViewsShowRunningVersionAndStale(t *testing.T) {
	now := time.Now().UTC().Format(time.RFC3339)
	answer := `{"items": [
	  {"driver": "meter", "publisher": "default", "version": "2.0.0", "config": null, "devices": 1,
	   "runtime": {"state": "running", "version": "1.0.0", "restarts": 2, "last_exit": "", "memory_bytes": 0, "reported_at": "` + now + `", "stale": true}},
	  {"driver": "plc", "publisher": "default", "version": "1.0.0", "config": null, "devices": 0, "runtime": null}],
	 "next_cursor": ""}`
	var l driverhub.List[*driverhub.Binding]
	if err := json.Unmarshal([]byte(answer), &l); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	p := plainPrinter(&out)
	bindingTable(p, l.Items)
	p.flush()
	lines := strings.Split(out.String(), "\n")
	if f := strings.Fields(lines[0]); strings.Join(f, " ") != "DRIVER PUBLISHER VERSION RUNNING STATE RESTARTS CONFIG DEVICES" {
		t.Errorf("header: %q", lines[0])
	}
	if f := strings.Fields(lines[1]); strings.Join(f, " ") != "meter default 2.0.0 1.0.0 running (stale) 2 default 1" {
		t.Errorf("stale row: %q", lines[1])
	}
	if f := strings.Fields(lines[2]); strings.Join(f, " ") != "plc default 1.0.0 - - - default 0" {
		t.Errorf("unreported row: %q", lines[2])
	}

	out.Reset()
	bindingDetail(p, l.Items[0])
	p.flush()
	for _, want := range []string{"Running version:  1.0.0 (not the bound version", "State:            running (stale: the gateway is offline"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("binding detail lacks %q:\n%s", want, out.String())
		}
	}
}
