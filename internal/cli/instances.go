package cli

import (
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/driverhub/driverhub"
	"github.com/driverhub/driverhub/internal/httpapi/client"
)

func (a *app) instanceCommand() *cobra.Command {
	return a.group("instance", "Manage edge instances, their drivers and driver configs",
		a.instanceCreate(), a.instanceList(), a.instanceGet(), a.instanceUpdate(), a.instanceDelete(),
		a.instanceRotate(), a.instanceBind(), a.instanceUnbind(), a.instanceBindings(), a.instanceConfig())
}

// tagsFromFlags applies --tag KEY=VALUE and --untag KEY to tags.
func tagsFromFlags(cmd *cobra.Command, tags map[string]string) (map[string]string, bool, error) {
	f := cmd.Flags()
	if !f.Changed("tag") && !f.Changed("untag") {
		return tags, false, nil
	}
	out := maps.Clone(tags)
	if out == nil {
		out = map[string]string{}
	}
	set, _ := f.GetStringArray("tag")
	for _, t := range set {
		k, v, ok := strings.Cut(t, "=")
		if !ok || k == "" {
			return nil, false, usagef(cmd, "--tag %q: want KEY=VALUE", t)
		}
		out[k] = v
	}
	unset, _ := f.GetStringArray("untag")
	for _, k := range unset {
		delete(out, k)
	}
	return out, true, nil
}

func (a *app) instanceCreate() *cobra.Command {
	cmd := a.leaf("create NAME [--description D] [--tag KEY=VALUE]... [--secret-file FILE]", "Create an edge instance; prints its gateway secret once", exactArgs("NAME"),
		func(cmd *cobra.Command, c *client.Client, args []string) error {
			in := driverhub.InstanceInput{Name: &args[0]}
			if cmd.Flags().Changed("description") {
				d, _ := cmd.Flags().GetString("description")
				in.Description = &d
			}
			tags, changed, err := tagsFromFlags(cmd, nil)
			if err != nil {
				return err
			}
			if changed {
				in.Tags = &tags
			}
			secretFile, err := secretFileFlag(cmd)
			if err != nil {
				return err
			}
			i, err := c.CreateInstance(cmd.Context(), in)
			if err != nil {
				return err
			}
			return renderWithSecret(cmd, i, secretFile)
		})
	cmd.Example = `  driverhub instance create plant-1 --tag site=north --secret-file plant-1.secret
  driverhub agent --server http://127.0.0.1:8080 --secret-file plant-1.secret`
	cmd.Flags().String("description", "", "description, at most 256 bytes")
	cmd.Flags().StringArray("tag", nil, "tag as KEY=VALUE (repeatable)")
	secretFileFlags(cmd)
	addOutputFlag(cmd)
	return cmd
}

// secretFileFlags adds --secret-file to a command whose answer holds a
// gateway secret.
func secretFileFlags(cmd *cobra.Command) {
	cmd.Flags().String("secret-file", "", "write the gateway secret to this new file (mode 0600), for driverhub agent --secret-file, instead of printing it")
}

// secretFileFlag returns --secret-file, checked before anything is
// created: the file must not exist yet (a secret is never overwritten).
func secretFileFlag(cmd *cobra.Command) (string, error) {
	name, _ := cmd.Flags().GetString("secret-file")
	if name == "" {
		return "", nil
	}
	if _, err := os.Lstat(name); err == nil {
		return "", failf("--secret-file %s exists already: choose a new file", name)
	}
	return name, nil
}

