package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/driverhub/driverhub"
	"github.com/driverhub/driverhub/internal/httpapi/client"
)

// pollInterval is how often deploy --wait reads the deployment.
const pollInterval = 500 * time.Millisecond

func (a *app) deployCommand() *cobra.Command {
	cmd := a.leaf("deploy INSTANCE [--reset] [--wait] [--timeout D]", "Deploy an instance to its gateway, and optionally wait for the result", exactArgs("INSTANCE"), a.deploy)
	cmd.Long = `Deploy snapshots the instance's drivers, configs and devices and sends them to its
gateway (or, with --reset, removes everything from the gateway).

With --wait it shows each resource's stage as the gateway reports it and exits 0 when the
deployment succeeded, 1 when it failed, was superseded by a newer deployment, was closed,
or did not finish within --timeout.`
	cmd.Example = "  driverhub deploy line-3 --wait --timeout 5m"
	cmd.Flags().Bool("reset", false, "remove every driver from the gateway instead")
	cmd.Flags().Bool("wait", false, "wait until the gateway finishes, showing its progress")
	cmd.Flags().Duration("timeout", 10*time.Minute, "with --wait, give up after this long")
	addOutputFlag(cmd)
	a.connectionFlags(cmd)
	return cmd
}

func (a *app) deploy(cmd *cobra.Command, c *client.Client, args []string) error {
	if _, err := outputOf(cmd); err != nil {
		return err
	}
	typ := driverhub.DeployTypeDeploy
	if reset, _ := cmd.Flags().GetBool("reset"); reset {
		typ = driverhub.DeployTypeReset
	}
	wait, _ := cmd.Flags().GetBool("wait")
	timeout, _ := cmd.Flags().GetDuration("timeout")
	if timeout <= 0 {
		return usagef(cmd, "--timeout must be positive")
	}
	d, err := c.CreateDeployment(cmd.Context(), args[0], typ)
	if err != nil {
		return err
	}
	if !wait {
		return render(cmd, d, func(p *printer) {
			deploymentDetail(p, d)
			notice(cmd, "Follow it with: driverhub deployment get %s %s", args[0], d.ID)
		})
	}
	// Progress goes to stdout, unless stdout carries JSON or YAML.
	progress := cmd.OutOrStdout()
	if machine(cmd) {
		progress = cmd.ErrOrStderr()
	}
	final, err := waitDeployment(cmd.Context(), c, args[0], d, timeout, progress, &printer{color: useColor(progress)})
	if final != nil && machine(cmd) {
		if rerr := render(cmd, final, nil); rerr != nil {
			return rerr
		}
	}
	return err
}

// waitDeployment polls a deployment until it finishes or timeout passes,
// printing every change of its status and its resources' stages, and the
// log lines the gateway adds.
func waitDeployment(ctx context.Context, c *client.Client, instance string, d *driverhub.Deployment, timeout time.Duration, w io.Writer, p *printer) (*driverhub.Deployment, error) {
	fmt.Fprintf(w, "Deployment %s (%s) of %s: %s\n", safeText(d.ID), safeText(string(d.Type)), safeText(instance), p.status(d.Status))
	type seen struct {
		stage  driverhub.Stage
		status driverhub.DeployStatus
		last   *driverhub.LogEntry // the newest log entry printed
	}
	resources := map[string]seen{}
	show := func(d *driverhub.Deployment) {
		for _, r := range d.Resources {
			key := string(r.Type) + "/" + r.Name
			old, known := resources[key]
			if !known || old.stage != r.Stage || old.status != r.Status {
				fmt.Fprintf(w, "  %-14s %-20s %-9s %s\n", safeText(string(r.Type)), safeText(r.Name), safeText(string(r.Stage)), p.status(r.Status))
			}
			for _, e := range unseen(r.Log, old.last) {
				fmt.Fprintf(w, "      %s %s %s: %s\n", e.Time.UTC().Format("15:04:05"), safeText(e.Level), safeText(string(e.Stage)), safeText(e.Message))
			}
			now := seen{r.Stage, r.Status, old.last}
			if n := len(r.Log); n > 0 {
				now.last = &r.Log[n-1]
			}
			resources[key] = now
		}
	}
	show(d)
	status := d.Status
	d, err := follow(ctx, d, following[*driverhub.Deployment]{
		every: pollInterval, timeout: timeout,
		get: func(ctx context.Context) (*driverhub.Deployment, error) {
			return c.GetDeployment(ctx, instance, d.ID)
		},
		ended: (*driverhub.Deployment).Finished,
		// A new status comes before the stages that follow it, a final
		// one after the stages that led to it.
		show: func(d *driverhub.Deployment) {
			if d.Finished() {
				show(d)
			}
			if d.Status != status {
				status = d.Status
				fmt.Fprintf(w, "Deployment %s: %s\n", safeText(d.ID), p.status(d.Status))
			}
			if !d.Finished() {
				show(d)
			}
		},
		gaveUp: func(d *driverhub.Deployment, timedOut bool, lastErr error) error {
			if !timedOut {
				return &ExitError{Code: 130, Err: fmt.Errorf("interrupted; deployment %s goes on without us (status %s)", d.ID, d.Status)}
			}
			hint := ""
			if d.Status == driverhub.DeployPending {
				hint = ": the gateway has not fetched it; is its agent running and online?"
			}
			return failf("timeout: deployment %s did not finish within %s; it is still %s%s%s", d.ID, timeout, d.Status, hint, lastErrorHint(lastErr))
		},
	})
	if err != nil {
		return d, err
	}
	return d, deploymentOutcome(d)
}

