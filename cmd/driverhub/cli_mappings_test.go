package main_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// Port, device and volume mappings given as flags reach the API as the
// structures they stand for, show in the flags' own syntax, and a list
// given again replaces the one before.
func TestCLIVersionMappings(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	c.ok("driver", "create", "meter", "--protocol", "modbus", "--runtime", "python3")
	c.ok("version", "create", "meter", "1.0.0", "--min-edge-version", "1.0.0", "--host-network=false",
		"--port", "tcp:8502:502", "--port", "1700:1701", "--port", "UDP:1800:1800",
		"--device", "/dev/ttyUSB0:rw:RS-485: bus A", "--device", "/dev/ttyS1:ro",
		"--volume", "/var/lib/meter:/data:ro", "--memory-limit-mb", "256")
	container := func() any {
		return c.api("/api/v1/drivers/meter/versions/1.0.0").(map[string]any)["container"]
	}
	want := map[string]any{
		"host_network": false, "privileged": false, "memory_limit_mb": 256.0,
		"port_mappings": []any{
			map[string]any{"host_port": 8502.0, "container_port": 502.0, "protocol": "tcp"},
			map[string]any{"host_port": 1700.0, "container_port": 1701.0, "protocol": "tcp"},
			map[string]any{"host_port": 1800.0, "container_port": 1800.0, "protocol": "udp"},
		},
		"device_mappings": []any{
			map[string]any{"host_path": "/dev/ttyUSB0", "permission": "rw", "comment": "RS-485: bus A"},
			map[string]any{"host_path": "/dev/ttyS1", "permission": "ro", "comment": ""},
		},
		"volume_mappings": []any{
			map[string]any{"host_path": "/var/lib/meter", "container_path": "/data", "permission": "ro"},
		},
	}
	if diff := cmp.Diff(want, container()); diff != "" {
		t.Errorf("container after version create (-want +got):\n%s", diff)
	}
	out := c.ok("version", "get", "meter", "1.0.0")
	mustContain(t, "version get", out, "3 port mappings, 2 device mappings, 1 volume mapping",
		"tcp:8502:502", "udp:1800:1800", "/dev/ttyUSB0:rw:RS-485: bus A", "/dev/ttyS1:ro", "/var/lib/meter:/data:ro")

	// Update: the ports given replace the ports; the rest stays.
	c.ok("version", "update", "meter", "1.0.0", "--port", "tcp:9000:90")
	want["port_mappings"] = []any{map[string]any{"host_port": 9000.0, "container_port": 90.0, "protocol": "tcp"}}
	if diff := cmp.Diff(want, container()); diff != "" {
		t.Errorf("container after --port (-want +got):\n%s", diff)
	}
	// An empty value removes every mapping of its kind.
	c.ok("version", "update", "meter", "1.0.0", "--port", "", "--device", "")
	want["port_mappings"], want["device_mappings"] = []any{}, []any{}
	if diff := cmp.Diff(want, container()); diff != "" {
		t.Errorf("container after --port '' --device '' (-want +got):\n%s", diff)
	}

	// Syntax errors name the flag and the syntax; the rules are the server's.
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--port", "8502"}, `--port "8502": want [tcp|udp:]HOST_PORT:CONTAINER_PORT`},
		{[]string{"--port", "tcp:x:1"}, `host port "x" is not a number`},
		{[]string{"--device", "/dev/ttyUSB0"}, `--device "/dev/ttyUSB0": want /dev/PATH:ro|rw[:COMMENT]`},
		{[]string{"--volume", "/a:/b"}, `--volume "/a:/b": want HOST_PATH:CONTAINER_PATH:ro|rw`},
	} {
		r := c.fails(2, append([]string{"version", "update", "meter", "1.0.0"}, tt.args...)...)
		mustContain(t, "version update "+tt.args[1], r.stderr, tt.want)
	}
	r := c.fails(1, "version", "create", "meter", "2.0.0", "--min-edge-version", "1.0.0", "--port", "tcp:8502:502")
	mustContain(t, "a port on the host network", r.stderr, "port_mappings", "host_network")
	r = c.fails(1, "version", "update", "meter", "1.0.0", "--device", "/dev/ttyUSB0:rx")
	mustContain(t, "a device permission that is neither ro nor rw", r.stderr, "device_mappings[0].permission")
}
