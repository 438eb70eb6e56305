package console

import (
	"fmt"
	"slices"
	"strings"

	"github.com/driverhub/driverhub"
)

// The services write their messages in English and keep the format and
// its arguments (driverhub.Error.Format, Args). The console shows them in
// the page's language: the format looked up in serviceMessages and applied
// to the arguments, the vocabulary among them (runtimes, roles, states,
// words such as "driver") translated too.

// localize returns e as the page shows it in lang; e itself is not
// changed (services may return shared errors). A message whose format is
// not in the catalogue stays English.
func localize(lang string, e *driverhub.Error) *driverhub.Error {
	if e == nil || lang != "zh-CN" {
		return e
	}
	out := *e
	out.Message = localText(lang, e.Format, e.Message, e.Args)
	if len(e.Problems) > 0 {
		out.Problems = slices.Clone(e.Problems)
		for i := range out.Problems {
			p := &out.Problems[i]
			p.Message = localText(lang, p.Format, p.Message, p.Args)
		}
	}
	return &out
}

// localText is a message in lang: its format translated and applied to
// the translated arguments. A message made without a format (a constant
// text) is looked up as it is.
func localText(lang, format, message string, args []any) string {
	key := format
	if key == "" {
		key = message
	}
	zh, ok := serviceMessages[key]
	if !ok {
		return message
	}
	if format == "" {
		return zh
	}
	local := make([]any, len(args))
	for i, a := range args {
		local[i] = localArg(lang, a)
	}
	return fmt.Sprintf(zh, local...)
}

// localArg translates an argument that is a word of the vocabulary; any
// other argument (a name, a number) is shown as it is.
func localArg(lang string, a any) any {
	var key string
	switch v := a.(type) {
	case driverhub.Word:
		if zh, ok := serviceMessages[string(v)]; ok {
			return zh
		}
		return string(v)
	case driverhub.Message: // a message within a message: "aborted: %s" of a reason
		return localText(lang, v.Format, v.String(), v.Args)
	case driverhub.Runtime:
		key = "runtime." + string(v)
	case driverhub.Role:
		key = "role." + string(v)
	case driverhub.DriverState:
		key = "state." + string(v)
	case driverhub.Stage:
		key = "stage." + string(v)
	case driverhub.ResourceType:
		key = "resource." + string(v)
	case driverhub.DeployType:
		key = "deploy.type." + string(v)
	case driverhub.DeployStatus:
		key = "deploy.status." + string(v)
	case driverhub.UploadKind:
		key = "upload.kind." + string(v)
	case driverhub.RolloutState:
		key = "rollout.state." + string(v)
	case driverhub.TargetState:
		key = "target.state." + string(v)
	default:
		return a
	}
	if s, ok := Translate(lang, key); ok {
		return s
	}
	return fmt.Sprint(a)
}

// fieldLabel names a request field in lang for people: each segment of
// its path ("container.port_mappings[0].host_port") by its label on the
// forms, rows numbered from 1. Segments without a label (tag and JSON
// keys) stay as they are; English keeps the path.
func fieldLabel(lang, field string) string {
	if lang != "zh-CN" || field == "" {
		return field
	}
	parts := strings.Split(field, ".")
	for i, part := range parts {
		name, index, hasIndex := strings.Cut(part, "[")
		if label, ok := fieldLabels[name]; ok {
			name = label
		}
		var n int
		if _, err := fmt.Sscanf(index, "%d]", &n); hasIndex && err == nil && strings.HasSuffix(index, "]") {
			name += fmt.Sprintf(fieldRow, n+1)
		} else if hasIndex {
			name += "[" + index
		}
		parts[i] = name
	}
	return strings.Join(parts, " › ")
}
