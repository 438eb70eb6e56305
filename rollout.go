package driverhub

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// A rollout moves one driver to one version on many instances, wave by
// wave, and stops by itself when the fleet says the version is bad
// (SPEC §10). Each target gets an ordinary deployment (SPEC §5).

// RolloutState is where a rollout stands.
type RolloutState string

// Rollout states. Running and paused are active: a paused rollout starts
// no wave but still counts for the overlap rule and still aborts when its
// current wave crosses a threshold.
const (
	RolloutRunning   RolloutState = "running"
	RolloutPaused    RolloutState = "paused"
	RolloutSucceeded RolloutState = "succeeded"
	RolloutAborted   RolloutState = "aborted"
	RolloutCancelled RolloutState = "cancelled"
)

// AllRolloutStates lists every rollout state.
var AllRolloutStates = []RolloutState{RolloutRunning, RolloutPaused, RolloutSucceeded, RolloutAborted, RolloutCancelled}

// Valid reports whether s is one of AllRolloutStates.
func (s RolloutState) Valid() bool { return slices.Contains(AllRolloutStates, s) }

// Active reports whether the rollout may still start waves.
func (s RolloutState) Active() bool { return s == RolloutRunning || s == RolloutPaused }

// TargetState is where one target instance of a rollout stands: waiting
// for its wave, then the status of its deployment, then rolled back; or
// skipped from the start.
type TargetState string

// Target states.
const (
	TargetWaiting    TargetState = "waiting"
	TargetPending    TargetState = "pending"
	TargetProcessing TargetState = "processing"
	TargetSucceeded  TargetState = "succeeded"
	TargetFailed     TargetState = "failed"
	TargetSuperseded TargetState = "superseded"
	TargetRolledBack TargetState = "rolled_back"
	TargetSkipped    TargetState = "skipped"
)

// AllTargetStates lists every target state, in the order a target goes through them.
var AllTargetStates = []TargetState{TargetWaiting, TargetPending, TargetProcessing, TargetSucceeded,
	TargetFailed, TargetSuperseded, TargetRolledBack, TargetSkipped}

// Valid reports whether s is one of AllTargetStates.
func (s TargetState) Valid() bool { return slices.Contains(AllTargetStates, s) }

// InFlight reports whether the target's deployment is not finished yet.
func (s TargetState) InFlight() bool { return s == TargetPending || s == TargetProcessing }

// TargetStateOf is the state of a target whose deployment is in status d.
// A deployment closed by a user counts as superseded: the user took over.
func TargetStateOf(d DeployStatus) TargetState {
	switch d {
	case DeployPending:
		return TargetPending
	case DeployProcessing:
		return TargetProcessing
	case DeploySucceeded:
		return TargetSucceeded
	case DeployFailed:
		return TargetFailed
	}
	return TargetSuperseded
}

// WaveState is where one wave of a rollout stands.
type WaveState string

// Wave states. A wave is stopped when its rollout ended (aborted by
// another wave, or cancelled) before or while it ran.
const (
	WaveWaiting   WaveState = "waiting"
	WaveRunning   WaveState = "running"
	WaveSucceeded WaveState = "succeeded"
	WaveFailed    WaveState = "failed"
	WaveStopped   WaveState = "stopped"
)

// AllWaveStates lists every wave state.
var AllWaveStates = []WaveState{WaveWaiting, WaveRunning, WaveSucceeded, WaveFailed, WaveStopped}

// OnAbort is what a rollout does to its targets when it aborts.
type OnAbort string

// What an abort does: give every target whose binding the rollout changed
// its previous version back and a new deployment, or leave them as they are.
const (
	OnAbortRollback OnAbort = "rollback"
	OnAbortStop     OnAbort = "stop"
)

// AllOnAbort lists the values of on_abort.
var AllOnAbort = []OnAbort{OnAbortRollback, OnAbortStop}

// RolloutEventType names an entry of a rollout's event log.
type RolloutEventType string

// Rollout event types.
const (
	EventCreated       RolloutEventType = "created"
	EventWaveStarted   RolloutEventType = "wave_started"
	EventWaveSucceeded RolloutEventType = "wave_succeeded"
	EventSucceeded     RolloutEventType = "succeeded"
	EventAborted       RolloutEventType = "aborted"
	EventRolledBack    RolloutEventType = "rolled_back"
	EventPaused        RolloutEventType = "paused"
	EventResumed       RolloutEventType = "resumed"
	EventCancelled     RolloutEventType = "cancelled"
)

