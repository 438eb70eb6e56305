package cli

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/driverhub/driverhub"
	"github.com/driverhub/driverhub/internal/httpapi/client"
)

// versionCommand manages driver versions; alone, it prints driverhub's
// own version, as it always did.
func (a *app) versionCommand() *cobra.Command {
	cmd := a.group("version", "Print driverhub's version, or manage a driver's versions: drafts, packages, publishing",
		a.versionCreate(), a.versionList(), a.versionGet(), a.versionUpdate(), a.versionDelete(),
		a.versionPublish(), a.versionUpload(), a.versionDownload(), a.versionUploadConfig())
	group := cmd.RunE
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if len(args) == 0 {
			fmt.Fprintln(cmd.OutOrStdout(), driverhub.Version)
			return nil
		}
		return group(cmd, args)
	}
	return cmd
}

// versionFlags adds the fields of a version as flags.
func versionFlags(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringP("file", "f", "", "read the version's fields from this JSON or YAML file (- for stdin), as the API shows them; flags override it")
	f.String("min-edge-version", "", "lowest agent version that may run it (MAJOR.MINOR.PATCH)")
	f.String("description", "", "description, at most 256 bytes")
	f.StringArray("config-kv", nil, "default driver config as key=value pairs (repeatable)")
	f.String("config-json", "", "default driver config as a JSON object (or @FILE)")
	f.Bool("driver-config-required", false, "deploying needs an instance driver config")
	f.Bool("device-config-required", false, "deploying needs a device config for every device")
	f.String("jvm-args", "", "JVM arguments (java only)")
	f.Bool("host-network", true, "share the gateway's network")
	f.Bool("privileged", false, "let the driver see every host device")
	f.Int("memory-limit-mb", driverhub.DefaultMemoryLimitMB, "memory limit in MiB")
	mappingFlags(cmd)
	addOutputFlag(cmd)
}

// containerChanged reports whether a flag changes the container settings.
func containerChanged(cmd *cobra.Command) bool {
	f := cmd.Flags()
	return f.Changed("host-network") || f.Changed("privileged") || f.Changed("memory-limit-mb") || mappingsChanged(cmd)
}

// versionInput builds a version's fields from -f and the flags given.
// current is the version being changed (nil when creating): container
// flags change its container, which the API replaces as a whole.
func versionInput(cmd *cobra.Command, current *driverhub.DriverVersion) (driverhub.VersionInput, error) {
	var in driverhub.VersionInput
	f := cmd.Flags()
	if file, _ := f.GetString("file"); file != "" {
		if err := readInputFile(cmd, file, &in); err != nil {
			return in, err
		}
	}
	str := func(flag string, dst **string) {
		if f.Changed(flag) {
			v, _ := f.GetString(flag)
			*dst = &v
		}
	}
	str("min-edge-version", &in.MinEdgeVersion)
	str("description", &in.Description)
	str("jvm-args", &in.JVMArgs)
	cfg, err := configFromFlags(cmd, "config-kv", "config-json")
	if err != nil {
		return in, err
	}
	if cfg != nil {
		in.DriverConfig = cfg
	}
	if f.Changed("driver-config-required") || f.Changed("device-config-required") {
		checks := driverhub.ConfigChecks{}
		switch {
		case in.ConfigChecks != nil:
			checks = *in.ConfigChecks
		case current != nil:
			checks = current.ConfigChecks
		}
		if f.Changed("driver-config-required") {
			checks.DriverConfigRequired, _ = f.GetBool("driver-config-required")
		}
		if f.Changed("device-config-required") {
			checks.DeviceConfigRequired, _ = f.GetBool("device-config-required")
		}
		in.ConfigChecks = &checks
	}
	if containerChanged(cmd) {
		c := driverhub.DefaultContainer()
		switch {
		case in.Container != nil:
			c = *in.Container
		case current != nil:
			c = current.Container
		}
		if f.Changed("host-network") {
			c.HostNetwork, _ = f.GetBool("host-network")
		}
		if f.Changed("privileged") {
			c.Privileged, _ = f.GetBool("privileged")
		}
		if f.Changed("memory-limit-mb") {
			c.MemoryLimitMB, _ = f.GetInt("memory-limit-mb")
		}
		if err := applyMappings(cmd, &c); err != nil {
			return in, err
		}
		in.Container = &c
	}
	return in, nil
}

