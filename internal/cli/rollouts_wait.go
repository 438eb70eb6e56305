package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/driverhub/driverhub"
	"github.com/driverhub/driverhub/internal/httpapi/client"
)

// How rollouts are shown: the detail view, the event log, targets, and
// create --wait's progress.

// rolloutPollInterval is how often rollout create --wait reads the rollout.
const rolloutPollInterval = time.Second

func rolloutDetail(p *printer, r *rolloutView) {
	p.kv("ID", r.ID)
	p.kv("Name", r.Name)
	driver := r.Driver + " " + r.Version
	if r.Publisher != "" {
		driver += " (" + r.Publisher + ")"
	}
	p.kv("Driver", driver)
	p.kv("State", p.rolloutState(r.State))
	if r.Reason != "" {
		p.kv("Reason", r.Reason)
	}
	if r.Selector != nil {
		sel, _ := json.Marshal(r.Selector)
		p.kv("Selector", string(sel))
	}
	p.kv("Thresholds", fmt.Sprintf("next wave at %d%% succeeded, abort above %d%% failed, wave timeout %s, on abort %s",
		r.SuccessThreshold, r.FailureThreshold, orDash(r.WaveTimeout), r.OnAbort))
	ok, size := rolloutTotals(&r.Rollout)
	p.kv("Progress", fmt.Sprintf("%s %d/%d succeeded, %d failed", bar(ok, r.Counts[driverhub.TargetFailed], size, 20), ok, size, r.Counts[driverhub.TargetFailed]))
	p.kv("Created", stamp(&r.CreatedAt)+" by "+r.CreatedBy)
	p.kv("Finished", stamp(r.FinishedAt))
	p.blank()
	p.header("WAVE", "PERCENT", "SIZE", "STATE", "SUCCEEDED", "FAILED", "PENDING", "ROLLED BACK", "")
	for _, w := range r.Waves {
		current := ""
		if w.Number == r.Wave && r.State.Active() {
			current = "← current"
		}
		p.row(strconv.Itoa(w.Number), strconv.Itoa(w.Percent)+"%", strconv.Itoa(w.Size), p.waveState(w.State), strconv.Itoa(w.Succeeded),
			strconv.Itoa(w.Failed), strconv.Itoa(w.Pending), strconv.Itoa(w.RolledBack), current)
	}
	p.blank()
	var counts []string
	for _, st := range driverhub.AllTargetStates {
		if n := r.Counts[st]; n > 0 {
			counts = append(counts, fmt.Sprintf("%s %d", st, n))
		}
	}
	p.kv("Targets", orDash(strings.Join(counts, ", ")))
}

func rolloutEvents(p *printer, r *rolloutView) {
	if len(r.Events) == 0 {
		return
	}
	p.blank()
	p.header("TIME", "EVENT", "WAVE", "MESSAGE")
	for _, e := range r.Events {
		wave := ""
		if e.Wave > 0 {
			wave = strconv.Itoa(e.Wave)
		}
		p.row(e.Time.UTC().Format(time.RFC3339), string(e.Type), wave, e.Message)
	}
}

func targetTable(p *printer, targets []*driverhub.RolloutTarget) {
	p.header("INSTANCE", "WAVE", "STATE", "DEPLOYMENT", "PROBLEMS")
	for _, t := range targets {
		var problems []string
		for _, pr := range t.Problems {
			problems = append(problems, string(pr.Code)+": "+pr.Message)
		}
		wave := "-"
		if t.Wave > 0 {
			wave = strconv.Itoa(t.Wave)
		}
		p.row(t.Instance, wave, p.targetState(t.State), orDash(t.DeploymentID), orDash(strings.Join(problems, "; ")))
	}
}

// rolloutTotals are the succeeded and the sized targets over every wave.
func rolloutTotals(r *driverhub.Rollout) (succeeded, size int) {
	for _, w := range r.Waves {
		succeeded += w.Succeeded
		size += w.Size
	}
	return succeeded, size
}

// bar draws [####xx------]: succeeded (#) and failed (x) of size.
func bar(ok, failed, size, width int) string {
	if size <= 0 {
		return "[" + strings.Repeat("-", width) + "]"
	}
	o := min(width, ok*width/size)
	f := min(width-o, (failed*width+size-1)/size)
	return "[" + strings.Repeat("#", o) + strings.Repeat("x", f) + strings.Repeat("-", width-o-f) + "]"
}

