package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/driverhub/driverhub"
	"github.com/driverhub/driverhub/internal/httpapi/client"
)

// Fleet rollouts (SPEC §10): one driver version to many instances, in
// waves. The commands print the API's objects as they come (-o json|yaml)
// and read them for the tables.

// rolloutView is a rollout as the API shows it: the domain's view, whose
// wave_timeout is written by its MarshalJSON only, and the raw object.
type rolloutView struct {
	driverhub.Rollout
	WaveTimeout string `json:"wave_timeout"`
	raw         json.RawMessage
}

func decodeRollout(raw json.RawMessage) (*rolloutView, error) {
	r := &rolloutView{raw: raw}
	if err := json.Unmarshal(raw, r); err != nil {
		return nil, fmt.Errorf("decode the rollout: %w", err)
	}
	return r, nil
}

// rolloutCall sends a request whose answer is one rollout.
func rolloutCall(ctx context.Context, c *client.Client, method, path string, in any) (*rolloutView, error) {
	var raw json.RawMessage
	if err := c.JSON(ctx, method, path, in, &raw); err != nil {
		return nil, err
	}
	return decodeRollout(raw)
}

func rolloutPath(id string, action ...string) string {
	p := "/api/v1/rollouts/" + url.PathEscape(id)
	for _, a := range action {
		p += "/" + a
	}
	return p
}

func (a *app) rolloutCommand() *cobra.Command {
	return a.group("rollout", "Roll a driver version out to many instances, in waves",
		a.rolloutCreate(), a.rolloutList(), a.rolloutGet(), a.rolloutTargets(),
		a.rolloutAction("pause", "Pause a rollout: no new wave starts; deployments under way go on"),
		a.rolloutAction("resume", "Resume a paused rollout"),
		a.rolloutAction("cancel", "Cancel a rollout: no new wave starts; nothing is rolled back"))
}

func (a *app) rolloutCreate() *cobra.Command {
	cmd := a.leaf("create NAME --driver D --version V (--tag K=V ... | --instance I ...)", "Create a rollout, and optionally follow it to its end", exactArgs("NAME"), a.createRollout)
	cmd.Long = `Create a rollout of a published driver version to the instances that have the driver
bound, picked by tags (every --tag must match; --all-instances: every instance) or by name
(--instance, repeated). The targets are split into waves of cumulative percentages; the next
wave starts when --success-threshold % of a wave succeeded, and the rollout aborts when more
than --failure-threshold % of a wave failed (then, with --on-abort rollback, the instances it
changed get their previous version back).

With --wait it follows the rollout until it ends, drawing a progress bar on a terminal (a line
per change otherwise) and printing its events, and exits 0 when it succeeded, 1 when it was
aborted or cancelled or did not end within --timeout (the rollout goes on without us).`
	cmd.Example = `  driverhub rollout create "meter 2 to Shanghai" --driver modbus_meter --version 2.0.0 \
      --tag site=shanghai --waves 1,10,50,100 --success-threshold 95 --failure-threshold 10 --wait`
	f := cmd.Flags()
	f.String("driver", "", "driver to roll out")
	f.String("version", "", "published version to roll out")
	f.String("publisher", "", "publisher of an acquired driver (default: your own)")
	f.StringArray("tag", nil, "select instances with this tag, KEY=VALUE (repeat: every tag must match)")
	f.Bool("all-instances", false, "select every instance (that has the driver bound)")
	f.StringArray("instance", nil, "select this instance by name (repeat, or comma-separated)")
	f.IntSlice("waves", nil, "cumulative percentages of the targets, rising, the last 100 (default 100: one wave)")
	f.Int("success-threshold", driverhub.DefaultSuccessThreshold, "% of a wave that must succeed before the next starts")
	f.Int("failure-threshold", driverhub.DefaultFailureThreshold, "more than this % of a wave failed aborts the rollout")
	f.Duration("wave-timeout", driverhub.DefaultWaveTimeout, "deployments of a wave unfinished this long count as failed")
	f.String("on-abort", string(driverhub.OnAbortRollback), "on abort: rollback (previous versions back) or stop")
	f.Bool("paused", false, "create it paused: nothing starts until resumed")
	f.Bool("wait", false, "follow the rollout until it ends, showing its progress")
	f.Duration("timeout", 2*time.Hour, "with --wait, give up after this long")
	addOutputFlag(cmd)
	a.connectionFlags(cmd)
	return cmd
}

