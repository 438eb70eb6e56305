package cli

import (
	"encoding/json"

	"github.com/spf13/cobra"

	"github.com/driverhub/driverhub"
	"github.com/driverhub/driverhub/internal/httpapi/client"
)

func (a *app) deviceCommand() *cobra.Command {
	return a.group("device", "Manage sub-devices and put them on instances",
		a.deviceCreate(), a.deviceList(), a.deviceGet(), a.deviceDelete(), a.deviceAssign(), a.deviceUnassign())
}

func (a *app) deviceCreate() *cobra.Command {
	cmd := a.leaf("create PRODUCT NAME [--description D]", "Create a sub-device", exactArgs("PRODUCT", "NAME"),
		func(cmd *cobra.Command, c *client.Client, args []string) error {
			in := driverhub.DeviceInput{Product: args[0], Name: args[1]}
			in.Description, _ = cmd.Flags().GetString("description")
			d, err := c.CreateDevice(cmd.Context(), in)
			if err != nil {
				return err
			}
			return render(cmd, d, func(p *printer) { deviceDetail(p, d) })
		})
	cmd.Flags().String("description", "", "description, at most 256 bytes")
	addOutputFlag(cmd)
	return cmd
}

func (a *app) deviceList() *cobra.Command {
	cmd := a.leaf("list [--instance I]", "List sub-devices, all or one instance's", exactArgs(),
		func(cmd *cobra.Command, c *client.Client, _ []string) error {
			inst, _ := cmd.Flags().GetString("instance")
			l, err := collect(cmd, func(p driverhub.Page) (driverhub.List[*driverhub.Device], error) {
				return c.ListDevices(cmd.Context(), inst, p)
			})
			if err != nil {
				return err
			}
			return render(cmd, l, func(p *printer) {
				p.header("PRODUCT", "NAME", "INSTANCE", "DRIVER", "CONFIG", "AGE", "DESCRIPTION")
				for _, d := range l.Items {
					p.row(d.Product, d.Name, orDash(d.Instance), orDash(d.Driver), truncate(rawOrDash(d.Config), 40), age(d.CreatedAt), truncate(d.Description, 40))
				}
			})
		})
	cmd.Aliases = []string{"ls"}
	cmd.Flags().String("instance", "", "only the devices of this instance")
	listFlags(cmd)
	return cmd
}

func (a *app) deviceGet() *cobra.Command {
	cmd := a.leaf("get PRODUCT NAME", "Show a sub-device", exactArgs("PRODUCT", "NAME"),
		func(cmd *cobra.Command, c *client.Client, args []string) error {
			d, err := c.GetDevice(cmd.Context(), args[0], args[1])
			if err != nil {
				return err
			}
			return render(cmd, d, func(p *printer) { deviceDetail(p, d) })
		})
	addOutputFlag(cmd)
	return cmd
}

func (a *app) deviceDelete() *cobra.Command {
	cmd := a.leaf("delete PRODUCT NAME", "Delete a sub-device", exactArgs("PRODUCT", "NAME"),
		func(cmd *cobra.Command, c *client.Client, args []string) error {
			if err := c.DeleteDevice(cmd.Context(), args[0], args[1]); err != nil {
				return err
			}
			notice(cmd, "Deleted device %s/%s", args[0], args[1])
			return nil
		})
	return cmd
}

func (a *app) deviceAssign() *cobra.Command {
	cmd := a.leaf("assign PRODUCT NAME --instance I --driver D [--config JSON]", "Put a device on an instance with one of its bound drivers", exactArgs("PRODUCT", "NAME"),
		func(cmd *cobra.Command, c *client.Client, args []string) error {
			if err := required(cmd, "instance", "driver"); err != nil {
				return err
			}
			inst, _ := cmd.Flags().GetString("instance")
			var in driverhub.DeviceAssociation
			in.Driver, _ = cmd.Flags().GetString("driver")
			if cmd.Flags().Changed("config") {
				raw, err := readJSONFlag(cmd, "config")
				if err != nil {
					return err
				}
				in.Config = raw
			}
			d, err := c.AssociateDevice(cmd.Context(), inst, args[0], args[1], in)
			if err != nil {
				return err
			}
			return render(cmd, d, func(p *printer) { deviceDetail(p, d) })
		})
	cmd.Flags().String("instance", "", "instance to put the device on")
	cmd.Flags().String("driver", "", "bound driver that talks to the device")
	cmd.Flags().String("config", "", "device config: a JSON object (or @FILE)")
	addOutputFlag(cmd)
	return cmd
}

func (a *app) deviceUnassign() *cobra.Command {
	cmd := a.leaf("unassign PRODUCT NAME [--instance I]", "Remove a device from its instance", exactArgs("PRODUCT", "NAME"),
		func(cmd *cobra.Command, c *client.Client, args []string) error {
			inst, _ := cmd.Flags().GetString("instance")
			if inst == "" {
				d, err := c.GetDevice(cmd.Context(), args[0], args[1])
				if err != nil {
					return err
				}
				if d.Instance == "" {
					return failf("device %s/%s is on no instance", args[0], args[1])
				}
				inst = d.Instance
			}
			if err := c.DissociateDevice(cmd.Context(), inst, args[0], args[1]); err != nil {
				return err
			}
			notice(cmd, "Removed device %s/%s from %s", args[0], args[1], inst)
			return nil
		})
	cmd.Flags().String("instance", "", "instance the device is on (default: the one it is on)")
	return cmd
}

func deviceDetail(p *printer, d *driverhub.Device) {
	p.kv("Product", d.Product)
	p.kv("Name", d.Name)
	p.kv("Description", orDash(d.Description))
	p.kv("Instance", orDash(d.Instance))
	p.kv("Driver", orDash(d.Driver))
	p.kv("Config", rawOrDash(d.Config))
	p.kv("Created", stamp(&d.CreatedAt))
}

// rawOrDash renders a JSON value, "-" when absent or null.
func rawOrDash(b json.RawMessage) string {
	if len(b) == 0 || string(b) == "null" {
		return "-"
	}
	return string(b)
}