func (a *app) versionCreate() *cobra.Command {
	cmd := a.leaf("create DRIVER [VERSION] --min-edge-version E [flags]", "Create a draft version", rangeArgs(1, 2, "DRIVER", "VERSION"),
		func(cmd *cobra.Command, c *client.Client, args []string) error {
			in, err := versionInput(cmd, nil)
			if err != nil {
				return err
			}
			if len(args) == 2 {
				if in.Version != nil && *in.Version != args[1] {
					return usagef(cmd, "VERSION %s differs from the version %s in -f", args[1], *in.Version)
				}
				in.Version = &args[1]
			}
			if in.Version == nil || *in.Version == "" {
				return usagef(cmd, "give VERSION as an argument or as \"version\" in -f")
			}
			if in.MinEdgeVersion == nil {
				return usagef(cmd, "required flag not set: --min-edge-version (or \"min_edge_version\" in -f)")
			}
			v, err := c.CreateVersion(cmd.Context(), args[0], in)
			if err != nil {
				return err
			}
			return render(cmd, v, func(p *printer) { versionDetail(p, v) })
		})
	cmd.Long = `Create a draft version of a driver. Its fields come from -f (a JSON or YAML file
holding the version as the API shows it, VERSION included or not) and from the flags,
which override the file.

` + mappingHelp
	cmd.Example = `  driverhub version create modbus_meter 1.0.0 --min-edge-version 1.0.0 --config-kv poll_ms=500
  driverhub version create modbus_meter 1.1.0 --min-edge-version 1.0.0 --host-network=false \
      --port tcp:8502:502 --device /dev/ttyUSB0:rw:RS-485 --volume /var/lib/meter:/data:rw
  driverhub version create modbus_meter -f version.yaml`
	versionFlags(cmd)
	return cmd
}

func (a *app) versionUpdate() *cobra.Command {
	cmd := a.leaf("update DRIVER VERSION [flags]", "Change a version (a draft's fields, a published one's description)", exactArgs("DRIVER", "VERSION"),
		func(cmd *cobra.Command, c *client.Client, args []string) error {
			var current *driverhub.DriverVersion
			f := cmd.Flags()
			if containerChanged(cmd) || f.Changed("driver-config-required") || f.Changed("device-config-required") {
				var err error
				if current, err = c.GetVersion(cmd.Context(), args[0], args[1]); err != nil {
					return err
				}
			}
			in, err := versionInput(cmd, current)
			if err != nil {
				return err
			}
			v, err := c.UpdateVersion(cmd.Context(), args[0], args[1], in)
			if err != nil {
				return err
			}
			return render(cmd, v, func(p *printer) { versionDetail(p, v) })
		})
	cmd.Long = `Change a version: any field of a draft, only the description of a published version.
Only the flags given change; container flags change the version's container settings,
which are sent whole.

` + mappingHelp
	versionFlags(cmd)
	return cmd
}

func (a *app) versionList() *cobra.Command {
	cmd := a.leaf("list DRIVER", "List a driver's versions, newest first", exactArgs("DRIVER"),
		func(cmd *cobra.Command, c *client.Client, args []string) error {
			status, _ := cmd.Flags().GetString("status")
			l, err := collect(cmd, func(p driverhub.Page) (driverhub.List[*driverhub.DriverVersion], error) {
				return c.ListVersions(cmd.Context(), args[0], status, p)
			})
			if err != nil {
				return err
			}
			return render(cmd, l, func(p *printer) {
				p.header("VERSION", "STATUS", "MIN EDGE", "PACKAGE", "AGE", "DESCRIPTION")
				for _, v := range l.Items {
					p.row(v.Version, p.status(v.Status), v.MinEdgeVersion, packageSize(v.Package), age(v.CreatedAt), truncate(v.Description, 50))
				}
			})
		})
	cmd.Aliases = []string{"ls"}
	cmd.Flags().String("status", "", "only versions in this status: draft or published")
	listFlags(cmd)
	return cmd
}