// AllRolloutEventTypes lists every event type.
var AllRolloutEventTypes = []RolloutEventType{EventCreated, EventWaveStarted, EventWaveSucceeded, EventSucceeded,
	EventAborted, EventRolledBack, EventPaused, EventResumed, EventCancelled}

// Problem codes of rollouts: why nothing would be targeted, why the
// version cannot be rolled out, why a target was skipped or did not
// succeed.
const (
	ProblemNoTargets           ProblemCode = "no_targets"
	ProblemVersionUnpublished  ProblemCode = "version_unpublished"
	ProblemNotBound            ProblemCode = "not_bound"
	ProblemOtherPublisher      ProblemCode = "other_publisher"
	ProblemInstanceMissing     ProblemCode = "instance_missing"
	ProblemDeploymentFailed    ProblemCode = "deployment_failed"
	ProblemDeploymentReplaced  ProblemCode = "deployment_replaced"
	ProblemWaveTimeout         ProblemCode = "wave_timeout"
	ProblemRollbackFailed      ProblemCode = "rollback_failed"
	ProblemRollbackBindingGone ProblemCode = "rollback_binding_changed"
)

// Rollout is a rollout and its progress, as the API shows it.
type Rollout struct {
	ID          string           `json:"id"`
	TenantID    string           `json:"-"`
	Name        string           `json:"name"`
	DriverID    string           `json:"-"`
	Driver      string           `json:"driver"`
	PublisherID string           `json:"-"`
	Publisher   string           `json:"publisher"`
	Version     string           `json:"version"`
	Selector    *RolloutSelector `json:"selector,omitempty"`
	// Percents are the waves as created: cumulative percentages of the targets.
	Percents         []int         `json:"-"`
	Waves            []RolloutWave `json:"waves"`
	SuccessThreshold int           `json:"success_threshold"`
	FailureThreshold int           `json:"failure_threshold"`
	WaveTimeout      time.Duration `json:"-"`
	OnAbort          OnAbort       `json:"on_abort"`
	State            RolloutState  `json:"state"`
	// Wave is the current wave, 1-based; WaveStartedAt is nil until it starts.
	Wave          int        `json:"current_wave"`
	WaveStartedAt *time.Time `json:"wave_started_at"`
	// Rollback is where the rollback of an aborted rollout stands.
	Rollback RollbackState `json:"-"`
	// Reason says why the rollout ended (aborted, cancelled); ReasonFormat
	// and ReasonArgs made it, for a console in another language.
	Reason       string              `json:"reason"`
	ReasonFormat string              `json:"-"`
	ReasonArgs   []any               `json:"-"`
	CreatedBy    string              `json:"created_by"`
	CreatedAt    time.Time           `json:"created_at"`
	UpdatedAt    time.Time           `json:"updated_at"`
	FinishedAt   *time.Time          `json:"finished_at"`
	Counts       map[TargetState]int `json:"counts"`
	Events       []RolloutEvent      `json:"events,omitempty"`
	// Step counts the rollout's writes: a write succeeds only from the step
	// it read, so that replicas take each step once.
	Step int64 `json:"-"`
}

// RollbackState is where the rollback of an aborted rollout stands.
type RollbackState string

// Rollback states: none (not aborted, or on_abort stop), under way, done.
const (
	RollbackNone    RollbackState = ""
	RollbackPending RollbackState = "pending"
	RollbackDone    RollbackState = "done"
)

// SetReason sets why the rollout ended, with what made it ("" none).
func (r *Rollout) SetReason(m Message) {
	r.Reason, r.ReasonFormat, r.ReasonArgs = "", m.Format, m.Args
	if m.Format != "" {
		r.Reason = m.String()
	}
}

// MarshalJSON adds wave_timeout in Go's duration syntax, shortened ("30m").
func (r Rollout) MarshalJSON() ([]byte, error) {
	type plain Rollout
	return json.Marshal(struct {
		plain
		WaveTimeout string `json:"wave_timeout"`
	}{plain(r), FormatDuration(r.WaveTimeout)})
}

// FormatDuration writes d as time.Duration does, without zero units at
// the end: 30m rather than 30m0s, 1h rather than 1h0m0s.
func FormatDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// RolloutWave is one wave of a rollout. Size counts the wave's own targets,
// less those superseded (a user's own deployment took over).
type RolloutWave struct {
	Number     int       `json:"number"`
	Percent    int       `json:"percent"`
	Size       int       `json:"size"`
	State      WaveState `json:"state"`
	Succeeded  int       `json:"succeeded"`
	Failed     int       `json:"failed"`
	Pending    int       `json:"pending"`
	RolledBack int       `json:"rolled_back"`
}

