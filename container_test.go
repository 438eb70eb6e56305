package driverhub_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"testing"

	"github.com/driverhub/driverhub"
	"github.com/google/go-cmp/cmp"
)

func TestContainerDecodeDefaults(t *testing.T) {
	def := driverhub.DefaultContainer()
	tests := []struct {
		name, body string
		want       driverhub.Container
	}{
		{"empty object", `{}`, def},
		{"null", `null`, def},
		{"null slices", `{"port_mappings":null,"device_mappings":null,"volume_mappings":null}`, def},
		{"host network off", `{"host_network":false}`, func() driverhub.Container {
			c := driverhub.DefaultContainer()
			c.HostNetwork = false
			return c
		}()},
		{"memory and privileged only", `{"memory_limit_mb":2048,"privileged":true}`, func() driverhub.Container {
			c := driverhub.DefaultContainer()
			c.MemoryLimitMB, c.Privileged = 2048, true
			return c
		}()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var c driverhub.Container
			if err := json.Unmarshal([]byte(tt.body), &c); err != nil {
				t.Fatal(err)
			}
			// cmp tells nil from empty slices: the API answers [] never null.
			if diff := cmp.Diff(tt.want, c); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			checkField(t, c.Validate("container"), "")
		})
	}
}

func TestDefaultContainer(t *testing.T) {
	c := driverhub.DefaultContainer()
	want := `{"host_network":true,"port_mappings":[],"privileged":false,"device_mappings":[],"volume_mappings":[],"memory_limit_mb":1024}`
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != want {
		t.Errorf("marshal = %s\nwant      %s", b, want)
	}
	// Inside a version decoded without "container", the defaults hold too.
	var v driverhub.DriverVersion
	if err := json.Unmarshal([]byte(`{"version":"1","container":{}}`), &v); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(c, v.Container); diff != "" {
		t.Errorf("version container (-want +got):\n%s", diff)
	}
}

func TestContainerDecodeRejectsWrongTypes(t *testing.T) {
	for _, body := range []string{`[]`, `{"host_network":"yes"}`, `{"memory_limit_mb":1.5}`, `{"port_mappings":{}}`} {
		var c driverhub.Container
		if err := json.Unmarshal([]byte(body), &c); err == nil {
			t.Errorf("Unmarshal(%s) = nil error", body)
		}
	}
}

func ports(n int) []driverhub.PortMapping {
	out := make([]driverhub.PortMapping, n)
	for i := range out {
		out[i] = driverhub.PortMapping{HostPort: 1000 + i, ContainerPort: 80, Protocol: "tcp"}
	}
	return out
}

func devices(n int) []driverhub.DeviceMapping {
	out := make([]driverhub.DeviceMapping, n)
	for i := range out {
		out[i] = driverhub.DeviceMapping{HostPath: fmt.Sprintf("/dev/ttyS%d", i), Permission: "rw"}
	}
	return out
}

func volumes(n int) []driverhub.VolumeMapping {
	out := make([]driverhub.VolumeMapping, n)
	for i := range out {
		out[i] = driverhub.VolumeMapping{HostPath: "/srv/data", ContainerPath: fmt.Sprintf("/data%d", i), Permission: "ro"}
	}
	return out
}

// port, dev and vol set one mapping (and what it requires) on c.
func port(hostPort, containerPort int, proto string) func(*driverhub.Container) {
	return func(c *driverhub.Container) {
		c.HostNetwork = false
		c.PortMappings = []driverhub.PortMapping{{HostPort: hostPort, ContainerPort: containerPort, Protocol: proto}}
	}
}

func dev(path, perm, comment string) func(*driverhub.Container) {
	return func(c *driverhub.Container) {
		c.DeviceMappings = []driverhub.DeviceMapping{{HostPath: path, Permission: perm, Comment: comment}}
	}
}

func vol(host, target, perm string) func(*driverhub.Container) {
	return func(c *driverhub.Container) {
		c.VolumeMappings = []driverhub.VolumeMapping{{HostPath: host, ContainerPath: target, Permission: perm}}
	}
}

// containerCase edits a default container; Validate must then fault
// field, or nothing when field is "".
type containerCase struct {
	name  string
	edit  func(*driverhub.Container)
	field string
}

func TestContainerValidate(t *testing.T) {
	tests := slices.Concat(
		[]containerCase{{"defaults", func(c *driverhub.Container) {}, ""}},
		containerPortCases(),
		containerDeviceCases(),
		containerVolumeCases(),
		containerMemoryCases(),
	)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := driverhub.DefaultContainer()
			tt.edit(&c)
			checkField(t, c.Validate("container"), tt.field)
		})
	}
}

