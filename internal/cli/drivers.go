package cli

import (
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/driverhub/driverhub"
	"github.com/driverhub/driverhub/internal/httpapi/client"
)

func (a *app) driverCommand() *cobra.Command {
	return a.group("driver", "Create, list, change, delete and push drivers",
		a.driverCreate(), a.driverList(), a.driverGet(), a.driverUpdate(), a.driverDelete(), a.pushCommand())
}

// driverFlags adds the fields of a driver as flags.
func driverFlags(cmd *cobra.Command) {
	f := cmd.Flags()
	f.String("protocol", "", "protocol: "+strings.Join(driverhub.Protocols, ", "))
	f.String("runtime", "", "runtime: "+driverhub.Words(driverhub.AllRuntimes))
	f.String("cpu-arch", "", "CPU architecture, for runtime c only: "+strings.Join(driverhub.CPUArchs, ", "))
	f.Bool("builtin", false, "a built-in driver: the gateway already holds it, there is no package")
	f.String("description", "", "description, at most 256 bytes")
	addOutputFlag(cmd)
}

// driverInput holds the driver flags that were given.
func driverInput(cmd *cobra.Command, name string) driverhub.DriverInput {
	in := driverhub.DriverInput{}
	if name != "" {
		in.Name = &name
	}
	f := cmd.Flags()
	str := func(flag string) *string {
		if !f.Changed(flag) {
			return nil
		}
		v, _ := f.GetString(flag)
		return &v
	}
	in.Protocol, in.CPUArch, in.Description = str("protocol"), str("cpu-arch"), str("description")
	in.Runtime = (*driverhub.Runtime)(str("runtime"))
	if f.Changed("builtin") {
		v, _ := f.GetBool("builtin")
		in.Builtin = &v
	}
	return in
}

func (a *app) driverCreate() *cobra.Command {
	cmd := a.leaf("create NAME --protocol P --runtime R", "Create a driver", exactArgs("NAME"),
		func(cmd *cobra.Command, c *client.Client, args []string) error {
			if err := required(cmd, "protocol", "runtime"); err != nil {
				return err
			}
			d, err := c.CreateDriver(cmd.Context(), driverInput(cmd, args[0]))
			if err != nil {
				return err
			}
			return render(cmd, d, func(p *printer) { driverDetail(p, d) })
		})
	cmd.Example = "  driverhub driver create modbus_meter --protocol modbus --runtime python3 --description 'Reads power meters'"
	driverFlags(cmd)
	return cmd
}

func (a *app) driverUpdate() *cobra.Command {
	cmd := a.leaf("update NAME [flags]", "Change a driver's fields (only the flags given)", exactArgs("NAME"),
		func(cmd *cobra.Command, c *client.Client, args []string) error {
			d, err := c.UpdateDriver(cmd.Context(), args[0], driverInput(cmd, ""))
			if err != nil {
				return err
			}
			return render(cmd, d, func(p *printer) { driverDetail(p, d) })
		})
	driverFlags(cmd)
	return cmd
}

func (a *app) driverList() *cobra.Command {
	cmd := a.leaf("list", "List drivers", exactArgs(),
		func(cmd *cobra.Command, c *client.Client, _ []string) error {
			var f driverhub.DriverFilter
			f.Protocol, _ = cmd.Flags().GetString("protocol")
			runtime, _ := cmd.Flags().GetString("runtime")
			f.Runtime = driverhub.Runtime(runtime)
			f.Q, _ = cmd.Flags().GetString("query")
			l, err := collect(cmd, func(p driverhub.Page) (driverhub.List[*driverhub.Driver], error) {
				return c.ListDrivers(cmd.Context(), f, p)
			})
			if err != nil {
				return err
			}
			return render(cmd, l, func(p *printer) {
				p.header("NAME", "PROTOCOL", "RUNTIME", "ARCH", "BUILTIN", "AGE", "DESCRIPTION")
				for _, d := range l.Items {
					p.row(d.Name, d.Protocol, string(d.Runtime), orDash(d.CPUArch), strconv.FormatBool(d.Builtin), age(d.CreatedAt), truncate(d.Description, 50))
				}
			})
		})
	cmd.Aliases = []string{"ls"}
	cmd.Flags().String("protocol", "", "only drivers of this protocol")
	cmd.Flags().String("runtime", "", "only drivers of this runtime")
	cmd.Flags().StringP("query", "q", "", "only drivers whose name or description holds this text")
	listFlags(cmd)
	return cmd
}

func (a *app) driverGet() *cobra.Command {
	cmd := a.leaf("get NAME", "Show a driver", exactArgs("NAME"),
		func(cmd *cobra.Command, c *client.Client, args []string) error {
			d, err := c.GetDriver(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return render(cmd, d, func(p *printer) { driverDetail(p, d) })
		})
	addOutputFlag(cmd)
	return cmd
}

func driverDetail(p *printer, d *driverhub.Driver) {
	p.kv("Name", d.Name)
	p.kv("Protocol", d.Protocol)
	p.kv("Runtime", d.Runtime)
	p.kv("CPU arch", orDash(d.CPUArch))
	p.kv("Built-in", d.Builtin)
	p.kv("Description", orDash(d.Description))
	p.kv("Created", stamp(&d.CreatedAt))
	p.kv("Updated", stamp(&d.UpdatedAt))
}

func (a *app) driverDelete() *cobra.Command {
	return a.leaf("delete NAME", "Delete a driver and its drafts", exactArgs("NAME"),
		func(cmd *cobra.Command, c *client.Client, args []string) error {
			if err := c.DeleteDriver(cmd.Context(), args[0]); err != nil {
				return err
			}
			notice(cmd, "Deleted driver %s", args[0])
			return nil
		})
}
