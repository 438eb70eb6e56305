package service

import (
	"reflect"
	"testing"

	"github.com/driverhub/driverhub"
)

// The runtime versions come from the gateways' reports as the store keeps
// them; this checks how they are gathered, on instances made here.
func TestRuntimeVersionsOfGathersDistinctNewestFirst(t *testing.T) {
	gw := func(versions map[driverhub.Runtime]string) *driverhub.Instance {
		return &driverhub.Instance{Gateway: driverhub.Gateway{RuntimeVersions: versions}}
	}
	got := runtimeVersionsOf([]*driverhub.Instance{
		gw(map[driverhub.Runtime]string{"python3": "3.9.2", "nodejs": "v18.19.0"}),
		gw(map[driverhub.Runtime]string{"python3": "3.11.2", "java": "17.0.9+9"}),
		gw(map[driverhub.Runtime]string{"python3": "3.11.2", "nodejs": "v20.11.1", "java": "1.8.0_392"}),
		gw(map[driverhub.Runtime]string{"python3": " ", "cobol": "85"}), // blank and unknown runtimes say nothing
		gw(nil),
	})
	want := map[driverhub.Runtime][]string{
		"python3": {"3.11.2", "3.9.2"},
		"nodejs":  {"v20.11.1", "v18.19.0"},
		"java":    {"17.0.9+9", "1.8.0_392"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("runtimeVersionsOf = %q, want %q", got, want)
	}
}
