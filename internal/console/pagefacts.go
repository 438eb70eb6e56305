package console

import (
	"net/http"
	"strconv"

	"github.com/driverhub/driverhub"
)

// versionFacts is a version as the partial "versionFacts" shows it: what
// publishing makes permanent, and what a published version's page shows.
type versionFacts struct {
	Driver  *driverhub.Driver
	Version *driverhub.DriverVersion
}

// publishData is the publish confirmation (partial "publishForm"), in a
// dialog or on its own page.
type publishData struct {
	ID, Action, CSRF, Back string
	Dialog                 bool
	Facts                  versionFacts
}

// logPane is a driver's recent output (partial "logPane"): the newest
// lines, oldest first, and where to see more.
type logPane struct {
	ID    string
	Lines []driverhub.LogLine
	More  string // a link to more lines; "" when these are all
}

// factFuncs are the template functions of the partials in facts.html.
var factFuncs = map[string]any{
	"vfacts": func(d *driverhub.Driver, v *driverhub.DriverVersion) versionFacts { return versionFacts{d, v} },
	"publishdlg": func(id, csrf string, d *driverhub.Driver, v *driverhub.DriverVersion) publishData {
		base := "/drivers/" + esc(d.Name) + "/versions/" + esc(v.Version)
		return publishData{ID: id, Action: base + "/publish", CSRF: csrf, Dialog: true, Facts: versionFacts{d, v}}
	},
	"runtimever": func(versions map[driverhub.Runtime][]string, rt driverhub.Runtime) []string { return versions[rt] },
}

// logTail reads what a log pane asks for: ?tail=N lines, by default
// driverhub.DefaultLogTail, at most the ring the server keeps.
func logTail(s string) int {
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		return driverhub.DefaultLogTail
	}
	return min(n, driverhub.DriverLogRing)
}

// moreLines is the next, larger tail to offer after showing tail lines.
func moreLines(tail int) int { return min(tail*5, driverhub.DriverLogRing) }

// recentLogs reads a bound driver's newest tail lines for a log pane,
// asking for one more to know whether older lines exist.
func (c *Console) recentLogs(r *http.Request, instance, driver string, tail int, id string) (logPane, error) {
	lines, err := c.instances.DriverLogs(r.Context(), instance, driver, min(tail+1, driverhub.DriverLogRing))
	if err != nil {
		return logPane{}, err
	}
	p := logPane{ID: id, Lines: lines}
	if len(lines) > tail {
		p.Lines = lines[len(lines)-tail:]
		p.More = "/instances/" + esc(instance) + "/drivers/" + esc(driver) + "?tail=" + strconv.Itoa(moreLines(tail)) + "#logs"
	}
	return p, nil
}