func containerPortCases() []containerCase {
	const pm = "container.port_mappings"
	return []containerCase{
		{"ports with host network", func(c *driverhub.Container) { c.PortMappings = ports(1) }, pm},
		{"no ports without host network", func(c *driverhub.Container) { c.HostNetwork = false }, ""},
		{"10 ports", func(c *driverhub.Container) { c.HostNetwork, c.PortMappings = false, ports(10) }, ""},
		{"11 ports", func(c *driverhub.Container) { c.HostNetwork, c.PortMappings = false, ports(11) }, pm},
		{"host port 0", port(0, 80, "tcp"), pm + "[0].host_port"},
		{"host port -1", port(-1, 80, "tcp"), pm + "[0].host_port"},
		{"host port 1", port(1, 80, "tcp"), ""},
		{"host port 65535", port(65535, 80, "tcp"), ""},
		{"host port 65536", port(65536, 80, "tcp"), pm + "[0].host_port"},
		{"container port 0", port(80, 0, "tcp"), pm + "[0].container_port"},
		{"container port 1", port(80, 1, "udp"), ""},
		{"container port 65535", port(80, 65535, "udp"), ""},
		{"container port 65536", port(80, 65536, "udp"), pm + "[0].container_port"},
		{"protocol empty", port(80, 80, ""), pm + "[0].protocol"},
		{"protocol upper case", port(80, 80, "TCP"), pm + "[0].protocol"},
		{"protocol sctp", port(80, 80, "sctp"), pm + "[0].protocol"},
		{"duplicate host port and protocol", func(c *driverhub.Container) {
			c.HostNetwork = false
			c.PortMappings = []driverhub.PortMapping{
				{HostPort: 502, ContainerPort: 502, Protocol: "tcp"},
				{HostPort: 8080, ContainerPort: 80, Protocol: "tcp"},
				{HostPort: 502, ContainerPort: 503, Protocol: "tcp"},
			}
		}, pm + "[2].host_port"},
		{"same host port tcp and udp", func(c *driverhub.Container) {
			c.HostNetwork = false
			c.PortMappings = []driverhub.PortMapping{
				{HostPort: 502, ContainerPort: 502, Protocol: "tcp"},
				{HostPort: 502, ContainerPort: 502, Protocol: "udp"},
			}
		}, ""},
		{"same container port twice", func(c *driverhub.Container) {
			c.HostNetwork = false
			c.PortMappings = []driverhub.PortMapping{
				{HostPort: 8080, ContainerPort: 80, Protocol: "tcp"},
				{HostPort: 8081, ContainerPort: 80, Protocol: "tcp"},
			}
		}, ""},
	}
}

func containerDeviceCases() []containerCase {
	const dm = "container.device_mappings"
	devPath128 := "/dev/" + rep("d", 123)
	return []containerCase{
		{"devices when privileged", func(c *driverhub.Container) { c.Privileged, c.DeviceMappings = true, devices(1) }, dm},
		{"privileged without devices", func(c *driverhub.Container) { c.Privileged = true }, ""},
		{"10 devices", func(c *driverhub.Container) { c.DeviceMappings = devices(10) }, ""},
		{"11 devices", func(c *driverhub.Container) { c.DeviceMappings = devices(11) }, dm},
		{"device tty", dev("/dev/ttyUSB0", "rw", ""), ""},
		{"device nested", dev("/dev/bus/usb/001/002", "ro", ""), ""},
		{"device 128 chars", dev(devPath128, "ro", ""), ""},
		{"device 129 chars", dev(devPath128+"d", "ro", ""), dm + "[0].host_path"},
		{"device empty", dev("", "ro", ""), dm + "[0].host_path"},
		{"device /dev/ only", dev("/dev/", "ro", ""), dm + "[0].host_path"},
		{"device /dev", dev("/dev", "ro", ""), dm + "[0].host_path"},
		{"device /devices", dev("/devices/x", "ro", ""), dm + "[0].host_path"},
		{"device relative", dev("dev/ttyS0", "ro", ""), dm + "[0].host_path"},
		{"device outside /dev", dev("/etc/shadow", "ro", ""), dm + "[0].host_path"},
		{"device dot dot", dev("/dev/../etc/shadow", "ro", ""), dm + "[0].host_path"},
		{"device trailing dot dot", dev("/dev/x/..", "ro", ""), dm + "[0].host_path"},
		{"device dot", dev("/dev/./ttyS0", "ro", ""), dm + "[0].host_path"},
		{"device dots in name", dev("/dev/..ttyS0", "ro", ""), ""},
		{"device permission ro", dev("/dev/ttyS0", "ro", ""), ""},
		{"device permission empty", dev("/dev/ttyS0", "", ""), dm + "[0].permission"},
		{"device permission wo", dev("/dev/ttyS0", "wo", ""), dm + "[0].permission"},
		{"device permission upper", dev("/dev/ttyS0", "RW", ""), dm + "[0].permission"},
		{"device comment 128 bytes", dev("/dev/ttyS0", "rw", rep("c", 128)), ""},
		{"device comment 129 bytes", dev("/dev/ttyS0", "rw", rep("c", 129)), dm + "[0].comment"},
		{"device comment 128 bytes multi-byte", dev("/dev/ttyS0", "rw", rep("串", 42)+"ab"), ""},
		{"device comment 43 chars 129 bytes", dev("/dev/ttyS0", "rw", rep("串", 43)), dm + "[0].comment"},
		{"device second one at fault", func(c *driverhub.Container) {
			c.DeviceMappings = devices(3)
			c.DeviceMappings[1].Permission = "x"
		}, dm + "[1].permission"},
	}
}

