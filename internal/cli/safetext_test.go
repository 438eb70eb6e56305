package cli

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"text/tabwriter"

	"go.yaml.in/yaml/v3"

	"github.com/driverhub/driverhub"
)

const hostile = "\x1b]0;pwned\x07\x1b[2J\u009b31m\u202eevil\u2066\x7f\u2028\r\n\tend"

// raw reports the runes of s a terminal would act on (our own SGR codes
// aside, which callers strip first).
func raw(s string) []rune {
	var out []rune
	for _, r := range s {
		if unsafeRune(r) && r != '\n' {
			out = append(out, r)
		}
	}
	return out
}

func TestSafeText(t *testing.T) {
	for in, want := range map[string]string{
		"plain 中文 text":   "plain 中文 text",
		"a\tb\nc\r":       `a\tb\nc\r`,
		"\x1b[31mred":     `\x1b[31mred`,
		"\u009b31m":       `\u009b31m`,
		"left\u202eright": `left\u202eright`,
		"bad\xffbyte":     `bad\xffbyte`,
		"del\x7f":         `del\x7f`,
	} {
		if got := safeText(in); got != want {
			t.Errorf("safeText(%q) = %q, want %q", in, got, want)
		}
		if again := safeText(safeText(in)); again != want {
			t.Errorf("safeText is not idempotent on %q: %q", in, again)
		}
	}
}

// JSON and YAML output escape every unsafe rune and still read back as
// the very same text.
func TestMachineOutputEscapes(t *testing.T) {
	v := map[string]any{"title": hostile, hostile: []string{hostile}}
	var j, y bytes.Buffer
	if err := writeJSON(&j, v); err != nil {
		t.Fatal(err)
	}
	if err := writeYAML(&y, v); err != nil {
		t.Fatal(err)
	}
	for name, out := range map[string]string{"json": j.String(), "yaml": y.String()} {
		if r := raw(out); len(r) > 0 {
			t.Errorf("%s output holds %q raw:\n%s", name, r, out)
		}
	}
	var fromJSON, fromYAML map[string]any
	if err := json.Unmarshal(j.Bytes(), &fromJSON); err != nil || fromJSON["title"] != hostile || fromJSON[hostile] == nil {
		t.Errorf("json reads back as %q (%v)", fromJSON, err)
	}
	if err := yaml.Unmarshal(y.Bytes(), &fromYAML); err != nil || fromYAML["title"] != hostile || fromYAML[hostile] == nil {
		t.Errorf("yaml reads back as %q (%v)", fromYAML, err)
	}
}

// With colour on, the printer's own SGR codes pass and the server's text
// is escaped, in tables and key-value views.
func TestPrinterEscapesServerText(t *testing.T) {
	var out bytes.Buffer
	p := &printer{tw: tabwriter.NewWriter(&out, 0, 4, 2, ' ', 0), color: true}
	p.header("TITLE", "STATE")
	p.row(hostile, p.status(driverhub.DriverRunning))
	p.row("\x1b[32mrunning\x1b[0m", "x") // the server's imitation of a painted cell
	p.kv("Title", hostile)
	p.kv("Deployment", p.join(hostile, " (", p.status(driverhub.DeploySucceeded), ")"))
	p.flush()
	text := out.String()
	mustHave := []string{"\x1b[32mrunning\x1b[0m", `\x1b]0;pwned\x07`, `\u202eevil`, "\x1b[01mTITLE\x1b[0m"}
	for _, w := range mustHave {
		if !strings.Contains(text, w) {
			t.Errorf("output lacks %q:\n%q", w, text)
		}
	}
	for _, code := range []string{"\x1b[32m", "\x1b[0m", "\x1b[01m", "\x1b[39m"} {
		text = strings.ReplaceAll(text, code, "")
	}
	if r := raw(text); len(r) > 0 {
		t.Errorf("printed %q raw:\n%q", r, out.String())
	}
}