// renderWithSecret prints an instance whose answer holds the gateway
// secret, or writes the secret to secretFile and prints the instance
// without it.
func renderWithSecret(cmd *cobra.Command, i *driverhub.Instance, secretFile string) error {
	if secretFile != "" {
		f, err := os.OpenFile(secretFile, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err == nil {
			_, err = fmt.Fprintln(f, i.GatewaySecret)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
		}
		if err != nil {
			return failf("write the gateway secret of %s to %s: %v; rotate it with driverhub instance rotate-secret %s", i.Name, secretFile, err, i.Name)
		}
		notice(cmd, "Wrote the gateway secret of %s to %s (mode 0600): give it to driverhub agent --secret-file.", i.Name, secretFile)
		shown := *i
		shown.GatewaySecret = ""
		return render(cmd, &shown, func(p *printer) { instanceDetail(p, &shown) })
	}
	return render(cmd, i, func(p *printer) {
		instanceDetail(p, i)
		p.kv("Gateway secret", i.GatewaySecret)
		notice(cmd, "Keep the gateway secret now: it is not shown again. Give it to the agent with --secret-file (or DRIVERHUB_GATEWAY_SECRET).")
	})
}

func (a *app) instanceUpdate() *cobra.Command {
	cmd := a.leaf("update NAME [--description D] [--tag KEY=VALUE]... [--untag KEY]...", "Change an instance's description or tags", exactArgs("NAME"),
		func(cmd *cobra.Command, c *client.Client, args []string) error {
			var in driverhub.InstanceInput
			if cmd.Flags().Changed("description") {
				d, _ := cmd.Flags().GetString("description")
				in.Description = &d
			}
			if cmd.Flags().Changed("tag") || cmd.Flags().Changed("untag") {
				cur, err := c.GetInstance(cmd.Context(), args[0])
				if err != nil {
					return err
				}
				tags, _, err := tagsFromFlags(cmd, cur.Tags)
				if err != nil {
					return err
				}
				in.Tags = &tags
			}
			i, err := c.UpdateInstance(cmd.Context(), args[0], in)
			if err != nil {
				return err
			}
			return render(cmd, i, func(p *printer) { instanceDetail(p, i) })
		})
	cmd.Flags().String("description", "", "description, at most 256 bytes")
	cmd.Flags().StringArray("tag", nil, "add or change a tag, KEY=VALUE (repeatable)")
	cmd.Flags().StringArray("untag", nil, "remove a tag (repeatable)")
	addOutputFlag(cmd)
	return cmd
}

func onlineWord(g driverhub.Gateway) string {
	if g.Online {
		return gatewayOnline
	}
	return gatewayOffline
}

func (a *app) instanceList() *cobra.Command {
	cmd := a.leaf("list", "List edge instances", exactArgs(),
		func(cmd *cobra.Command, c *client.Client, _ []string) error {
			l, err := collect(cmd, func(p driverhub.Page) (driverhub.List[*driverhub.Instance], error) {
				return c.ListInstances(cmd.Context(), p)
			})
			if err != nil {
				return err
			}
			return render(cmd, l, func(p *printer) {
				p.header("NAME", "GATEWAY", "EDGE", "ARCH", "DEPLOYMENT", "LAST SEEN", "AGE")
				for _, i := range l.Items {
					seen := "-"
					if i.Gateway.LastSeenAt != nil {
						seen = age(*i.Gateway.LastSeenAt)
					}
					deployment := "-"
					if d := i.CurrentDeployment; d != nil {
						deployment = p.status(d.Status)
					}
					p.row(i.Name, p.status(onlineWord(i.Gateway)), orDash(i.Gateway.EdgeVersion), orDash(i.Gateway.Arch),
						deployment, seen, age(i.CreatedAt))
				}
			})
		})
	cmd.Aliases = []string{"ls"}
	listFlags(cmd)
	return cmd
}

func (a *app) instanceGet() *cobra.Command {
	cmd := a.leaf("get NAME", "Show an instance, its gateway and current deployment", exactArgs("NAME"),
		func(cmd *cobra.Command, c *client.Client, args []string) error {
			i, err := c.GetInstance(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return render(cmd, i, func(p *printer) { instanceDetail(p, i) })
		})
	addOutputFlag(cmd)
	return cmd
}

func instanceDetail(p *printer, i *driverhub.Instance) {
	p.kv("Name", i.Name)
	p.kv("Description", orDash(i.Description))
	keys := slices.Sorted(maps.Keys(i.Tags))
	tags := make([]string, len(keys))
	for n, k := range keys {
		tags[n] = k + "=" + i.Tags[k]
	}
	p.kv("Tags", orDash(strings.Join(tags, ", ")))
	g := i.Gateway
	p.kv("Gateway", p.status(onlineWord(g)))
	p.kv("Last seen", stamp(g.LastSeenAt))
	p.kv("Edge version", orDash(g.EdgeVersion))
	p.kv("Arch", orDash(g.Arch))
	p.kv("Built-in drivers", orDash(strings.Join(g.BuiltinDrivers, ", ")))
	p.kv("Capabilities", capabilitiesSummary(g.Capabilities))
	p.kv("Language runtimes", runtimeVersions(g.RuntimeVersions))
	if d := i.CurrentDeployment; d != nil {
		p.kv("Deployment", p.join(d.ID, " ", string(d.Type), " (", p.status(d.Status), ")"))
	} else {
		p.kv("Deployment", "-")
	}
	p.kv("Created", stamp(&i.CreatedAt))
}

// capabilitiesSummary renders what a gateway said it can enforce.
func capabilitiesSummary(c *driverhub.Capabilities) string {
	if c == nil {
		return "- (not reported yet)"
	}
	isolation := "no: private networks, port and volume mappings are refused"
	if c.Isolation {
		isolation = "yes"
	}
	cgroup := c.Cgroup
	if cgroup == "" {
		cgroup = "none: memory limits by sampling"
	}
	return fmt.Sprintf("runtimes %s; isolation %s; cgroup %s", orDash(strings.Join(c.Runtimes, ", ")), isolation, cgroup)
}

// runtimeVersions renders the language runtimes a gateway found.
func runtimeVersions(v map[driverhub.Runtime]string) string {
	if len(v) == 0 {
		return "-"
	}
	keys := slices.Sorted(maps.Keys(v))
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = string(k) + " " + v[k]
	}
	return strings.Join(parts, ", ")
}

func (a *app) instanceDelete() *cobra.Command {
	return a.leaf("delete NAME", "Delete an instance (it must hold no drivers or devices)", exactArgs("NAME"),
		func(cmd *cobra.Command, c *client.Client, args []string) error {
			if err := c.DeleteInstance(cmd.Context(), args[0]); err != nil {
				return err
			}
			notice(cmd, "Deleted instance %s", args[0])
			return nil
		})
}

func (a *app) instanceRotate() *cobra.Command {
	cmd := a.leaf("rotate-secret NAME", "Replace an instance's gateway secret; prints the new one once", exactArgs("NAME"),
		func(cmd *cobra.Command, c *client.Client, args []string) error {
			secretFile, err := secretFileFlag(cmd)
			if err != nil {
				return err
			}
			i, err := c.RotateGatewaySecret(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return renderWithSecret(cmd, i, secretFile)
		})
	secretFileFlags(cmd)
	addOutputFlag(cmd)
	return cmd
}

func (a *app) instanceConfig() *cobra.Command {
	get := a.leaf("get INSTANCE DRIVER", "Show a bound driver's instance driver config", exactArgs("INSTANCE", "DRIVER"),
		func(cmd *cobra.Command, c *client.Client, args []string) error {
			cfg, err := c.GetBindingConfig(cmd.Context(), args[0], args[1])
			if err != nil {
				return err
			}
			return render(cmd, cfg, func(p *printer) { configDetail(p, cfg) })
		})
	addOutputFlag(get)

	set := a.leaf("set INSTANCE DRIVER (--kv KEY=VALUE... | --json JSON | -f FILE)", "Set a bound driver's instance driver config, overriding the version's default", exactArgs("INSTANCE", "DRIVER"),
		func(cmd *cobra.Command, c *client.Client, args []string) error {
			cfg, err := configFromFlags(cmd, "kv", "json")
			if err != nil {
				return err
			}
			if file, _ := cmd.Flags().GetString("file"); file != "" {
				if cfg != nil {
					return usagef(cmd, "-f excludes --kv and --json")
				}
				cfg = &driverhub.DriverConfig{}
				if err := readInputFile(cmd, file, cfg); err != nil {
					return err
				}
			}
			if cfg == nil {
				return usagef(cmd, "give the config with --kv, --json or -f")
			}
			out, err := c.SetBindingConfig(cmd.Context(), args[0], args[1], *cfg)
			if err != nil {
				return err
			}
			return render(cmd, out, func(p *printer) { configDetail(p, out) })
		})
	set.Flags().StringArray("kv", nil, "a key=value pair of a kv config (repeatable)")
	set.Flags().String("json", "", "a JSON object (or @FILE)")
	set.Flags().StringP("file", "f", "", "a driver config as the API shows it, JSON or YAML (- for stdin)")
	addOutputFlag(set)

	unset := a.leaf("unset INSTANCE DRIVER", "Drop a bound driver's instance driver config: the version's default applies", exactArgs("INSTANCE", "DRIVER"),
		func(cmd *cobra.Command, c *client.Client, args []string) error {
			if err := c.DeleteBindingConfig(cmd.Context(), args[0], args[1]); err != nil {
				return err
			}
			notice(cmd, "Dropped the instance driver config of %s on %s", args[1], args[0])
			return nil
		})

	upload := a.leaf("upload INSTANCE DRIVER FILE [--name NAME]", "Set a bound driver's instance driver config to a file (at most 1 MiB)", exactArgs("INSTANCE", "DRIVER", "FILE"),
		func(cmd *cobra.Command, c *client.Client, args []string) error {
			f, size, name, err := openConfigFile(cmd, args[2])
			if err != nil {
				return err
			}
			defer f.Close()
			out, err := c.UploadBindingConfigFile(cmd.Context(), args[0], args[1], name, f, size)
			if err != nil {
				return err
			}
			return render(cmd, out, func(p *printer) { configDetail(p, out) })
		})
	upload.Flags().String("name", "", "file name on the gateway (default: the file's base name)")
	addOutputFlag(upload)

	cmd := groupify(&cobra.Command{Use: "config", Short: "Get, set, unset or upload a bound driver's instance driver config"})
	cmd.AddCommand(get, set, unset, upload)
	return cmd
}

func configDetail(p *printer, c *driverhub.DriverConfig) {
	p.kv("Format", c.Format)
	switch c.Format {
	case driverhub.ConfigKV:
		p.blank()
		p.header("KEY", "VALUE", "NOTE")
		for _, kv := range c.KV {
			p.row(kv.Key, kv.Value, kv.Note)
		}
	case driverhub.ConfigJSON:
		p.kv("JSON", string(c.JSON))
	case driverhub.ConfigFile:
		if c.File != nil {
			p.kv("File", c.File.Name)
			p.kv("Size", humanBytes(c.File.Size))
			p.kv("SHA-256", c.File.SHA256)
		}
	}
}
