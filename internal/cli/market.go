package cli

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/driverhub/driverhub"
	"github.com/driverhub/driverhub/internal/httpapi/client"
)

// publisherDriver reads "PUBLISHER DRIVER" or "PUBLISHER/DRIVER" from the
// front of args and returns the rest.
func publisherDriver(cmd *cobra.Command, args []string, rest int) (string, string, []string, error) {
	if len(args) == rest+1 {
		if p, d, ok := strings.Cut(args[0], "/"); ok && p != "" && d != "" {
			return p, d, args[1:], nil
		}
	}
	if len(args) == rest+2 {
		return args[0], args[1], args[2:], nil
	}
	return "", "", nil, usagef(cmd, "want PUBLISHER DRIVER (or PUBLISHER/DRIVER)")
}

func (a *app) marketCommand() *cobra.Command {
	return a.group("market", "Browse the marketplace and acquire drivers",
		a.marketList(), a.marketGet(), a.marketAcquire(), a.marketDownload())
}

func (a *app) marketList() *cobra.Command {
	cmd := a.leaf("list", "Browse the marketplace", exactArgs(),
		func(cmd *cobra.Command, c *client.Client, _ []string) error {
			l, err := collect(cmd, func(p driverhub.Page) (driverhub.List[*driverhub.Listing], error) {
				return c.ListMarket(cmd.Context(), p)
			})
			if err != nil {
				return err
			}
			return render(cmd, l, func(p *printer) {
				p.header("PUBLISHER", "DRIVER", "TITLE", "PROTOCOL", "RUNTIME", "LATEST", "ACQUIRED")
				for _, x := range l.Items {
					p.row(x.Publisher, x.Driver, truncate(x.Title, 40), x.Protocol, string(x.Runtime), orDash(x.LatestVersion), strconv.FormatBool(x.Acquired))
				}
			})
		})
	cmd.Aliases = []string{"ls"}
	listFlags(cmd)
	return cmd
}

func (a *app) marketGet() *cobra.Command {
	cmd := a.leaf("get PUBLISHER DRIVER", "Show a marketplace driver and its published versions", rangeArgs(1, 2, "PUBLISHER", "DRIVER"),
		func(cmd *cobra.Command, c *client.Client, args []string) error {
			pub, drv, _, err := publisherDriver(cmd, args, 0)
			if err != nil {
				return err
			}
			m, err := c.GetMarketDriver(cmd.Context(), pub, drv)
			if err != nil {
				return err
			}
			return render(cmd, m, func(p *printer) {
				listingDetail(p, &m.Listing)
				p.blank()
				p.header("VERSION", "MIN EDGE", "PACKAGE", "PUBLISHED", "DESCRIPTION")
				for _, v := range m.Versions {
					p.row(v.Version, v.MinEdgeVersion, packageSize(v.Package), stamp(v.PublishedAt), truncate(v.Description, 50))
				}
			})
		})
	addOutputFlag(cmd)
	return cmd
}

func (a *app) marketAcquire() *cobra.Command {
	cmd := a.leaf("acquire PUBLISHER DRIVER", "Acquire a marketplace driver, to bind it to your instances", rangeArgs(1, 2, "PUBLISHER", "DRIVER"),
		func(cmd *cobra.Command, c *client.Client, args []string) error {
			pub, drv, _, err := publisherDriver(cmd, args, 0)
			if err != nil {
				return err
			}
			x, err := c.Acquire(cmd.Context(), pub, drv)
			if err != nil {
				return err
			}
			if machine(cmd) {
				return render(cmd, x, nil)
			}
			notice(cmd, "Acquired %s/%s: bind it with driverhub instance bind INSTANCE %s --publisher %s", x.Publisher, x.Driver, x.Driver, x.Publisher)
			return nil
		})
	addOutputFlag(cmd)
	return cmd
}