func containerVolumeCases() []containerCase {
	const vm = "container.volume_mappings"
	path128 := "/" + rep("p", 127)
	return []containerCase{
		{"10 volumes", func(c *driverhub.Container) { c.VolumeMappings = volumes(10) }, ""},
		{"11 volumes", func(c *driverhub.Container) { c.VolumeMappings = volumes(11) }, vm},
		{"volume", vol("/var/lib/x", "/data", "rw"), ""},
		{"volume host root", vol("/", "/host", "ro"), ""},
		{"volume host 128 chars", vol(path128, "/data", "ro"), ""},
		{"volume host 129 chars", vol(path128+"p", "/data", "ro"), vm + "[0].host_path"},
		{"volume host empty", vol("", "/data", "ro"), vm + "[0].host_path"},
		{"volume host relative", vol("var/lib", "/data", "ro"), vm + "[0].host_path"},
		{"volume host space", vol("/var/my data", "/data", "ro"), vm + "[0].host_path"},
		{"volume host tab", vol("/var/my\tdata", "/data", "ro"), vm + "[0].host_path"},
		{"volume host dot dot", vol("/var/lib/../../etc", "/data", "ro"), vm + "[0].host_path"},
		{"volume container 2 chars", vol("/srv", "/d", "ro"), ""},
		{"volume container 128 chars", vol("/srv", path128, "ro"), ""},
		{"volume container 129 chars", vol("/srv", path128+"p", "ro"), vm + "[0].container_path"},
		{"volume container root", vol("/srv", "/", "ro"), vm + "[0].container_path"},
		{"volume container empty", vol("/srv", "", "ro"), vm + "[0].container_path"},
		{"volume container relative", vol("/srv", "data", "ro"), vm + "[0].container_path"},
		{"volume container relative 2 chars", vol("/srv", "da", "ro"), vm + "[0].container_path"},
		{"volume container space", vol("/srv", "/my data", "ro"), vm + "[0].container_path"},
		{"volume container dot dot", vol("/srv", "/data/..", "ro"), vm + "[0].container_path"},
		{"volume container dot", vol("/srv", "/.", "ro"), vm + "[0].container_path"},
		{"volume permission empty", vol("/srv", "/data", ""), vm + "[0].permission"},
		{"volume permission bad", vol("/srv", "/data", "rwx"), vm + "[0].permission"},
		{"volume duplicate container path", func(c *driverhub.Container) {
			c.VolumeMappings = volumes(3)
			c.VolumeMappings[2].ContainerPath = c.VolumeMappings[0].ContainerPath
		}, vm + "[2].container_path"},
		{"volume same host path twice", func(c *driverhub.Container) {
			c.VolumeMappings = []driverhub.VolumeMapping{
				{HostPath: "/srv", ContainerPath: "/a", Permission: "ro"},
				{HostPath: "/srv", ContainerPath: "/b", Permission: "rw"},
			}
		}, ""},
	}
}

