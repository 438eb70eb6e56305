// Container mappings as flags: --port, --device and --volume.

package cli

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/driverhub/driverhub"
)

// Syntax of the mapping flags, shown in their help and their errors.
const (
	portSyntax   = "[tcp|udp:]HOST_PORT:CONTAINER_PORT"
	deviceSyntax = "/dev/PATH:ro|rw[:COMMENT]"
	volumeSyntax = "HOST_PATH:CONTAINER_PATH:ro|rw"
)

// mappingHelp explains the mapping flags in a command's long help.
const mappingHelp = `Container mappings, each flag repeatable; a list given replaces the one before:
  --port   ` + portSyntax + `  e.g. tcp:8502:502 (needs --host-network=false)
  --device ` + deviceSyntax + `          e.g. /dev/ttyUSB0:rw:RS-485 bus (not with --privileged)
  --volume ` + volumeSyntax + `      e.g. /var/lib/meter:/data:rw
An empty value (--port '') removes every mapping of its kind.`

// mappingFlags adds --port, --device and --volume to a version command.
func mappingFlags(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringArray("port", nil, "forward a host port to the driver's private network, "+portSyntax+
		" (repeatable; the protocol defaults to tcp; needs --host-network=false; --port '' removes every one)")
	f.StringArray("device", nil, "give the driver a host device at the same path, "+deviceSyntax+
		" (repeatable; not with --privileged; --device '' removes every one)")
	f.StringArray("volume", nil, "bind-mount a host path into the driver's container, "+volumeSyntax+
		" (repeatable; --volume '' removes every one)")
}

// mappingsChanged reports whether a mapping flag was given.
func mappingsChanged(cmd *cobra.Command) bool {
	f := cmd.Flags()
	return f.Changed("port") || f.Changed("device") || f.Changed("volume")
}

// applyMappings replaces the mappings of c named by the flags given: each
// list given replaces the one c had.
func applyMappings(cmd *cobra.Command, c *driverhub.Container) error {
	f := cmd.Flags()
	if f.Changed("port") {
		values, _ := f.GetStringArray("port")
		c.PortMappings = []driverhub.PortMapping{}
		for _, v := range nonEmpty(values) {
			m, err := parsePort(v)
			if err != nil {
				return usagef(cmd, "--port %q: %v", v, err)
			}
			c.PortMappings = append(c.PortMappings, m)
		}
	}
	if f.Changed("device") {
		values, _ := f.GetStringArray("device")
		c.DeviceMappings = []driverhub.DeviceMapping{}
		for _, v := range nonEmpty(values) {
			m, err := parseDevice(v)
			if err != nil {
				return usagef(cmd, "--device %q: %v", v, err)
			}
			c.DeviceMappings = append(c.DeviceMappings, m)
		}
	}
	if f.Changed("volume") {
		values, _ := f.GetStringArray("volume")
		c.VolumeMappings = []driverhub.VolumeMapping{}
		for _, v := range nonEmpty(values) {
			m, err := parseVolume(v)
			if err != nil {
				return usagef(cmd, "--volume %q: %v", v, err)
			}
			c.VolumeMappings = append(c.VolumeMappings, m)
		}
	}
	return nil
}

// nonEmpty drops the empty values: an empty value clears a list.
func nonEmpty(values []string) []string {
	var out []string
	for _, v := range values {
		if v != "" {
			out = append(out, v)
		}
	}
	return out
}

// parsePort reads [tcp|udp:]HOST_PORT:CONTAINER_PORT. Ranges and the
// protocol's words are the server's to check; this only splits.
func parsePort(s string) (driverhub.PortMapping, error) {
	parts := strings.Split(s, ":")
	m := driverhub.PortMapping{Protocol: "tcp"}
	if len(parts) == 3 {
		m.Protocol, parts = strings.ToLower(parts[0]), parts[1:]
	}
	if len(parts) != 2 {
		return m, fmt.Errorf("want %s, e.g. tcp:8502:502", portSyntax)
	}
	var err error
	if m.HostPort, err = strconv.Atoi(parts[0]); err != nil {
		return m, fmt.Errorf("host port %q is not a number (want %s)", parts[0], portSyntax)
	}
	if m.ContainerPort, err = strconv.Atoi(parts[1]); err != nil {
		return m, fmt.Errorf("container port %q is not a number (want %s)", parts[1], portSyntax)
	}
	return m, nil
}

// parseDevice reads /dev/PATH:ro|rw[:COMMENT]; the comment may hold colons.
func parseDevice(s string) (driverhub.DeviceMapping, error) {
	parts := strings.SplitN(s, ":", 3)
	if len(parts) < 2 || parts[0] == "" || parts[1] == "" {
		return driverhub.DeviceMapping{}, fmt.Errorf("want %s, e.g. /dev/ttyUSB0:rw:RS-485 bus", deviceSyntax)
	}
	m := driverhub.DeviceMapping{HostPath: parts[0], Permission: parts[1]}
	if len(parts) == 3 {
		m.Comment = parts[2]
	}
	return m, nil
}

// parseVolume reads HOST_PATH:CONTAINER_PATH:ro|rw.
func parseVolume(s string) (driverhub.VolumeMapping, error) {
	parts := strings.Split(s, ":")
	if len(parts) != 3 || parts[0] == "" || parts[1] == "" || parts[2] == "" {
		return driverhub.VolumeMapping{}, fmt.Errorf("want %s, e.g. /var/lib/meter:/data:rw", volumeSyntax)
	}
	return driverhub.VolumeMapping{HostPath: parts[0], ContainerPath: parts[1], Permission: parts[2]}, nil
}

// containerSummary renders container settings on one line.
func containerSummary(c driverhub.Container) string {
	return fmt.Sprintf("host network: %t, privileged: %t, memory limit: %d MiB, %s, %s, %s",
		c.HostNetwork, c.Privileged, c.MemoryLimitMB,
		plural(len(c.PortMappings), "port mapping", "port mappings"),
		plural(len(c.DeviceMappings), "device mapping", "device mappings"),
		plural(len(c.VolumeMappings), "volume mapping", "volume mappings"))
}

// mappingLines renders each mapping in the flags' own syntax, so that a
// version's view can be pasted back into a command.
func mappingLines(c driverhub.Container) (ports, devices, volumes []string) {
	for _, m := range c.PortMappings {
		ports = append(ports, fmt.Sprintf("%s:%d:%d", m.Protocol, m.HostPort, m.ContainerPort))
	}
	for _, m := range c.DeviceMappings {
		d := m.HostPath + ":" + m.Permission
		if m.Comment != "" {
			d += ":" + m.Comment
		}
		devices = append(devices, d)
	}
	for _, m := range c.VolumeMappings {
		volumes = append(volumes, m.HostPath+":"+m.ContainerPath+":"+m.Permission)
	}
	return ports, devices, volumes
}
