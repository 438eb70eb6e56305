package main_test

import (
	"io"
	"testing"
)

// The server collects garbage at GOGC=200 unless the environment sets
// GOGC, and its /metrics says what it runs with (go_gc_gogc_percent),
// beside the process's memory and CPU: what an operator looks at to size
// a replica.
func TestServerGCTargetAndRuntimeMetrics(t *testing.T) {
	for _, c := range []struct{ gogc, want string }{
		{"", "200"}, // unset: the server's own target
		{"50", "50"},
	} {
		t.Run("GOGC="+c.gogc, func(t *testing.T) {
			t.Setenv("GOGC", c.gogc) // the server inherits the environment
			s := startServer(t, t.TempDir())
			resp, err := getMetrics(s.url)
			if err != nil {
				t.Fatal(err)
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil || resp.StatusCode != 200 {
				t.Fatalf("/metrics: %d, %v", resp.StatusCode, err)
			}
			if got := metricValue(string(body), "go_gc_gogc_percent"); got != c.want {
				t.Errorf("go_gc_gogc_percent = %q, want %s", got, c.want)
			}
			for _, name := range []string{"process_resident_memory_bytes", "process_cpu_seconds_total",
				"process_open_fds", "go_goroutines", "go_memstats_heap_inuse_bytes"} {
				if metricValue(string(body), name) == "" {
					t.Errorf("/metrics lacks %s", name)
				}
			}
		})
	}
}