// unseen returns the entries of a resource's log after last (every entry
// when last is nil or no longer in the log, which keeps only its newest).
func unseen(log []driverhub.LogEntry, last *driverhub.LogEntry) []driverhub.LogEntry {
	if last == nil {
		return log
	}
	for i := len(log) - 1; i >= 0; i-- {
		e := log[i]
		if e.Time.Equal(last.Time) && e.Message == last.Message && e.Stage == last.Stage && e.Level == last.Level {
			return log[i+1:]
		}
	}
	return log
}

// deploymentOutcome is nil for a deployment that succeeded, else an error
// saying how it ended.
func deploymentOutcome(d *driverhub.Deployment) error {
	reason := ""
	if d.Reason != "" {
		reason = ": " + d.Reason
	}
	switch d.Status {
	case driverhub.DeploySucceeded:
		return nil
	case driverhub.DeployFailed:
		return failf("deployment %s failed%s", d.ID, reason)
	case driverhub.DeploySuperseded:
		return failf("deployment %s was superseded by a newer deployment%s", d.ID, reason)
	case driverhub.DeployClosed:
		return failf("deployment %s was closed%s", d.ID, reason)
	}
	return failf("deployment %s ended %s%s", d.ID, d.Status, reason)
}

func (a *app) deploymentCommand() *cobra.Command {
	list := a.leaf("list INSTANCE", "List an instance's deployments, newest first", exactArgs("INSTANCE"),
		func(cmd *cobra.Command, c *client.Client, args []string) error {
			l, err := collect(cmd, func(p driverhub.Page) (driverhub.List[*driverhub.Deployment], error) {
				return c.ListDeployments(cmd.Context(), args[0], p)
			})
			if err != nil {
				return err
			}
			return render(cmd, l, func(p *printer) {
				p.header("ID", "TYPE", "STATUS", "RESOURCES", "CREATED", "FINISHED")
				for _, d := range l.Items {
					p.row(d.ID, string(d.Type), p.status(d.Status), fmt.Sprint(len(d.Resources)), age(d.CreatedAt), stamp(d.FinishedAt))
				}
			})
		})
	list.Aliases = []string{"ls"}
	listFlags(list)

	get := a.leaf("get INSTANCE ID", "Show a deployment with each resource's stage and log", exactArgs("INSTANCE", "ID"),
		func(cmd *cobra.Command, c *client.Client, args []string) error {
			d, err := c.GetDeployment(cmd.Context(), args[0], args[1])
			if err != nil {
				return err
			}
			return render(cmd, d, func(p *printer) { deploymentDetail(p, d) })
		})
	addOutputFlag(get)

	closeCmd := a.leaf("close INSTANCE ID", "Close an unfinished deployment", exactArgs("INSTANCE", "ID"),
		func(cmd *cobra.Command, c *client.Client, args []string) error {
			d, err := c.CloseDeployment(cmd.Context(), args[0], args[1])
			if err != nil {
				return err
			}
			return render(cmd, d, func(p *printer) { deploymentDetail(p, d) })
		})
	addOutputFlag(closeCmd)

	return a.group("deployment", "List, show and close an instance's deployments", list, get, closeCmd)
}

