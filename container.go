package driverhub

import (
	"bytes"
	"encoding/json"
	"path"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Container holds a driver's container settings (the seed's 容器配置).
type Container struct {
	HostNetwork    bool            `json:"host_network"`
	PortMappings   []PortMapping   `json:"port_mappings"`
	Privileged     bool            `json:"privileged"`
	DeviceMappings []DeviceMapping `json:"device_mappings"`
	VolumeMappings []VolumeMapping `json:"volume_mappings"`
	MemoryLimitMB  int             `json:"memory_limit_mb"`
}

// PortMapping forwards a host port to the driver's private network.
type PortMapping struct {
	HostPort      int    `json:"host_port"`
	ContainerPort int    `json:"container_port"`
	Protocol      string `json:"protocol"`
}

// DeviceMapping exposes one host device at the same path inside.
type DeviceMapping struct {
	HostPath   string `json:"host_path"`
	Permission string `json:"permission"`
	Comment    string `json:"comment"`
}

// VolumeMapping bind-mounts a host path into the driver's container.
type VolumeMapping struct {
	HostPath      string `json:"host_path"`
	ContainerPath string `json:"container_path"`
	Permission    string `json:"permission"`
}

// DefaultContainer returns the settings a version has when none are given:
// host network, not privileged, 1024 MB of memory.
func DefaultContainer() Container {
	return Container{HostNetwork: true, MemoryLimitMB: DefaultMemoryLimitMB,
		PortMappings: []PortMapping{}, DeviceMappings: []DeviceMapping{}, VolumeMappings: []VolumeMapping{}}
}

// UnmarshalJSON fills in the defaults for every field the JSON leaves out.
func (c *Container) UnmarshalJSON(b []byte) error {
	type plain Container
	p := plain(DefaultContainer())
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields() // a misspelt setting must not pass as its default
	if err := dec.Decode(&p); err != nil {
		return err
	}
	*c = Container(p)
	if c.PortMappings == nil {
		c.PortMappings = []PortMapping{}
	}
	if c.DeviceMappings == nil {
		c.DeviceMappings = []DeviceMapping{}
	}
	if c.VolumeMappings == nil {
		c.VolumeMappings = []VolumeMapping{}
	}
	return nil
}

// NeedsIsolation names the settings that only a runtime isolating the
// driver (runc) can enforce (SPEC §12): a private network (host_network
// false), port mappings and volume mappings. Privileged and device mappings
// need none: the process runtime enforces device access itself. Empty when
// the settings run anywhere.
func (c *Container) NeedsIsolation() []string {
	var out []string
	if !c.HostNetwork {
		out = append(out, "host_network")
	}
	if len(c.PortMappings) > 0 {
		out = append(out, "port_mappings")
	}
	if len(c.VolumeMappings) > 0 {
		out = append(out, "volume_mappings")
	}
	return out
}

// Validate checks container settings against SPEC §3 and returns the
// first problem of Check.
func (c *Container) Validate(field string) error { return firstProblem(c.Check(field)) }

// Check returns a problem for each container setting that breaks SPEC §3,
// below field: each part (port, device and volume mappings, memory) and
// each row of a mapping on its own, so that one problem hides no other.
func (c *Container) Check(field string) FieldErrors {
	var l FieldErrors
	l.Append(c.portProblems(field + ".port_mappings"))
	l.Append(c.deviceProblems(field + ".device_mappings"))
	l.Append(c.volumeProblems(field + ".volume_mappings"))
	if c.MemoryLimitMB < MinMemoryLimitMB || c.MemoryLimitMB > MaxMemoryLimitMB {
		l.Add(Invalid(field+".memory_limit_mb", "must be %d-%d, got %d", MinMemoryLimitMB, MaxMemoryLimitMB, c.MemoryLimitMB))
	}
	return l
}