func (a *app) marketDownload() *cobra.Command {
	cmd := a.leaf("download PUBLISHER DRIVER VERSION [--to FILE]", "Download a published version of an acquired driver", rangeArgs(2, 3, "PUBLISHER", "DRIVER", "VERSION"),
		func(cmd *cobra.Command, c *client.Client, args []string) error {
			pub, drv, rest, err := publisherDriver(cmd, args, 1)
			if err != nil {
				return err
			}
			ver := rest[0]
			m, err := c.GetMarketDriver(cmd.Context(), pub, drv)
			if err != nil {
				return err
			}
			for _, v := range m.Versions {
				if v.Version == ver && v.Package != nil {
					return saveDownload(cmd, v.Package.SHA256, fmt.Sprintf("%s-%s.zip", drv, ver),
						func(ctx context.Context, w io.Writer) (int64, error) {
							return c.DownloadMarketPackage(ctx, pub, drv, ver, w)
						})
				}
			}
			return failf("%s/%s has no published version %s with a package", pub, drv, ver)
		})
	cmd.Flags().String("to", "", "file to write (- for stdout; default DRIVER-VERSION.zip)")
	return cmd
}

func listingDetail(p *printer, l *driverhub.Listing) {
	p.kv("Publisher", l.Publisher)
	p.kv("Driver", l.Driver)
	p.kv("Title", l.Title)
	p.kv("Summary", orDash(l.Summary))
	p.kv("Protocol", l.Protocol)
	p.kv("Runtime", l.Runtime)
	if l.CPUArch != "" {
		p.kv("CPU arch", l.CPUArch)
	}
	p.kv("Built-in", l.Builtin)
	p.kv("Latest version", orDash(l.LatestVersion))
	p.kv("Listed", stamp(&l.ListedAt))
	p.kv("Acquired", l.Acquired)
}

func (a *app) acquisitionsCommand() *cobra.Command {
	list := a.leaf("list", "List the marketplace drivers you acquired", exactArgs(),
		func(cmd *cobra.Command, c *client.Client, _ []string) error {
			l, err := collect(cmd, func(p driverhub.Page) (driverhub.List[*driverhub.Acquisition], error) {
				return c.ListAcquisitions(cmd.Context(), p)
			})
			if err != nil {
				return err
			}
			return render(cmd, l, func(p *printer) {
				p.header("PUBLISHER", "DRIVER", "ACQUIRED")
				for _, x := range l.Items {
					p.row(x.Publisher, x.Driver, age(x.AcquiredAt))
				}
			})
		})
	list.Aliases = []string{"ls"}
	listFlags(list)
	return a.group("acquisitions", "List acquired marketplace drivers", list)
}

func (a *app) listingCommand() *cobra.Command {
	set := a.leaf("set DRIVER --title T [--summary S]", "List a driver in the marketplace, or change its listing", exactArgs("DRIVER"),
		func(cmd *cobra.Command, c *client.Client, args []string) error {
			if err := required(cmd, "title"); err != nil {
				return err
			}
			var in driverhub.ListingInput
			in.Title, _ = cmd.Flags().GetString("title")
			in.Summary, _ = cmd.Flags().GetString("summary")
			l, err := c.PutListing(cmd.Context(), args[0], in)
			if err != nil {
				return err
			}
			return render(cmd, l, func(p *printer) { listingDetail(p, l) })
		})
	set.Flags().String("title", "", "title in the marketplace")
	set.Flags().String("summary", "", "summary in the marketplace")
	addOutputFlag(set)
	remove := a.leaf("remove DRIVER", "Take a driver out of the marketplace (acquirers keep it)", exactArgs("DRIVER"),
		func(cmd *cobra.Command, c *client.Client, args []string) error {
			if err := c.DeleteListing(cmd.Context(), args[0]); err != nil {
				return err
			}
			notice(cmd, "Unlisted %s", args[0])
			return nil
		})
	return a.group("listing", "List a driver in the marketplace, or unlist it", set, remove)
}