// rolloutInput reads create's flags into the API's input; the server
// checks every field.
func rolloutInput(cmd *cobra.Command, name string) (driverhub.RolloutInput, error) {
	f := cmd.Flags()
	in := driverhub.RolloutInput{Name: name}
	if err := required(cmd, "driver", "version"); err != nil {
		return in, err
	}
	in.Driver, _ = f.GetString("driver")
	in.Version, _ = f.GetString("version")
	in.Publisher, _ = f.GetString("publisher")
	tags, _ := f.GetStringArray("tag")
	all, _ := f.GetBool("all-instances")
	instances, _ := f.GetStringArray("instance")
	switch n := btoi(len(tags) > 0 || all) + btoi(len(instances) > 0); n {
	case 0:
		return in, usagef(cmd, "choose the instances: --tag KEY=VALUE, --all-instances or --instance NAME")
	case 2:
		return in, usagef(cmd, "choose instances either by --tag (or --all-instances) or by --instance, not both")
	}
	if len(instances) > 0 {
		for _, i := range instances {
			in.Selector.Instances = append(in.Selector.Instances, strings.Split(i, ",")...)
		}
	} else {
		in.Selector.Tags = map[string]string{}
		for _, kv := range tags {
			k, v, ok := strings.Cut(kv, "=")
			if !ok {
				return in, usagef(cmd, "--tag %q: want KEY=VALUE", kv)
			}
			in.Selector.Tags[k] = v
		}
	}
	if f.Changed("waves") {
		in.Waves, _ = f.GetIntSlice("waves")
	}
	for _, th := range []struct {
		flag string
		to   **int
	}{{"success-threshold", &in.SuccessThreshold}, {"failure-threshold", &in.FailureThreshold}} {
		if f.Changed(th.flag) {
			n, _ := f.GetInt(th.flag)
			*th.to = &n
		}
	}
	if f.Changed("wave-timeout") {
		d, _ := f.GetDuration("wave-timeout")
		in.WaveTimeout = driverhub.FormatDuration(d)
	}
	onAbort, _ := f.GetString("on-abort")
	in.OnAbort = driverhub.OnAbort(onAbort)
	in.Paused, _ = f.GetBool("paused")
	return in, nil
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

func (a *app) createRollout(cmd *cobra.Command, c *client.Client, args []string) error {
	if _, err := outputOf(cmd); err != nil {
		return err
	}
	in, err := rolloutInput(cmd, args[0])
	if err != nil {
		return err
	}
	wait, _ := cmd.Flags().GetBool("wait")
	timeout, _ := cmd.Flags().GetDuration("timeout")
	if timeout <= 0 {
		return usagef(cmd, "--timeout must be positive")
	}
	r, err := rolloutCall(cmd.Context(), c, http.MethodPost, "/api/v1/rollouts", in)
	if err != nil {
		return err
	}
	if !wait {
		return render(cmd, r.raw, func(p *printer) {
			rolloutDetail(p, r)
			notice(cmd, "Follow it with: driverhub rollout get %s", r.ID)
		})
	}
	// Progress goes to stdout, unless stdout carries JSON or YAML.
	w := cmd.OutOrStdout()
	if machine(cmd) {
		w = cmd.ErrOrStderr()
	}
	pw := &progressWriter{w: w, bar: isTerminal(w), p: &printer{color: useColor(w)}}
	final, err := waitRollout(cmd.Context(), c, r, timeout, pw)
	if final != nil && machine(cmd) {
		if rerr := render(cmd, final.raw, nil); rerr != nil {
			return rerr
		}
	}
	return err
}

func (a *app) rolloutList() *cobra.Command {
	cmd := a.leaf("list", "List rollouts, newest first", exactArgs(),
		func(cmd *cobra.Command, c *client.Client, _ []string) error {
			l, err := collect(cmd, func(p driverhub.Page) (driverhub.List[json.RawMessage], error) {
				var page driverhub.List[json.RawMessage]
				err := c.JSON(cmd.Context(), http.MethodGet, "/api/v1/rollouts"+pageQuery(p), nil, &page)
				return page, err
			})
			if err != nil {
				return err
			}
			return render(cmd, l, func(p *printer) {
				p.header("ID", "NAME", "DRIVER", "VERSION", "STATE", "WAVE", "SUCCEEDED", "FAILED", "AGE")
				for _, raw := range l.Items {
					r, err := decodeRollout(raw)
					if err != nil {
						continue
					}
					ok, size := rolloutTotals(&r.Rollout)
					p.row(r.ID, r.Name, r.Driver, r.Version, p.rolloutState(r.State), fmt.Sprintf("%d/%d", r.Wave, len(r.Waves)),
						fmt.Sprintf("%d/%d", ok, size), strconv.Itoa(r.Counts[driverhub.TargetFailed]), age(r.CreatedAt))
				}
			})
		})
	cmd.Aliases = []string{"ls"}
	listFlags(cmd)
	return cmd
}

func pageQuery(p driverhub.Page) string {
	q := url.Values{}
	if p.Limit > 0 {
		q.Set("limit", strconv.Itoa(p.Limit))
	}
	if p.Cursor != "" {
		q.Set("cursor", p.Cursor)
	}
	if len(q) == 0 {
		return ""
	}
	return "?" + q.Encode()
}

// findRollout reads a rollout by ID, or else by name: the newest of that
// name (saying so when several have it).
func findRollout(cmd *cobra.Command, c *client.Client, idOrName string) (*rolloutView, error) {
	r, err := rolloutCall(cmd.Context(), c, http.MethodGet, rolloutPath(idOrName), nil)
	if err == nil || !client.IsNotFound(err) {
		return r, err
	}
	var found []string
	cursor := ""
	for {
		var page driverhub.List[*rolloutView]
		if lerr := c.JSON(cmd.Context(), http.MethodGet, "/api/v1/rollouts"+pageQuery(driverhub.Page{Limit: driverhub.MaxPageLimit, Cursor: cursor}), nil, &page); lerr != nil {
			return nil, lerr
		}
		for _, it := range page.Items {
			if it.Name == idOrName {
				found = append(found, it.ID)
			}
		}
		if cursor = page.NextCursor; cursor == "" {
			break
		}
	}
	switch len(found) {
	case 0:
		return nil, err // the server's not_found, naming the rollout
	case 1:
	default:
		notice(cmd, "%d rollouts are named %q; this is the newest, %s (others: %s)", len(found), idOrName, found[0], strings.Join(found[1:], ", "))
	}
	return rolloutCall(cmd.Context(), c, http.MethodGet, rolloutPath(found[0]), nil)
}

// failedShown is how many failed targets rollout get lists.
const failedShown = 20

func (a *app) rolloutGet() *cobra.Command {
	cmd := a.leaf("get ID|NAME", "Show a rollout: waves, counts, events and the failed targets with their reasons", exactArgs("ID|NAME"),
		func(cmd *cobra.Command, c *client.Client, args []string) error {
			r, err := findRollout(cmd, c, args[0])
			if err != nil {
				return err
			}
			if machine(cmd) {
				return render(cmd, r.raw, nil)
			}
			var failed driverhub.List[*driverhub.RolloutTarget]
			if r.Counts[driverhub.TargetFailed] > 0 {
				path := rolloutPath(r.ID, "targets") + "?state=failed&limit=" + strconv.Itoa(failedShown)
				if err := c.JSON(cmd.Context(), http.MethodGet, path, nil, &failed); err != nil {
					return err
				}
			}
			return render(cmd, r.raw, func(p *printer) {
				rolloutDetail(p, r)
				rolloutEvents(p, r)
				if len(failed.Items) > 0 {
					p.blank()
					targetTable(p, failed.Items)
					if n := r.Counts[driverhub.TargetFailed]; n > len(failed.Items) {
						notice(cmd, "%d more failed targets: driverhub rollout targets %s --state failed", n-len(failed.Items), r.ID)
					}
				}
			})
		})
	addOutputFlag(cmd)
	return cmd
}

func (a *app) rolloutTargets() *cobra.Command {
	cmd := a.leaf("targets ID|NAME [--state STATE]", "List a rollout's targets, with why each failed or was skipped", exactArgs("ID|NAME"),
		func(cmd *cobra.Command, c *client.Client, args []string) error {
			state, _ := cmd.Flags().GetString("state")
			r, err := findRollout(cmd, c, args[0])
			if err != nil {
				return err
			}
			l, err := collect(cmd, func(p driverhub.Page) (driverhub.List[*driverhub.RolloutTarget], error) {
				var page driverhub.List[*driverhub.RolloutTarget]
				q := url.Values{"state": {state}}
				if p.Limit > 0 {
					q.Set("limit", strconv.Itoa(p.Limit))
				}
				if p.Cursor != "" {
					q.Set("cursor", p.Cursor)
				}
				if state == "" {
					q.Del("state")
				}
				err := c.JSON(cmd.Context(), http.MethodGet, rolloutPath(r.ID, "targets")+"?"+q.Encode(), nil, &page)
				return page, err
			})
			if err != nil {
				return err
			}
			return render(cmd, l, func(p *printer) { targetTable(p, l.Items) })
		})
	cmd.Flags().String("state", "", "only targets in this state: "+driverhub.Words(driverhub.AllTargetStates))
	listFlags(cmd)
	return cmd
}

func (a *app) rolloutAction(action, short string) *cobra.Command {
	cmd := a.leaf(action+" ID|NAME", short, exactArgs("ID|NAME"),
		func(cmd *cobra.Command, c *client.Client, args []string) error {
			if _, err := outputOf(cmd); err != nil {
				return err
			}
			found, err := findRollout(cmd, c, args[0])
			if err != nil {
				return err
			}
			r, err := rolloutCall(cmd.Context(), c, http.MethodPost, rolloutPath(found.ID, action), nil)
			if err != nil {
				return err
			}
			return render(cmd, r.raw, func(p *printer) { rolloutDetail(p, r) })
		})
	addOutputFlag(cmd)
	return cmd
}
