package console

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html"
	"html/template"
	"maps"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/driverhub/driverhub"
)

// pageNames are the page templates; each is parsed with the layout and the partials.
var pageNames = []string{"login", "error", "drivers", "driver_form", "driver", "confirm", "market", "market_driver",
	"instances", "secret", "instance", "binding", "deployment", "users", "tokens", "version", "publish",
	"rollouts", "rollout", "rollout_form"}

func (c *Console) parseTemplates() error {
	c.pages = map[string]map[string]*template.Template{}
	for _, lang := range Languages {
		c.pages[lang] = map[string]*template.Template{}
		funcs := c.funcs(lang)
		for _, name := range pageNames {
			t, err := template.New(name).Funcs(funcs).ParseFS(templateFS,
				"templates/layout.html", "templates/partials.html", "templates/facts.html", "templates/signatures.html", "templates/rollout_bar.html", "templates/"+name+".html")
			if err != nil {
				return fmt.Errorf("console: template %s: %w", name, err)
			}
			c.pages[lang][name] = t
		}
	}
	return nil
}

func (c *Console) funcs(lang string) template.FuncMap {
	fm := template.FuncMap{
		"t":     c.translator(lang),
		"field": func(path string) string { return fieldLabel(lang, path) },
		"other": func() string { return otherLanguage(lang) },
		"errfor": func(errs map[string]string, key string) template.HTML {
			msg, ok := errs[key]
			if !ok {
				return ""
			}
			return template.HTML(`<p class="field-error" id="err-` + fieldID(key) + `">` + html.EscapeString(msg) + `</p>`)
		},
		"bad":       func(errs map[string]string, key string) bool { _, ok := errs[key]; return ok },
		"fid":       fieldID,
		"size":      humanSize,
		"when":      when,
		"short":     func(s string) string { return s[:min(len(s), 12)] },
		"jsontext":  jsonText,
		"add":       func(a, b int) int { return a + b },
		"has":       func(list []string, s string) bool { return slices.Contains(list, s) },
		"stage":     stageState,
		"stages":    func() []driverhub.Stage { return driverhub.AllStages },
		"finished":  func(d *driverhub.Deployment) bool { return d != nil && d.Finished() },
		"query":     urlQueryEscape,
		"path":      esc,
		"limits":    func() map[string]int { return formLimits },
		"join":      strings.Join,
		"notlast":   func(i, n int) bool { return i < n-1 },
		"protocols": func() []string { return driverhub.Protocols },
		"runtimes":  func() []driverhub.Runtime { return driverhub.AllRuntimes },
		"archs":     func() []string { return driverhub.CPUArchs },
		"dlg":       newDialog,
		"deved": func(id, text, action string, check *checkResult) deviceEditor {
			return deviceEditor{ID: id, Text: text, Action: action, Check: check}
		},
	}
	maps.Copy(fm, factFuncs)
	return fm
}

// dialogData is a confirmation dialog (partial "dialog").
type dialogData struct {
	ID, Heading, Body, Arg, Action, Button, CSRF, Extra string
	Danger                                              bool
}

// newDialog is the template function dlg: id heading body arg action button danger csrf [extra].
func newDialog(id, heading, body, arg, action, button string, danger bool, csrf string, extra ...string) dialogData {
	d := dialogData{ID: id, Heading: heading, Body: body, Arg: arg, Action: action, Button: button, Danger: danger, CSRF: csrf}
	if len(extra) > 0 {
		d.Extra = extra[0]
	}
	return d
}

// deviceEditor is a device config editor (partial "deviceConfig").
type deviceEditor struct {
	ID, Text, Action string
	Check            *checkResult
}

// formLimits are the numbers the forms show and the scripts count rows
// with; the services enforce them.
var formLimits = map[string]int{
	"kv": driverhub.MaxKVPairs, "ports": driverhub.MaxPortMappings, "devices": driverhub.MaxDeviceMappings,
	"volumes": driverhub.MaxVolumeMappings, "package": driverhub.MaxPackageBytes, "packageMB": driverhub.MaxPackageBytes >> 20,
	"json": driverhub.MaxJSONConfigBytes, "deviceConfig": driverhub.MaxDeviceConfigBytes, "memory": driverhub.DefaultMemoryLimitMB,
	"memMin": driverhub.MinMemoryLimitMB, "memMax": driverhub.MaxMemoryLimitMB, "configFile": driverhub.MaxConfigFileBytes,
}

func otherLanguage(lang string) string {
	if lang == "zh-CN" {
		return "en"
	}
	return "zh-CN"
}

var nonID = regexp.MustCompile(`[^A-Za-z0-9_-]+`)

// fieldID turns a field path such as container.port_mappings[0].host_port
// into an HTML id.
func fieldID(key string) string { return strings.Trim(nonID.ReplaceAllString(key, "-"), "-") }

func humanSize(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

func when(v any) string {
	var t time.Time
	switch x := v.(type) {
	case time.Time:
		t = x
	case *time.Time:
		if x == nil {
			return "—"
		}
		t = *x
	default:
		return ""
	}
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format("2006-01-02 15:04:05") + " UTC"
}

func jsonText(raw json.RawMessage) string {
	if len(raw) == 0 {
		return ""
	}
	var buf bytes.Buffer
	if err := json.Indent(&buf, raw, "", "  "); err != nil {
		return string(raw)
	}
	return buf.String()
}

// stageState tells how far a resource got: done, current, failed or todo.
func stageState(r driverhub.Resource, stage driverhub.Stage) string {
	at, this := slices.Index(driverhub.AllStages, r.Stage), slices.Index(driverhub.AllStages, stage)
	switch {
	case r.Status == driverhub.DeploySucceeded && this <= at:
		return "done"
	case this < at:
		return "done"
	case this == at && r.Status == driverhub.DeployFailed:
		return "failed"
	case this == at && r.Status != driverhub.DeployPending:
		return "current"
	}
	return "todo"
}

// jsonMessage is the answer of /console/check-json.
func jsonMessage(ok bool, msg string) []byte {
	b, _ := json.Marshal(struct {
		OK      bool   `json:"ok"`
		Message string `json:"message"`
	}{ok, msg})
	return b
}

// jsonCheck runs the domain's check of a JSON editor's text: a driver
// config (kind "driver_config") or a device config ("device_config"),
// answering in lang.
func jsonCheck(lang, kind, text string) (string, bool) {
	raw, _ := json.Marshal(text) // a JSON string holding the text, as an editor sends it
	var err error
	switch kind {
	case "device_config":
		_, err = driverhub.ParseJSONObject("config", raw, driverhub.MaxDeviceConfigBytes)
	default:
		cfg := driverhub.DriverConfig{Format: driverhub.ConfigJSON, JSON: raw}
		err = cfg.Clean("driver_config")
	}
	if err != nil {
		if e, ok := driverhub.AsError(err); ok {
			return localize(lang, e).Message, false
		}
		return err.Error(), false
	}
	return "", true
}