// RolloutTarget is one instance of a rollout.
//
// Once deployed, a target's state is its deployment's status (closed
// reads as superseded): the store records "pending" and reads the status
// of the deployment, so that no gateway report writes to a rollout. A
// state the rollout itself decides (failed by its check or at the wave
// timeout, superseded, rolled back) is recorded and overrides it.
type RolloutTarget struct {
	RolloutID  string `json:"-"`
	InstanceID string `json:"-"`
	Instance   string `json:"instance"`
	// Wave is 1-based; 0 for a skipped target, which is in no wave.
	Wave int `json:"wave"`
	// State is the target's state as read; a write records it.
	State TargetState `json:"state"`
	// Recorded is the state the store holds (State as written).
	Recorded TargetState `json:"-"`
	// DeployStatus and DeployReason are its deployment's, when it has one.
	DeployStatus DeployStatus `json:"-"`
	DeployReason string       `json:"-"`
	DeploymentID string       `json:"deployment_id"`
	Problems     []Problem    `json:"problems"`
	// PreviousVersion is the binding's version before the rollout changed
	// it; "" while it has not.
	PreviousVersion      string `json:"previous_version"`
	RollbackDeploymentID string `json:"rollback_deployment_id"`
	// RollbackRefused: the rollback was tried and did not happen (its
	// problems say why); it is not tried again.
	RollbackRefused bool      `json:"-"`
	UpdatedAt       time.Time `json:"updated_at"`
}

// RolloutEvent is one entry of a rollout's log.
type RolloutEvent struct {
	ID        string           `json:"-"`
	RolloutID string           `json:"-"`
	Time      time.Time        `json:"time"`
	Type      RolloutEventType `json:"type"`
	Wave      int              `json:"wave,omitempty"`
	Message   string           `json:"message"`
	// Format and Args made Message, for a console in another language.
	Format string `json:"-"`
	Args   []any  `json:"-"`
}

// RolloutSelector picks the instances of a rollout: by tags (every tag
// must match; no tags: every instance) or by name. Exactly one is set.
type RolloutSelector struct {
	Tags      map[string]string `json:"tags,omitempty"`
	Instances []string          `json:"instances,omitempty"`
}

// MarshalJSON writes the one field that is set; tags {} selects every instance.
func (s RolloutSelector) MarshalJSON() ([]byte, error) {
	if s.Instances != nil {
		return json.Marshal(struct {
			Instances []string `json:"instances"`
		}{s.Instances})
	}
	tags := s.Tags
	if tags == nil {
		tags = map[string]string{}
	}
	return json.Marshal(struct {
		Tags map[string]string `json:"tags"`
	}{tags})
}

// Matches reports whether an instance with these tags is selected by tags.
func (s RolloutSelector) MatchesTags(tags map[string]string) bool {
	for k, v := range s.Tags {
		if got, ok := tags[k]; !ok || got != v {
			return false
		}
	}
	return true
}

// RolloutInput creates a rollout (SPEC §10); absent fields take their
// defaults (DefaultRolloutWaves, thresholds 100 and 0, DefaultWaveTimeout,
// on_abort rollback).
type RolloutInput struct {
	Name             string          `json:"name"`
	Driver           string          `json:"driver"`
	Publisher        string          `json:"publisher"`
	Version          string          `json:"version"`
	Selector         RolloutSelector `json:"selector"`
	Waves            []int           `json:"waves"`
	SuccessThreshold *int            `json:"success_threshold"`
	FailureThreshold *int            `json:"failure_threshold"`
	WaveTimeout      string          `json:"wave_timeout"`
	OnAbort          OnAbort         `json:"on_abort"`
	Paused           bool            `json:"paused"`
}

// Rollout defaults.
const (
	DefaultSuccessThreshold = 100
	DefaultFailureThreshold = 0
	DefaultWaveTimeout      = time.Hour
)

// DefaultRolloutWaves is one wave of every target.
var DefaultRolloutWaves = []int{100}