func containerMemoryCases() []containerCase {
	return []containerCase{
		{"memory 15", func(c *driverhub.Container) { c.MemoryLimitMB = 15 }, "container.memory_limit_mb"},
		{"memory 16", func(c *driverhub.Container) { c.MemoryLimitMB = 16 }, ""},
		{"memory 65536", func(c *driverhub.Container) { c.MemoryLimitMB = 65536 }, ""},
		{"memory 65537", func(c *driverhub.Container) { c.MemoryLimitMB = 65537 }, "container.memory_limit_mb"},
		{"memory 0", func(c *driverhub.Container) { c.MemoryLimitMB = 0 }, "container.memory_limit_mb"},
		{"memory negative", func(c *driverhub.Container) { c.MemoryLimitMB = -1024 }, "container.memory_limit_mb"},
	}
}

// Paths that spell the forbidden ones differently must be refused too.
func TestContainerValidatePathAliases(t *testing.T) {
	tests := []struct {
		name  string
		edit  func(*driverhub.Container)
		field string
	}{
		{"container path double slash", vol("/srv", "//", "ro"), "container.volume_mappings[0].container_path"},
		{"device dev dir", dev("/dev//", "ro", ""), "container.device_mappings[0].host_path"},
		{"container paths equal once cleaned", func(c *driverhub.Container) {
			c.VolumeMappings = []driverhub.VolumeMapping{
				{HostPath: "/a", ContainerPath: "/data", Permission: "ro"},
				{HostPath: "/b", ContainerPath: "/data/", Permission: "ro"},
			}
		}, "container.volume_mappings[1].container_path"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := driverhub.DefaultContainer()
			tt.edit(&c)
			checkField(t, c.Validate("container"), tt.field)
		})
	}
}

// SPEC §3 counts mapping paths in characters ("1–128 chars").
func TestContainerValidatePathCharacters(t *testing.T) {
	c := driverhub.DefaultContainer()
	c.DeviceMappings = []driverhub.DeviceMapping{{HostPath: "/dev/" + rep("串", 123), Permission: "ro"}}
	c.VolumeMappings = []driverhub.VolumeMapping{{HostPath: "/" + rep("卷", 127), ContainerPath: "/" + rep("卷", 127), Permission: "ro"}}
	checkField(t, c.Validate("container"), "")
}

func TestContainerValidateFieldPrefix(t *testing.T) {
	c := driverhub.DefaultContainer()
	c.MemoryLimitMB = 1
	checkField(t, c.Validate("settings"), "settings.memory_limit_mb")
}

func TestContainerRoundTrip(t *testing.T) {
	var c driverhub.Container
	if err := json.Unmarshal(readTestdata(t, "container_full.json"), &c); err != nil {
		t.Fatal(err)
	}
	if err := c.Validate("container"); err != nil {
		t.Fatal(err)
	}
	if c.HostNetwork || len(c.PortMappings) != 3 || len(c.DeviceMappings) != 2 || len(c.VolumeMappings) != 2 || c.MemoryLimitMB != 256 {
		t.Fatalf("decoded %+v", c)
	}
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	var back driverhub.Container
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(c, back); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
}

func TestContainerNeedsIsolation(t *testing.T) {
	decode := func(body string) driverhub.Container {
		var c driverhub.Container
		if err := json.Unmarshal([]byte(body), &c); err != nil {
			t.Fatal(err)
		}
		return c
	}
	ports := `"port_mappings":[{"host_port":1502,"container_port":502,"protocol":"tcp"}]`
	volume := `"volume_mappings":[{"host_path":"/var/lib/plc","container_path":"/data","permission":"ro"}]`
	device := `"device_mappings":[{"host_path":"/dev/ttyUSB0","permission":"rw","comment":""}]`
	tests := []struct {
		body string
		want []string
	}{
		{`{}`, nil},
		{`{"privileged":true,"memory_limit_mb":16}`, nil},
		{`{` + device + `}`, nil},
		{`{"host_network":false}`, []string{"host_network"}},
		{`{"host_network":false,` + ports + `}`, []string{"host_network", "port_mappings"}},
		{`{` + volume + `}`, []string{"volume_mappings"}},
		{`{"host_network":false,` + ports + `,` + volume + `,` + device + `}`, []string{"host_network", "port_mappings", "volume_mappings"}},
	}
	for _, tt := range tests {
		c := decode(tt.body)
		if err := c.Validate("container"); err != nil {
			t.Fatalf("%s: %v", tt.body, err)
		}
		if diff := cmp.Diff(tt.want, c.NeedsIsolation()); diff != "" {
			t.Errorf("NeedsIsolation of %s (-want +got):\n%s", tt.body, diff)
		}
	}
}
