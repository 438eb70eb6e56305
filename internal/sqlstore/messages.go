package sqlstore

import (
	"encoding/json"
	"fmt"

	"github.com/driverhub/driverhub"
)

// Messages a rollout keeps (its reason, its events, its targets'
// problems) are stored with their format and arguments, the arguments
// typed (driverhub.MarshalMessageArgs), so that a console shows them in
// its reader's language however long ago they were made.

// argsToDB is a message's arguments as stored: "[]" for none.
func argsToDB(args []any) (string, error) {
	b, err := driverhub.MarshalMessageArgs(args)
	return string(b), err
}

// argsFromDB reads stored arguments; "[]" and "" are none (nil).
func argsFromDB(s string) ([]any, error) {
	return driverhub.UnmarshalMessageArgs([]byte(s))
}

// storedProblem is a Problem as stored in rollout_targets.problems: its
// API fields, and its format and arguments when it has them. Rows written
// before them hold the API fields only, and read as problems without a
// format (shown in English).
type storedProblem struct {
	Resource string                `json:"resource,omitempty"`
	Code     driverhub.ProblemCode `json:"code"`
	Message  string                `json:"message"`
	Field    string                `json:"field,omitempty"`
	Format   string                `json:"format,omitempty"`
	Args     json.RawMessage       `json:"args,omitempty"`
}

func problemsJSON(ps []driverhub.Problem) (string, error) {
	out := make([]storedProblem, len(ps))
	for i, p := range ps {
		out[i] = storedProblem{Resource: p.Resource, Code: p.Code, Message: p.Message, Field: p.Field, Format: p.Format}
		if len(p.Args) > 0 {
			args, err := driverhub.MarshalMessageArgs(p.Args)
			if err != nil {
				return "", fmt.Errorf("problem %q: %w", p.Message, err)
			}
			out[i].Args = args
		}
	}
	b, err := marshalJSON(out)
	return string(b), err
}

func problemsFromDB(s string) ([]driverhub.Problem, error) {
	var stored []storedProblem
	if err := json.Unmarshal([]byte(s), &stored); err != nil {
		return nil, err
	}
	ps := make([]driverhub.Problem, len(stored))
	for i, p := range stored {
		args, err := driverhub.UnmarshalMessageArgs(p.Args)
		if err != nil {
			return nil, fmt.Errorf("problem %q: %w", p.Message, err)
		}
		ps[i] = driverhub.Problem{Resource: p.Resource, Code: p.Code, Message: p.Message, Field: p.Field, Format: p.Format, Args: args}
	}
	return ps, nil
}
