package agentcmd

import (
	"log/slog"
	"slices"
	"strings"
	"testing"

	"github.com/driverhub/driverhub/internal/driverrt/runc"
)

func TestChooseRuntime(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	runcErr := runc.New(runc.Options{Logger: log}).Check()
	for _, tc := range []struct {
		choice    string
		want      string // the runtime chosen; "" for an error
		isolation bool
	}{
		{"process", "process", false},
		{"auto", map[bool]string{true: "runc", false: "process"}[runcErr == nil], runcErr == nil},
		{"runc", map[bool]string{true: "runc", false: ""}[runcErr == nil], runcErr == nil},
	} {
		t.Run(tc.choice, func(t *testing.T) {
			rt, caps, err := chooseRuntime(tc.choice, log)
			if tc.want == "" {
				if err == nil || !strings.Contains(err.Error(), "--runtime runc") {
					t.Fatalf("runc does not work here (%v): got %v, want an error naming --runtime runc", runcErr, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if rt.Name() != tc.want || caps.Isolation != tc.isolation {
				t.Errorf("--runtime %s: %s with isolation %v, want %s with isolation %v", tc.choice, rt.Name(), caps.Isolation, tc.want, tc.isolation)
			}
			// The capabilities list every runtime that works, whichever runs.
			if want := slices.Contains(caps.Runtimes, "runc"); want != (runcErr == nil) || !slices.Contains(caps.Runtimes, "process") {
				t.Errorf("capabilities list runtimes %q; runc works here: %v", caps.Runtimes, runcErr == nil)
			}
			if caps.Cgroup != "" && caps.Cgroup != "v1" && caps.Cgroup != "v2" {
				t.Errorf("cgroup %q, want v1, v2 or empty", caps.Cgroup)
			}
		})
	}
	if _, _, err := chooseRuntime("docker", log); err == nil || !strings.Contains(err.Error(), "--runtime must be auto, process or runc") {
		t.Errorf("--runtime docker: %v, want an error naming the choices", err)
	}
}

func TestProcessCgroup(t *testing.T) {
	for in, want := range map[string]string{"cgroup v1": "v1", "cgroup v2": "v2", "sampling": ""} {
		if got := processCgroup(in); got != want {
			t.Errorf("processCgroup(%q) = %q, want %q", in, got, want)
		}
	}
}