// Check returns a problem for every field of the input that is wrong, each
// naming its field.
func (in *RolloutInput) Check() FieldErrors {
	var errs FieldErrors
	if n := utf8.RuneCountInString(in.Name); n == 0 || n > MaxRolloutNameLen {
		errs.Add(Invalid("name", "must be 1-%d characters", MaxRolloutNameLen))
	} else {
		errs.Add(checkText("name", in.Name, textKindLabel))
	}
	if in.Driver == "" {
		errs.Add(Invalid("driver", "is required: the name of the driver to roll out"))
	}
	if in.Version == "" {
		errs.Add(Invalid("version", "is required: the version to roll out"))
	} else {
		errs.Add(ValidateVersionName(in.Version))
	}
	errs.Append(in.Selector.check())
	errs.Append(checkWaves(in.Waves))
	for _, th := range []struct {
		field string
		v     *int
	}{{"success_threshold", in.SuccessThreshold}, {"failure_threshold", in.FailureThreshold}} {
		if th.v != nil && (*th.v < 0 || *th.v > 100) {
			errs.Add(Invalid(th.field, "must be a percentage from 0 to 100, got %d", *th.v))
		}
	}
	if in.WaveTimeout != "" {
		if d, err := time.ParseDuration(in.WaveTimeout); err != nil || d < MinWaveTimeout || d > MaxWaveTimeout {
			errs.Add(Invalid("wave_timeout", "must be a duration from %s to %s, such as 30m or 2h; got %q",
				FormatDuration(MinWaveTimeout), FormatDuration(MaxWaveTimeout), in.WaveTimeout))
		}
	}
	if in.OnAbort != "" && !slices.Contains(AllOnAbort, in.OnAbort) {
		errs.Add(Invalid("on_abort", "must be one of %s", Words(AllOnAbort)))
	}
	return errs
}

func (s *RolloutSelector) check() FieldErrors {
	var errs FieldErrors
	switch {
	case s.Tags != nil && s.Instances != nil:
		errs.Add(Invalid("selector", "must hold either tags or instances, not both"))
	case s.Tags == nil && s.Instances == nil:
		errs.Add(Invalid("selector", `is required: {"tags": {"site": "…"}} or {"instances": ["…", …]}`))
	case s.Tags != nil:
		i := Instance{Name: "x", Tags: s.Tags}
		if err := i.Validate(); err != nil {
			e, _ := AsError(err)
			e.Field = "selector." + e.Field
			errs.Add(e)
		}
	case len(s.Instances) == 0:
		errs.Add(Invalid("selector.instances", "must name at least one instance"))
	case len(s.Instances) > MaxRolloutTargets:
		errs.Add(Invalid("selector.instances", "may name at most %d instances, got %d", MaxRolloutTargets, len(s.Instances)))
	default:
		seen := make(map[string]bool, len(s.Instances))
		for k, name := range s.Instances {
			field := fmt.Sprintf("selector.instances[%d]", k)
			if !instanceNamePattern.MatchString(name) {
				errs.Add(Invalid(field, "must be an instance name: 1-%d letters, digits, '_' or '-'", MaxInstanceNameLen))
				break
			}
			if seen[name] {
				errs.Add(Invalid(field, "names %s a second time", name))
				break
			}
			seen[name] = true
		}
	}
	return errs
}

// checkWaves checks cumulative percentages: 1 to MaxRolloutWaves of them,
// each from 1 to 100, rising, the last 100. nil means the default.
func checkWaves(waves []int) FieldErrors {
	if waves == nil {
		return nil
	}
	if len(waves) == 0 || len(waves) > MaxRolloutWaves {
		return FieldErrors{Invalid("waves", "must list 1-%d cumulative percentages, such as [1, 10, 50, 100]", MaxRolloutWaves)}
	}
	for k, p := range waves {
		field := fmt.Sprintf("waves[%d]", k)
		switch {
		case p < 1 || p > 100:
			return FieldErrors{Invalid(field, "must be a percentage from 1 to 100, got %d", p)}
		case k > 0 && p <= waves[k-1]:
			return FieldErrors{Invalid(field, "must be above the wave before (%d%%): waves are cumulative percentages", waves[k-1])}
		}
	}
	if last := waves[len(waves)-1]; last != 100 {
		return FieldErrors{Invalid(fmt.Sprintf("waves[%d]", len(waves)-1), "must be 100: the last wave reaches every target, got %d", last)}
	}
	return nil
}

// WaveOf is the wave (1-based) of the target at position k (0-based, in
// order of instance name) of n targets: the first wave whose cumulative
// share, ceil(percent·n/100), holds it.
func WaveOf(percents []int, k, n int) int {
	for w, p := range percents {
		if k < (p*n+99)/100 {
			return w + 1
		}
	}
	return len(percents)
}