func packageSize(p *driverhub.PackageRef) string {
	if p == nil {
		return "-"
	}
	return humanBytes(p.Size)
}

func (a *app) versionGet() *cobra.Command {
	cmd := a.leaf("get DRIVER VERSION", "Show a version", exactArgs("DRIVER", "VERSION"),
		func(cmd *cobra.Command, c *client.Client, args []string) error {
			v, err := c.GetVersion(cmd.Context(), args[0], args[1])
			if err != nil {
				return err
			}
			return render(cmd, v, func(p *printer) { versionDetail(p, v) })
		})
	addOutputFlag(cmd)
	return cmd
}

func versionDetail(p *printer, v *driverhub.DriverVersion) {
	p.kv("Driver", v.Driver)
	p.kv("Version", v.Version)
	p.kv("Status", p.status(v.Status))
	p.kv("Min edge version", v.MinEdgeVersion)
	p.kv("Description", orDash(v.Description))
	if v.Package != nil {
		p.kv("Package", fmt.Sprintf("%s (%s, sha256 %s)", v.Package.Filename, humanBytes(v.Package.Size), v.Package.SHA256))
	} else {
		p.kv("Package", "-")
	}
	p.kv("Driver config", configSummary(v.DriverConfig))
	p.kv("Config checks", fmt.Sprintf("driver config required: %t, device config required: %t",
		v.ConfigChecks.DriverConfigRequired, v.ConfigChecks.DeviceConfigRequired))
	p.kv("Container", containerSummary(v.Container))
	ports, devices, volumes := mappingLines(v.Container)
	for _, m := range ports {
		p.kv("  Port", m)
	}
	for _, m := range devices {
		p.kv("  Device", m)
	}
	for _, m := range volumes {
		p.kv("  Volume", m)
	}
	if v.JVMArgs != "" {
		p.kv("JVM args", v.JVMArgs)
	}
	p.kv("Created", stamp(&v.CreatedAt))
	p.kv("Published", stamp(v.PublishedAt))
}

// configSummary renders a driver config on one line.
func configSummary(c *driverhub.DriverConfig) string {
	if c == nil {
		return "-"
	}
	switch c.Format {
	case driverhub.ConfigKV:
		parts := make([]string, len(c.KV))
		for i, kv := range c.KV {
			parts[i] = kv.Key + "=" + kv.Value
		}
		return "kv: " + strings.Join(parts, ", ")
	case driverhub.ConfigJSON:
		return "json: " + string(c.JSON)
	case driverhub.ConfigFile:
		if c.File != nil {
			return fmt.Sprintf("file: %s (%s)", c.File.Name, humanBytes(c.File.Size))
		}
	}
	return c.Format
}

func (a *app) versionDelete() *cobra.Command {
	return a.leaf("delete DRIVER VERSION", "Delete a draft version", exactArgs("DRIVER", "VERSION"),
		func(cmd *cobra.Command, c *client.Client, args []string) error {
			if err := c.DeleteVersion(cmd.Context(), args[0], args[1]); err != nil {
				return err
			}
			notice(cmd, "Deleted version %s of %s", args[1], args[0])
			return nil
		})
}

func (a *app) versionPublish() *cobra.Command {
	cmd := a.leaf("publish DRIVER VERSION", "Publish a draft: final, it never changes again", exactArgs("DRIVER", "VERSION"),
		func(cmd *cobra.Command, c *client.Client, args []string) error {
			v, err := c.PublishVersion(cmd.Context(), args[0], args[1])
			if err != nil {
				return err
			}
			if machine(cmd) {
				return render(cmd, v, nil)
			}
			notice(cmd, "Published version %s of %s", v.Version, v.Driver)
			return nil
		})
	addOutputFlag(cmd)
	return cmd
}
