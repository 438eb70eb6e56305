package console

import (
	"context"
	"net/http"
	"net/url"
	"slices"

	"github.com/driverhub/driverhub"
)

// Rollouts (SPEC §10): the list, one rollout with its waves as progress
// bars, its targets and events, pause/resume/cancel, and the form that
// creates one (rollouts_form.go).

func (c *Console) rolloutRoutes() {
	c.page("GET /rollouts", c.listRollouts)
	c.page("GET /rollouts/new", c.newRolloutForm)
	c.page("POST /rollouts/new", c.createRollout)
	c.page("GET /rollouts/{id}", c.rolloutPage)
	c.page("POST /rollouts/{id}/pause", c.rolloutAction(driverhub.RolloutService.PauseRollout, "rollout_paused"))
	c.page("POST /rollouts/{id}/resume", c.rolloutAction(driverhub.RolloutService.ResumeRollout, "rollout_resumed"))
	c.page("POST /rollouts/{id}/cancel", c.rolloutAction(driverhub.RolloutService.CancelRollout, "rollout_cancelled"))
}

// canDeploy reports whether the session may start and steer rollouts: the
// service decides, the pages only leave out buttons that would be refused.
func canDeploy(s *session) bool { return s.p.Role.AtLeast(driverhub.RoleDeveloper) }

type rolloutsData struct {
	Items     []rolloutRow
	Next      string
	CanDeploy bool
}

// rolloutRow is a rollout in the list, with its progress over every wave.
type rolloutRow struct {
	*driverhub.Rollout
	Bar                     progressBar
	Succeeded, Failed, Size int
}

func (c *Console) listRollouts(w http.ResponseWriter, r *http.Request, s *session) error {
	l, err := c.rollouts.ListRollouts(r.Context(), driverhub.Page{Cursor: r.URL.Query().Get("cursor")})
	if err != nil {
		return err
	}
	d := rolloutsData{CanDeploy: canDeploy(s)}
	for _, ro := range l.Items {
		row := rolloutRow{Rollout: ro, Bar: overallBar(ro)}
		row.Succeeded, row.Size = rolloutTotals(ro)
		row.Failed = ro.Counts[driverhub.TargetFailed]
		d.Items = append(d.Items, row)
	}
	if l.NextCursor != "" {
		d.Next = url.Values{"cursor": {l.NextCursor}}.Encode()
	}
	c.render(w, r, s, http.StatusOK, "rollouts", view{Title: "rollout.list_title", Nav: "rollouts", Data: d})
	return nil
}

type rolloutData struct {
	Rollout *driverhub.Rollout
	// Reason and Events are the rollout's, in the page's language.
	Reason      string
	Events      []driverhub.RolloutEvent
	WaveTimeout string
	Waves       []waveView
	Bar         progressBar
	// Succeeded, Failed and Size count the targets over every wave.
	Succeeded, Failed, Size int
	// Counts are the target states with at least one target, in order.
	Counts []stateCount
	// Targets is one page of targets, in State ("" all); Next continues it.
	Targets []targetRow
	State   string
	States  []driverhub.TargetState
	Next    string
	// CanAct: the user may pause, resume and cancel (the buttons shown
	// also depend on the rollout's state).
	CanAct bool
	Live   bool
	lang   string
}

type stateCount struct {
	State driverhub.TargetState
	N     int
}

// targetRow is a target with its problems as the page shows them.
type targetRow struct {
	*driverhub.RolloutTarget
	Problems []problemView
}

// problemView is a problem: what its code means, in the page's language
// (the code itself when the console has no words for it), and the
// service's message, translated when the catalogue has its format (the
// store keeps a target's problems with their formats; a gateway's own
// words, and problems stored before formats were, stay as written).
type problemView struct {
	Code, Label, Message string
}

func problemViews(lang string, ps []driverhub.Problem) []problemView {
	if len(ps) == 0 {
		return nil
	}
	local := localize(lang, &driverhub.Error{Problems: ps}).Problems
	out := make([]problemView, len(local))
	for i, p := range local {
		label, ok := Translate(lang, "rollout.problem."+string(p.Code))
		if !ok {
			label = string(p.Code)
		}
		out[i] = problemView{Code: string(p.Code), Label: label, Message: p.Message}
	}
	return out
}

// rolloutTexts are the rollout's reason and events in lang: each made
// from its stored format, when the catalogue has it.
func rolloutTexts(lang string, ro *driverhub.Rollout) (string, []driverhub.RolloutEvent) {
	if lang != "zh-CN" {
		return ro.Reason, ro.Events
	}
	reason := ro.Reason
	if reason != "" {
		reason = localText(lang, ro.ReasonFormat, ro.Reason, ro.ReasonArgs)
	}
	events := slices.Clone(ro.Events)
	for i := range events {
		e := &events[i]
		e.Message = localText(lang, e.Format, e.Message, e.Args)
	}
	return reason, events
}

// waveView is a wave with its progress bar.
type waveView struct {
	driverhub.RolloutWave
	Current bool
	Bar     progressBar
}

// targetsPage is how many targets the rollout page lists at a time.
const targetsPage = 50

