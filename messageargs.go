package driverhub

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
)

// A message kept in storage (a rollout's events and reason, its targets'
// problems) keeps its format and arguments, so that a console shows it
// later in its reader's language. The console translates an argument by
// its Go type (a Word, a TargetState…), so each stored argument records
// its kind and comes back as the same type: strings as strings, integers
// as int, the vocabulary as its type, a Message as a Message. Anything
// else is stored as its fmt.Sprint text and comes back as a string.
//
// The stored form is a JSON array of {"kind": …, "value": …}: value is a
// string, a number (int) or {"format": …, "args": […]} (message).

// argOut is one argument to store: Value is a string, an int64 or a
// messageOut.
type argOut struct {
	Kind  string `json:"kind"`
	Value any    `json:"value"`
}

type messageOut struct {
	Format string   `json:"format"`
	Args   []argOut `json:"args"`
}

// argIn is one argument as read: its value is decoded by its kind.
type argIn struct {
	Kind  string          `json:"kind"`
	Value json.RawMessage `json:"value"`
}

type messageIn struct {
	Format string  `json:"format"`
	Args   []argIn `json:"args"`
}

// maxMessageDepth bounds messages within messages ("aborted: %s" of a
// reason is 2); a deeper one is stored as its text.
const maxMessageDepth = 4

// argKind is a string type of the vocabulary and its stored name.
type argKind struct {
	name  string
	match func(any) (string, bool)
	make  func(string) any
}

func kindOf[T ~string](name string) argKind {
	return argKind{name: name,
		match: func(a any) (string, bool) { v, ok := a.(T); return string(v), ok },
		make:  func(s string) any { return T(s) }}
}

// argKinds are the string types an argument keeps. A kind's name is
// stored: never rename one.
var argKinds = []argKind{
	kindOf[string]("string"), kindOf[Word]("word"), kindOf[Runtime]("runtime"), kindOf[Role]("role"),
	kindOf[Stage]("stage"), kindOf[DriverState]("driver_state"), kindOf[ResourceType]("resource_type"),
	kindOf[DeployType]("deploy_type"), kindOf[DeployStatus]("deploy_status"), kindOf[UploadKind]("upload_kind"),
	kindOf[RolloutState]("rollout_state"), kindOf[TargetState]("target_state"), kindOf[WaveState]("wave_state"),
	kindOf[OnAbort]("on_abort"), kindOf[RolloutEventType]("rollout_event_type"), kindOf[ProblemCode]("problem_code"),
}

// Argument kinds that are not a string type.
const (
	kindInt     = "int"
	kindMessage = "message"
)

var argKindNamed = func() map[string]argKind {
	m := make(map[string]argKind, len(argKinds))
	for _, k := range argKinds {
		m[k.name] = k
	}
	return m
}()

// MarshalMessageArgs stores the arguments of a message; nil and none are [].
func MarshalMessageArgs(args []any) ([]byte, error) {
	return json.Marshal(encodeArgs(args, 0))
}

// UnmarshalMessageArgs reads arguments MarshalMessageArgs stored; none
// (or empty data) is nil. An argument of a kind it does not know (stored
// by a later version) reads as its value's text; only data that is not a
// JSON array of arguments is an error.
func UnmarshalMessageArgs(data []byte) ([]any, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, nil
	}
	var stored []argIn
	if err := json.Unmarshal(data, &stored); err != nil {
		return nil, fmt.Errorf("message arguments: %w", err)
	}
	return decodeArgs(stored, 0), nil
}

func encodeArgs(args []any, depth int) []argOut {
	out := make([]argOut, len(args))
	for i, a := range args {
		out[i] = encodeArg(a, depth)
	}
	return out
}

func encodeArg(a any, depth int) argOut {
	if m, ok := a.(Message); ok && depth < maxMessageDepth {
		return argOut{kindMessage, messageOut{m.Format, encodeArgs(m.Args, depth+1)}}
	}
	if n, ok := integer(a); ok {
		return argOut{kindInt, n}
	}
	for _, k := range argKinds {
		if s, ok := k.match(a); ok {
			return argOut{k.name, s}
		}
	}
	return argOut{"string", fmt.Sprint(a)}
}

// integer is a of any of Go's integer types (not a named one such as
// time.Duration, whose text says more) that fits an int64.
func integer(a any) (int64, bool) {
	switch v := a.(type) {
	case int:
		return int64(v), true
	case int8:
		return int64(v), true
	case int16:
		return int64(v), true
	case int32:
		return int64(v), true
	case int64:
		return v, true
	case uint:
		return int64(v), uint64(v) <= math.MaxInt64
	case uint8:
		return int64(v), true
	case uint16:
		return int64(v), true
	case uint32:
		return int64(v), true
	case uint64:
		return int64(v), v <= math.MaxInt64
	}
	return 0, false
}

func decodeArgs(stored []argIn, depth int) []any {
	if len(stored) == 0 {
		return nil
	}
	out := make([]any, len(stored))
	for i, s := range stored {
		out[i] = decodeArg(s, depth)
	}
	return out
}

func decodeArg(s argIn, depth int) any {
	switch s.Kind {
	case kindInt:
		var n int
		if json.Unmarshal(s.Value, &n) == nil {
			return n
		}
	case kindMessage:
		var m messageIn
		if depth < maxMessageDepth && json.Unmarshal(s.Value, &m) == nil {
			return Message{Format: m.Format, Args: decodeArgs(m.Args, depth+1)}
		}
	default:
		var str string
		if k, ok := argKindNamed[s.Kind]; ok && json.Unmarshal(s.Value, &str) == nil {
			return k.make(str)
		}
	}
	return valueText(s.Value)
}

// valueText is the text of a value read in no kind it knows: a string's
// own, or the JSON as written.
func valueText(v json.RawMessage) string {
	var str string
	if json.Unmarshal(v, &str) == nil {
		return str
	}
	return string(v)
}
