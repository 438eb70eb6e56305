// Drivers bound to an instance: bind, unbind, and what the gateway runs.

package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/driverhub/driverhub"
	"github.com/driverhub/driverhub/internal/httpapi/client"
)

// getRaw reads an API path as the server's JSON, for -o json and yaml to
// print exactly, and decodes it into out for the tables.
func getRaw(ctx context.Context, c *client.Client, path string, out any) (json.RawMessage, error) {
	var raw json.RawMessage
	if err := c.JSON(ctx, http.MethodGet, path, nil, &raw); err != nil {
		return nil, err
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return nil, failf("GET %s: the answer is not what this client reads: %v", path, err)
	}
	return raw, nil
}

func bindingsPath(instance string, driver ...string) string {
	p := "/api/v1/instances/" + url.PathEscape(instance) + "/drivers"
	for _, d := range driver {
		p += "/" + url.PathEscape(d)
	}
	return p
}

func (a *app) instanceBind() *cobra.Command {
	cmd := a.leaf("bind INSTANCE DRIVER [--version V] [--publisher P]", "Bind a driver (own or acquired) to an instance", exactArgs("INSTANCE", "DRIVER"),
		func(cmd *cobra.Command, c *client.Client, args []string) error {
			var in driverhub.BindingInput
			if cmd.Flags().Changed("version") {
				v, _ := cmd.Flags().GetString("version")
				in.Version = &v
			}
			if cmd.Flags().Changed("publisher") {
				v, _ := cmd.Flags().GetString("publisher")
				in.Publisher = &v
			}
			b, err := c.Bind(cmd.Context(), args[0], args[1], in)
			if err != nil {
				return err
			}
			return render(cmd, b, func(p *printer) { bindingDetail(p, b) })
		})
	cmd.Flags().String("version", "", "version to bind (default: the newest published)")
	cmd.Flags().String("publisher", "", "tenant that published an acquired driver (default: yours)")
	addOutputFlag(cmd)
	return cmd
}

func (a *app) instanceUnbind() *cobra.Command {
	return a.leaf("unbind INSTANCE DRIVER", "Remove a driver from an instance", exactArgs("INSTANCE", "DRIVER"),
		func(cmd *cobra.Command, c *client.Client, args []string) error {
			if err := c.Unbind(cmd.Context(), args[0], args[1]); err != nil {
				return err
			}
			notice(cmd, "Unbound %s from %s", args[1], args[0])
			return nil
		})
}

func (a *app) instanceBindings() *cobra.Command {
	cmd := a.leaf("drivers INSTANCE [DRIVER]", "List the drivers bound to an instance, or show one with what its gateway runs", rangeArgs(1, 2, "INSTANCE", "DRIVER"),
		func(cmd *cobra.Command, c *client.Client, args []string) error {
			if len(args) == 2 {
				var b driverhub.Binding
				raw, err := getRaw(cmd.Context(), c, bindingsPath(args[0], args[1]), &b)
				if err != nil {
					return err
				}
				return render(cmd, raw, func(p *printer) { bindingDetail(p, &b) })
			}
			var l driverhub.List[*driverhub.Binding]
			raw, err := getRaw(cmd.Context(), c, bindingsPath(args[0]), &l)
			if err != nil {
				return err
			}
			return render(cmd, raw, func(p *printer) { bindingTable(p, l.Items) })
		})
	cmd.Long = `List the drivers bound to an instance with what its gateway last reported of each:
the VERSION bound (what the next deployment sends), the version RUNNING on the gateway,
its STATE and restarts. A state marked "(stale)" is the last report of a gateway that
is offline now.`
	cmd.Aliases = []string{"bindings"}
	addOutputFlag(cmd)
	return cmd
}

func bindingTable(p *printer, items []*driverhub.Binding) {
	p.header("DRIVER", "PUBLISHER", "VERSION", "RUNNING", "STATE", "RESTARTS", "CONFIG", "DEVICES")
	for _, b := range items {
		running, state, restarts := "-", "-", "-"
		if r := b.Runtime; r != nil {
			running, state, restarts = orDash(r.Version), p.status(r.State), strconv.Itoa(r.Restarts)
			if r.Stale {
				state = p.paint("33", string(r.State)+" (stale)")
			}
		}
		cfg := "default"
		if b.Config != nil {
			cfg = b.Config.Format
		}
		p.row(b.Driver, b.Publisher, b.Version, running, state, restarts, cfg, strconv.Itoa(b.Devices))
	}
}

func bindingDetail(p *printer, b *driverhub.Binding) {
	p.kv("Driver", b.Driver)
	p.kv("Publisher", b.Publisher)
	p.kv("Version", b.Version)
	if b.Config != nil {
		p.kv("Config", configSummary(b.Config))
	} else {
		p.kv("Config", "the version's default")
	}
	p.kv("Devices", b.Devices)
	r := b.Runtime
	if r == nil {
		p.kv("State", "- (not reported yet)")
		return
	}
	running := orDash(r.Version)
	if r.Version != "" && r.Version != b.Version {
		running += " (not the bound version: not deployed yet, or rolled back)"
	}
	p.kv("Running version", running)
	state := p.status(r.State)
	if r.Stale {
		state = p.paint("33", string(r.State)+" (stale: the gateway is offline; this is its last report)")
	}
	p.kv("State", state)
	p.kv("Restarts", r.Restarts)
	if r.LastExit != "" {
		p.kv("Last exit", r.LastExit)
	}
	p.kv("Memory", humanBytes(r.MemoryBytes))
	p.kv("Reported", fmt.Sprintf("%s (%s ago)", stamp(&r.ReportedAt), age(r.ReportedAt)))
}
