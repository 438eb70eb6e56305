package cli

import (
	"fmt"
	"testing"

	"github.com/driverhub/driverhub"
)

// Status words are painted by what they mean, whichever vocabulary they come
// from; a driver's "failed" and a deployment's "failed" are both red.
func TestStatusColors(t *testing.T) {
	const green, red, yellow, plain = "32", "31", "33", "39"
	p := &printer{color: true}
	for _, tt := range []struct {
		word any
		code string
	}{
		{driverhub.DeploySucceeded, green},
		{driverhub.DriverRunning, green},
		{driverhub.StatusPublished, green},
		{gatewayOnline, green},
		{driverhub.DeployFailed, red},
		{driverhub.DriverFailed, red},
		{driverhub.DriverCrashloop, red},
		{gatewayOffline, red},
		{driverhub.DeployPending, yellow},
		{driverhub.DeployProcessing, yellow},
		{driverhub.DriverStarting, yellow},
		{driverhub.DriverRestarting, yellow},
		{driverhub.StatusDraft, yellow},
		{driverhub.DriverStopped, plain},
		{driverhub.DeploySuperseded, plain},
		{"-", plain},
	} {
		want := "\x1b[" + tt.code + "m" + fmt.Sprint(tt.word) + "\x1b[0m"
		if got := p.status(tt.word); got != want {
			t.Errorf("status(%T %v) = %q, want %q", tt.word, tt.word, got, want)
		}
	}
}