func (p *printer) rolloutState(s driverhub.RolloutState) string {
	code := map[driverhub.RolloutState]string{driverhub.RolloutSucceeded: "32", driverhub.RolloutAborted: "31",
		driverhub.RolloutRunning: "33", driverhub.RolloutPaused: "33"}[s]
	return p.paint(cmpOr(code, "39"), string(s))
}

func (p *printer) waveState(s driverhub.WaveState) string {
	code := map[driverhub.WaveState]string{driverhub.WaveSucceeded: "32", driverhub.WaveFailed: "31", driverhub.WaveRunning: "33"}[s]
	return p.paint(cmpOr(code, "39"), string(s))
}

func (p *printer) targetState(s driverhub.TargetState) string {
	code := map[driverhub.TargetState]string{driverhub.TargetSucceeded: "32", driverhub.TargetFailed: "31",
		driverhub.TargetPending: "33", driverhub.TargetProcessing: "33"}[s]
	return p.paint(cmpOr(code, "39"), string(s))
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// progressWriter shows a rollout's progress: on a terminal, one line
// redrawn in place (events printed above it); elsewhere, a line for each
// change.
type progressWriter struct {
	w    io.Writer
	bar  bool
	p    *printer
	last string
}

// show prints the events not seen yet and the progress line, if changed.
func (pw *progressWriter) show(r *rolloutView, seen int) int {
	ok, size := rolloutTotals(&r.Rollout)
	failed := r.Counts[driverhub.TargetFailed]
	line := fmt.Sprintf("%s %d/%d succeeded, %d failed · wave %d/%d · %s", bar(ok, failed, size, 30), ok, size, failed,
		r.Wave, len(r.Waves), r.State)
	if pw.bar && seen < len(r.Events) && pw.last != "" {
		fmt.Fprint(pw.w, "\r\x1b[2K") // the events go above the bar
	}
	for _, e := range r.Events[min(seen, len(r.Events)):] {
		fmt.Fprintf(pw.w, "%s %-14s %s\n", e.Time.UTC().Format("15:04:05"), safeText(string(e.Type)), safeText(e.Message))
	}
	switch {
	case pw.bar:
		fmt.Fprint(pw.w, "\r\x1b[2K"+safeText(line))
	case line != pw.last:
		fmt.Fprintln(pw.w, safeText(line))
	}
	pw.last = line
	return len(r.Events)
}

// done ends the progress line on a terminal.
func (pw *progressWriter) done() {
	if pw.bar {
		fmt.Fprintln(pw.w)
	}
}

// waitRollout reads the rollout every second until it ends or timeout
// passes, showing its progress and events.
func waitRollout(ctx context.Context, c *client.Client, r *rolloutView, timeout time.Duration, pw *progressWriter) (*rolloutView, error) {
	fmt.Fprintf(pw.w, "Rollout %s (%s): %s %s to %d targets in %d waves\n", safeText(r.ID), safeText(r.Name),
		safeText(r.Driver), safeText(r.Version), sizeOf(r), len(r.Waves))
	seen := pw.show(r, 0)
	defer pw.done()
	r, err := follow(ctx, r, following[*rolloutView]{
		every: rolloutPollInterval, timeout: timeout,
		get: func(ctx context.Context) (*rolloutView, error) {
			return rolloutCall(ctx, c, "GET", rolloutPath(r.ID), nil)
		},
		ended: func(r *rolloutView) bool { return !r.State.Active() },
		show:  func(r *rolloutView) { seen = pw.show(r, seen) },
		gaveUp: func(r *rolloutView, timedOut bool, lastErr error) error {
			if !timedOut {
				return &ExitError{Code: 130, Err: fmt.Errorf("interrupted; rollout %s goes on without us (state %s)", r.ID, r.State)}
			}
			return failf("timeout: rollout %s did not end within %s; it is still %s and goes on%s", r.ID, timeout, r.State, lastErrorHint(lastErr))
		},
	})
	if err != nil {
		return r, err
	}
	return r, rolloutOutcome(r)
}

func sizeOf(r *rolloutView) int {
	_, size := rolloutTotals(&r.Rollout)
	return size
}

// rolloutOutcome is nil for a rollout that succeeded, else an error saying
// how it ended.
func rolloutOutcome(r *rolloutView) error {
	if r.State == driverhub.RolloutSucceeded {
		return nil
	}
	reason := ""
	if r.Reason != "" {
		reason = ": " + r.Reason
	}
	return failf("rollout %s %s%s (see driverhub rollout get %s)", r.ID, r.State, reason, r.ID)
}
