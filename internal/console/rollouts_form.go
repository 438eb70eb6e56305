package console

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/driverhub/driverhub"
)

// rolloutForm is the form that creates a rollout, as typed: a refused
// submit shows it again with each problem beside its field.
type rolloutForm struct {
	Name, Driver, Publisher, Version string
	// By is "tags" or "instances"; Selector holds key=value lines or names.
	By, Selector         string
	Waves                string
	Success, Failure     string
	WaveTimeout, OnAbort string
	Paused               bool
	OnAborts             []driverhub.OnAbort
	Errs                 map[string]string
}

// Selector kinds of the form.
const (
	byTags      = "tags"
	byInstances = "instances"
)

// newRolloutForm starts from the defaults, with the driver and version of
// the page that led here ("Roll out" on a version).
func newRolloutForm(r *http.Request) *rolloutForm {
	q := r.URL.Query()
	return &rolloutForm{Driver: q.Get("driver"), Publisher: q.Get("publisher"), Version: q.Get("version"), By: byTags,
		Waves: "1, 10, 50, 100", Success: strconv.Itoa(driverhub.DefaultSuccessThreshold),
		Failure: strconv.Itoa(driverhub.DefaultFailureThreshold), WaveTimeout: driverhub.FormatDuration(driverhub.DefaultWaveTimeout),
		OnAbort: string(driverhub.OnAbortRollback), OnAborts: driverhub.AllOnAbort, Errs: map[string]string{}}
}

func (c *Console) newRolloutForm(w http.ResponseWriter, r *http.Request, s *session) error {
	c.renderRolloutForm(w, r, s, http.StatusOK, newRolloutForm(r), nil)
	return nil
}

func (c *Console) renderRolloutForm(w http.ResponseWriter, r *http.Request, s *session, status int, f *rolloutForm, e *driverhub.Error) {
	c.render(w, r, s, status, "rollout_form", view{Title: "rollout.form_title", Nav: "rollouts", Err: e, Data: f})
}

// createRollout creates a rollout from the form. What the form itself
// cannot read (a number that is not one, a tag line without '=') is shown
// with the domain's own checks of the other fields, all at once, without
// calling the service; otherwise the service's answer is shown.
func (c *Console) createRollout(w http.ResponseWriter, r *http.Request, s *session) error {
	lang := languageOf(r)
	pf := r.PostForm
	f := &rolloutForm{Name: pf.Get("name"), Driver: strings.TrimSpace(pf.Get("driver")), Publisher: strings.TrimSpace(pf.Get("publisher")),
		Version: strings.TrimSpace(pf.Get("version")), By: pf.Get("by"), Selector: pf.Get("selector"), Waves: pf.Get("waves"),
		Success: pf.Get("success_threshold"), Failure: pf.Get("failure_threshold"), WaveTimeout: strings.TrimSpace(pf.Get("wave_timeout")),
		OnAbort: pf.Get("on_abort"), Paused: pf.Get("paused") != "", OnAborts: driverhub.AllOnAbort, Errs: map[string]string{}}
	if f.By != byInstances {
		f.By = byTags
	}
	in, unread := f.input(lang)
	var err error
	if len(unread) > 0 {
		problems := append(unread, in.Check()...)
		err = driverhub.JoinProblems(asProblems(problems))
	} else {
		var ro *driverhub.Rollout
		if ro, err = c.rollouts.CreateRollout(r.Context(), in); err == nil {
			redirect(w, r, "/rollouts/"+esc(ro.ID), "rollout_created")
			return nil
		}
	}
	e := c.publicError(r, err)
	f.setErrors(e)
	c.renderRolloutForm(w, r, s, statusOf(e), f, e)
	return nil
}

// input turns the form into the service's input, and returns the fields
// it could not read, in the page's language.
func (f *rolloutForm) input(lang string) (driverhub.RolloutInput, driverhub.FieldErrors) {
	in := driverhub.RolloutInput{Name: f.Name, Driver: f.Driver, Publisher: f.Publisher, Version: f.Version,
		WaveTimeout: f.WaveTimeout, OnAbort: driverhub.OnAbort(f.OnAbort), Paused: f.Paused}
	var unread driverhub.FieldErrors
	if f.By == byInstances {
		in.Selector.Instances = strings.FieldsFunc(f.Selector, func(r rune) bool { return r == ',' || r == '\n' || r == '\r' || r == ' ' || r == '\t' })
		if in.Selector.Instances == nil {
			in.Selector.Instances = []string{}
		}
	} else if tags, err := parseTags(lang, f.Selector); err != nil {
		unread.Add(driverhub.Invalid("selector", "%s", firstLine(err)))
	} else {
		in.Selector.Tags = tags
	}
	if strings.TrimSpace(f.Waves) != "" {
		for _, part := range strings.Split(f.Waves, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(part))
			if err != nil {
				unread.Add(driverhub.Invalid("waves", "%s: %q", text(lang, "form.whole_number"), strings.TrimSpace(part)))
				in.Waves = nil
				break
			}
			in.Waves = append(in.Waves, n)
		}
	}
	for _, th := range []struct {
		field, value string
		to           **int
	}{{"success_threshold", f.Success, &in.SuccessThreshold}, {"failure_threshold", f.Failure, &in.FailureThreshold}} {
		if v := strings.TrimSpace(th.value); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil {
				unread.Add(driverhub.Invalid(th.field, "%s: %q", text(lang, "form.whole_number"), v))
				continue
			}
			*th.to = &n
		}
	}
	return in, unread
}

// firstLine is the message of a parse error (parseTags names its field tags).
func firstLine(err error) string {
	if e, ok := driverhub.AsError(err); ok {
		return e.Message
	}
	return err.Error()
}

func asProblems(errs driverhub.FieldErrors) []driverhub.Problem {
	ps := make([]driverhub.Problem, 0, len(errs))
	for _, e := range errs {
		ps = append(ps, e.Problem("rollout"))
	}
	return ps
}

// setErrors puts each field problem of e beside its field on the form, the
// first of a field winning: selector.tags.x and selector.instances[2] at
// the selector, waves[1] at the waves.
func (f *rolloutForm) setErrors(e *driverhub.Error) {
	problems := e.Problems
	if len(problems) == 0 && e.Field != "" {
		problems = []driverhub.Problem{{Field: e.Field, Message: e.Message}}
	}
	for _, p := range problems {
		if p.Field == "" {
			continue
		}
		k := rolloutFormField(p.Field)
		if _, seen := f.Errs[k]; !seen {
			f.Errs[k] = p.Message
		}
	}
}

func rolloutFormField(field string) string {
	root, _, _ := strings.Cut(field, ".")
	root, _, _ = strings.Cut(root, "[")
	return root
}