func deploymentDetail(p *printer, d *driverhub.Deployment) {
	p.kv("ID", d.ID)
	p.kv("Instance", d.Instance)
	p.kv("Type", d.Type)
	p.kv("Status", p.status(d.Status))
	if d.Reason != "" {
		p.kv("Reason", d.Reason)
	}
	p.kv("Created", stamp(&d.CreatedAt))
	p.kv("Started", stamp(d.StartedAt))
	p.kv("Finished", stamp(d.FinishedAt))
	if len(d.Resources) == 0 {
		return
	}
	p.blank()
	p.header("RESOURCE", "NAME", "STAGE", "STATUS", "LAST LOG")
	for _, r := range d.Resources {
		last := "-"
		if n := len(r.Log); n > 0 {
			last = truncate(r.Log[n-1].Message, 60)
		}
		p.row(string(r.Type), r.Name, string(r.Stage), p.status(r.Status), last)
	}
}

func (a *app) logsCommand() *cobra.Command {
	cmd := a.leaf("logs INSTANCE DRIVER [--tail N] [-f]", "Print what a bound driver wrote on its gateway", exactArgs("INSTANCE", "DRIVER"), logs)
	cmd.Flags().Int("tail", driverhub.DefaultLogTail, fmt.Sprintf("lines to show, at most %d", driverhub.DriverLogRing))
	cmd.Flags().BoolP("follow", "f", false, "keep printing new lines, polling every second, until interrupted")
	cmd.Flags().Bool("timestamps", false, "prefix each line with its time and stream")
	addOutputFlag(cmd)
	a.connectionFlags(cmd)
	return cmd
}

func logs(cmd *cobra.Command, c *client.Client, args []string) error {
	format, err := outputOf(cmd)
	if err != nil {
		return err
	}
	tail, _ := cmd.Flags().GetInt("tail")
	follow, _ := cmd.Flags().GetBool("follow")
	stamps, _ := cmd.Flags().GetBool("timestamps")
	if tail < 1 || tail > driverhub.DriverLogRing {
		return usagef(cmd, "--tail must be from 1 to %d", driverhub.DriverLogRing)
	}
	ctx := cmd.Context()
	lines, err := c.DriverLogs(ctx, args[0], args[1], tail)
	if err != nil {
		return err
	}
	w := cmd.OutOrStdout()
	if !follow && format != outTable {
		return render(cmd, map[string]any{"lines": lines}, nil)
	}
	print := func(ls []driverhub.LogLine) error {
		for _, l := range ls {
			var err error
			switch {
			case format != outTable:
				err = writeJSONLine(w, l)
			case stamps:
				_, err = fmt.Fprintf(w, "%s %s %s\n", l.Time.UTC().Format(time.RFC3339Nano), safeText(l.Stream), safeText(l.Text))
			default:
				_, err = fmt.Fprintln(w, safeText(l.Text))
			}
			if err != nil {
				return err
			}
		}
		return nil
	}
	if err := print(lines); err != nil || !follow {
		return err
	}
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil // interrupted: the normal end of -f
		case <-tick.C:
		}
		fresh, err := c.DriverLogs(ctx, args[0], args[1], 200)
		if err == nil && len(fresh) == 200 && overlap(lines, fresh) < 0 {
			fresh, err = c.DriverLogs(ctx, args[0], args[1], driverhub.DriverLogRing)
		}
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			var apiErr *driverhub.Error
			if errors.As(err, &apiErr) && apiErr.Code != driverhub.EInternal {
				return err
			}
			continue // try again next second
		}
		next := newLines(lines, fresh)
		if err := print(next); err != nil {
			return err
		}
		if len(fresh) > 0 {
			lines = fresh
		}
	}
}

// writeJSONLine writes one log line as a line of JSON (with -f -o json).
func writeJSONLine(w io.Writer, l driverhub.LogLine) error {
	return encodeJSON(w, l, "")
}

// overlap returns the index in fresh just past the newest line of prev (the
// newest few lines of prev found in order in fresh), or -1.
func overlap(prev, fresh []driverhub.LogLine) int {
	if len(prev) == 0 {
		return 0
	}
	k := min(len(prev), 8)
	tail := prev[len(prev)-k:]
	for end := len(fresh); end >= k; end-- {
		match := true
		for i := range tail {
			if !sameLine(fresh[end-k+i], tail[i]) {
				match = false
				break
			}
		}
		if match {
			return end
		}
	}
	return -1
}

func sameLine(a, b driverhub.LogLine) bool {
	return a.Time.Equal(b.Time) && a.Stream == b.Stream && a.Text == b.Text
}

// newLines returns the lines of fresh that came after prev: past the
// overlap, or, when the ring moved past everything seen, every line newer
// than the last one printed.
func newLines(prev, fresh []driverhub.LogLine) []driverhub.LogLine {
	if i := overlap(prev, fresh); i >= 0 {
		return fresh[i:]
	}
	last := prev[len(prev)-1].Time
	for i, l := range fresh {
		if l.Time.After(last) {
			return fresh[i:]
		}
	}
	return nil
}