// rolloutPage shows a rollout: its waves as progress bars, its counts,
// its targets (filtered by state, paginated) and its events. While the
// rollout is active the page's script swaps its live part every 2 s.
func (c *Console) rolloutPage(w http.ResponseWriter, r *http.Request, s *session) error {
	ctx := r.Context()
	ro, err := c.rollouts.GetRollout(ctx, r.PathValue("id"))
	if err != nil {
		return err
	}
	q := r.URL.Query()
	d := rolloutData{Rollout: ro, WaveTimeout: driverhub.FormatDuration(ro.WaveTimeout), Bar: overallBar(ro),
		State: q.Get("state"), States: driverhub.AllTargetStates, CanAct: canDeploy(s), Live: ro.State.Active(), lang: languageOf(r)}
	d.Succeeded, d.Size = rolloutTotals(ro)
	d.Failed = ro.Counts[driverhub.TargetFailed]
	d.Reason, d.Events = rolloutTexts(d.lang, ro)
	for _, st := range driverhub.AllTargetStates {
		if n := ro.Counts[st]; n > 0 {
			d.Counts = append(d.Counts, stateCount{st, n})
		}
	}
	for _, wv := range ro.Waves {
		d.Waves = append(d.Waves, waveView{RolloutWave: wv, Current: wv.Number == ro.Wave && ro.State.Active(),
			Bar: waveBar(wv, ro.SuccessThreshold)})
	}
	if err := c.rolloutTargets(ctx, &d, q.Get("cursor")); err != nil {
		return err
	}
	c.render(w, r, s, http.StatusOK, "rollout", view{Title: "rollout.title", Nav: "rollouts", Data: d})
	return nil
}

// rolloutTargets reads one page of the rollout's targets in d.State.
func (c *Console) rolloutTargets(ctx context.Context, d *rolloutData, cursor string) error {
	l, err := c.rollouts.ListRolloutTargets(ctx, d.Rollout.ID, driverhub.TargetState(d.State), driverhub.Page{Limit: targetsPage, Cursor: cursor})
	if err != nil {
		return err
	}
	for _, t := range l.Items {
		d.Targets = append(d.Targets, targetRow{RolloutTarget: t, Problems: problemViews(d.lang, t.Problems)})
	}
	if l.NextCursor != "" {
		v := url.Values{"cursor": {l.NextCursor}}
		if d.State != "" {
			v.Set("state", d.State)
		}
		d.Next = v.Encode()
	}
	return nil
}

// rolloutAction pauses, resumes or cancels a rollout and shows it again.
func (c *Console) rolloutAction(act func(driverhub.RolloutService, context.Context, string) (*driverhub.Rollout, error), notice string) handler {
	return func(w http.ResponseWriter, r *http.Request, s *session) error {
		id := r.PathValue("id")
		if _, err := act(c.rollouts, r.Context(), id); err != nil {
			return err
		}
		redirect(w, r, "/rollouts/"+esc(id), notice)
		return nil
	}
}

// progressBar is a stacked bar of target outcomes, drawn as SVG rects
// (the console's CSP allows no inline styles): each segment's X and W are
// percentages of the bar. Marker, when above 0, is a threshold line.
type progressBar struct {
	Segments []barSegment
	Marker   int
}

type barSegment struct {
	Class string
	N     int
	X, W  float64
}

// newBar lays out the counts (class, n) side by side over total.
func newBar(total int, parts ...barSegment) progressBar {
	var b progressBar
	if total <= 0 {
		return b
	}
	x := 0.0
	for _, p := range parts {
		if p.N <= 0 {
			continue
		}
		p.X, p.W = x, 100*float64(p.N)/float64(total)
		x += p.W
		b.Segments = append(b.Segments, p)
	}
	return b
}

// waveBar is a wave's bar: succeeded, failed, rolled back, and the rest
// pending (deploying or waiting), with the success threshold marked.
func waveBar(w driverhub.RolloutWave, success int) progressBar {
	b := newBar(w.Size, barSegment{Class: "seg-succeeded", N: w.Succeeded}, barSegment{Class: "seg-failed", N: w.Failed},
		barSegment{Class: "seg-rolled_back", N: w.RolledBack}, barSegment{Class: "seg-pending", N: w.Pending})
	b.Marker = success
	return b
}

// overallBar is a rollout's bar over every wave.
func overallBar(ro *driverhub.Rollout) progressBar {
	var size, ok, failed, back int
	for _, w := range ro.Waves {
		size += w.Size
		ok += w.Succeeded
		failed += w.Failed
		back += w.RolledBack
	}
	return newBar(size, barSegment{Class: "seg-succeeded", N: ok}, barSegment{Class: "seg-failed", N: failed},
		barSegment{Class: "seg-rolled_back", N: back})
}

// rolloutTotals are the succeeded and the sized targets of a rollout, for
// "n of m succeeded".
func rolloutTotals(ro *driverhub.Rollout) (succeeded, size int) {
	for _, w := range ro.Waves {
		succeeded += w.Succeeded
		size += w.Size
	}
	return succeeded, size
}