func (c *Container) portProblems(f string) FieldErrors {
	if c.HostNetwork && len(c.PortMappings) > 0 {
		return FieldErrors{Invalid(f, "are only allowed when host_network is false")}
	}
	if len(c.PortMappings) > MaxPortMappings {
		return FieldErrors{Invalid(f, "at most %d, got %d", MaxPortMappings, len(c.PortMappings))}
	}
	type hostPort struct {
		port  int
		proto string
	}
	var l FieldErrors
	ports := map[hostPort]bool{}
	for i, p := range c.PortMappings {
		if p.HostPort < 1 || p.HostPort > 65535 {
			l.Add(Invalid(indexed(f, i, "host_port"), "must be 1-65535, got %d", p.HostPort))
		}
		if p.ContainerPort < 1 || p.ContainerPort > 65535 {
			l.Add(Invalid(indexed(f, i, "container_port"), "must be 1-65535, got %d", p.ContainerPort))
		}
		if p.Protocol != "tcp" && p.Protocol != "udp" {
			l.Add(Invalid(indexed(f, i, "protocol"), "must be tcp or udp"))
		}
		k := hostPort{p.HostPort, p.Protocol}
		if ports[k] {
			l.Add(Invalid(indexed(f, i, "host_port"), "host port %d/%s is mapped twice", p.HostPort, p.Protocol))
		}
		ports[k] = true
	}
	return l
}

func (c *Container) deviceProblems(f string) FieldErrors {
	if c.Privileged && len(c.DeviceMappings) > 0 {
		return FieldErrors{Invalid(f, "are only allowed when privileged is false: a privileged driver sees every host device")}
	}
	if len(c.DeviceMappings) > MaxDeviceMappings {
		return FieldErrors{Invalid(f, "at most %d, got %d", MaxDeviceMappings, len(c.DeviceMappings))}
	}
	var l FieldErrors
	for i, d := range c.DeviceMappings {
		if chars(d.HostPath) > MaxMappingPathLen || !strings.HasPrefix(d.HostPath, "/dev/") || !cleanPath(d.HostPath) || d.HostPath == "/dev" {
			l.Add(Invalid(indexed(f, i, "host_path"), "must be a clean path under /dev/ of at most %d characters", MaxMappingPathLen))
		} else {
			l.Add(checkText(indexed(f, i, "host_path"), d.HostPath, textKindLabel))
		}
		l.Add(validatePermission(indexed(f, i, "permission"), d.Permission))
		if len(d.Comment) > MaxDeviceCommentBytes {
			l.Add(Invalid(indexed(f, i, "comment"), "must be at most %d bytes", MaxDeviceCommentBytes))
		} else {
			l.Add(checkText(indexed(f, i, "comment"), d.Comment, textKindLine))
		}
	}
	return l
}

func (c *Container) volumeProblems(f string) FieldErrors {
	if len(c.VolumeMappings) > MaxVolumeMappings {
		return FieldErrors{Invalid(f, "at most %d, got %d", MaxVolumeMappings, len(c.VolumeMappings))}
	}
	var l FieldErrors
	targets := map[string]bool{}
	for i, v := range c.VolumeMappings {
		if n := chars(v.HostPath); n < 1 || n > MaxMappingPathLen || !strings.HasPrefix(v.HostPath, "/") || hasSpace(v.HostPath) || !cleanPath(v.HostPath) {
			l.Add(Invalid(indexed(f, i, "host_path"), "must be a clean absolute path of 1-%d characters without spaces", MaxMappingPathLen))
		} else {
			l.Add(checkText(indexed(f, i, "host_path"), v.HostPath, textKindLabel))
		}
		switch n := chars(v.ContainerPath); {
		case n < 2 || n > MaxMappingPathLen || !strings.HasPrefix(v.ContainerPath, "/") || hasSpace(v.ContainerPath) || !cleanPath(v.ContainerPath):
			l.Add(Invalid(indexed(f, i, "container_path"), "must be a clean absolute path other than / of 2-%d characters without spaces", MaxMappingPathLen))
		case targets[v.ContainerPath]:
			l.Add(Invalid(indexed(f, i, "container_path"), "%s is mapped twice: container paths must be unique", v.ContainerPath))
		default:
			l.Add(checkText(indexed(f, i, "container_path"), v.ContainerPath, textKindLabel))
		}
		targets[v.ContainerPath] = true
		l.Add(validatePermission(indexed(f, i, "permission"), v.Permission))
	}
	return l
}

func validatePermission(field, p string) error {
	if p != "ro" && p != "rw" {
		return Invalid(field, "must be ro or rw")
	}
	return nil
}

// cleanPath reports whether p is already in the form path.Clean gives:
// no "." or ".." segments, no doubled or trailing slashes. Two spellings
// of one path would defeat the uniqueness and /dev/ rules.
func cleanPath(p string) bool { return path.Clean(p) == p }

func hasSpace(s string) bool { return strings.IndexFunc(s, unicode.IsSpace) >= 0 }

func chars(s string) int { return utf8.RuneCountInString(s) }
