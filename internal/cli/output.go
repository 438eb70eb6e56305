package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"

	"github.com/driverhub/driverhub"
)

// Output formats of -o.
const (
	outTable = "table"
	outJSON  = "json"
	outYAML  = "yaml"
)

// addOutputFlag adds -o/--output to a command that prints resources.
func addOutputFlag(cmd *cobra.Command) {
	cmd.Flags().StringP("output", "o", outTable, "output format: table, json or yaml")
}

// outputOf returns the -o value, checked.
func outputOf(cmd *cobra.Command) (string, error) {
	f := cmd.Flags().Lookup("output")
	if f == nil {
		return outTable, nil
	}
	switch v := f.Value.String(); v {
	case outTable, outJSON, outYAML:
		return v, nil
	default:
		return "", usagef(cmd, "invalid output format %q: use table, json or yaml", v)
	}
}

// machine reports whether -o asks for json or yaml.
func machine(cmd *cobra.Command) bool {
	o, _ := outputOf(cmd)
	return o == outJSON || o == outYAML
}

// render prints v as JSON or YAML, exactly the API's object, or calls table.
func render(cmd *cobra.Command, v any, table func(p *printer)) error {
	format, err := outputOf(cmd)
	if err != nil {
		return err
	}
	w := cmd.OutOrStdout()
	switch format {
	case outJSON:
		return writeJSON(w, v)
	case outYAML:
		return writeYAML(w, v)
	}
	p := newPrinter(cmd)
	table(p)
	return p.flush()
}

// writeJSON writes v indented, without HTML escaping, as the API does,
// and with every control character escaped.
func writeJSON(w io.Writer, v any) error {
	return encodeJSON(w, v, "  ")
}

// encodeJSON writes v as one JSON text (indented when indent is not ""),
// escaping what encoding/json leaves raw that a terminal would act on.
func encodeJSON(w io.Writer, v any, indent string) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", indent)
	if err := enc.Encode(v); err != nil {
		return err
	}
	_, err := w.Write(escapeEncoded(buf.Bytes()))
	return err
}

// writeYAML writes v's JSON form as YAML, keeping the order of its fields.
func writeYAML(w io.Writer, v any) error {
	var buf bytes.Buffer
	// Escaped JSON: YAML's reader refuses raw C1 controls and DEL.
	if err := encodeJSON(&buf, v, ""); err != nil {
		return err
	}
	var node yaml.Node
	if err := yaml.Unmarshal(buf.Bytes(), &node); err != nil {
		return err
	}
	blockStyle(&node)
	yamlQuoteUnsafe(&node)
	var out bytes.Buffer
	ye := yaml.NewEncoder(&out)
	ye.SetIndent(2)
	if err := ye.Encode(&node); err != nil {
		return err
	}
	if err := ye.Close(); err != nil {
		return err
	}
	_, err := w.Write(escapeEncoded(out.Bytes()))
	return err
}

// blockStyle drops the flow and quoting styles JSON gave the nodes, so the
// encoder writes ordinary block YAML (and quotes only what needs it).
func blockStyle(n *yaml.Node) {
	n.Style = 0
	for _, c := range n.Content {
		blockStyle(c)
	}
}

// printer writes aligned tables and key-value views, with colour only on
// a terminal and never with NO_COLOR. Every cell and value is escaped
// (safeText) but for the ones the printer painted itself.
type printer struct {
	tw    *tabwriter.Writer
	color bool
	// ours holds the cells paint made: their escape codes are the
	// printer's own, and what they wrap was escaped already.
	ours map[string]bool
}

func newPrinter(cmd *cobra.Command) *printer {
	return &printer{
		tw:    tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0),
		color: useColor(cmd.OutOrStdout()),
	}
}

// useColor reports whether w is a terminal that wants colour.
func useColor(w io.Writer) bool {
	if _, ok := os.LookupEnv("NO_COLOR"); ok || os.Getenv("TERM") == "dumb" {
		return false
	}
	return isTerminal(w)
}

// row writes one tab-separated row. With colour, every cell carries an
// SGR code of the same length (the default colour when not painted), so
// tabwriter, which counts the invisible bytes too, still aligns columns.
func (p *printer) row(cells ...string) {
	for i, c := range cells {
		if !p.ours[c] {
			c = p.paint("39", strings.NewReplacer("\t", " ", "\n", " ").Replace(c))
		}
		cells[i] = c
	}
	fmt.Fprintln(p.tw, strings.Join(cells, "\t"))
}

// header writes a table's header row.
func (p *printer) header(cells ...string) {
	for i, c := range cells {
		cells[i] = p.paint("01", c)
	}
	p.row(cells...)
}

// kv writes one "Key:  value" line of a detail view.
func (p *printer) kv(key string, value any) {
	v := fmt.Sprint(value)
	if !p.ours[v] {
		v = safeText(v)
	}
	fmt.Fprintf(p.tw, "%s:\t%s\n", key, v)
}

// blank writes an empty line, ending the alignment of what came before.
func (p *printer) blank() {
	p.flush()
	fmt.Fprintln(p.tw)
}

func (p *printer) flush() error { return p.tw.Flush() }

// join concatenates parts into one cell or value: painted parts as they
// are, the others escaped.
func (p *printer) join(parts ...string) string {
	var b strings.Builder
	for _, s := range parts {
		if !p.ours[s] {
			s = safeText(s)
		}
		b.WriteString(s)
	}
	out := b.String()
	p.own(out)
	return out
}

// own marks s as made by the printer: printed as it is.
func (p *printer) own(s string) {
	if p.ours == nil {
		p.ours = map[string]bool{}
	}
	p.ours[s] = true
}

// paint escapes s and wraps it in an SGR colour code. Codes are all two
// digits, so every painted cell of a column carries the same invisible
// width and tabwriter still aligns it.
func (p *printer) paint(code, s string) string {
	s = safeText(s)
	if !p.color {
		return s
	}
	out := "\x1b[" + code + "m" + s + "\x1b[0m"
	p.own(out)
	return out
}

// status paints a status word by what it means: green for good, red for
// bad, yellow for waiting. word is a version status or gateway word
// (string), a DeployStatus or a DriverState: the type tells the
// vocabularies apart where they share a word ("failed").
func (p *printer) status(word any) string {
	return p.paint(statusColor(word), fmt.Sprint(word))
}

// Words of the gateway's connection, shown with instances.
const (
	gatewayOnline  = "online"
	gatewayOffline = "offline"
)

func statusColor(word any) string {
	switch word {
	case driverhub.StatusPublished, driverhub.DeploySucceeded, driverhub.DriverRunning, gatewayOnline:
		return "32"
	case driverhub.DeployFailed, driverhub.DriverFailed, driverhub.DriverCrashloop, gatewayOffline:
		return "31"
	case driverhub.StatusDraft, driverhub.DeployPending, driverhub.DeployProcessing, driverhub.DriverStarting, driverhub.DriverRestarting:
		return "33"
	}
	return "39"
}

// age renders how long ago t was, as kubectl does: 45s, 12m, 5h, 3d.
func age(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	d := time.Since(t)
	switch {
	case d < 0:
		return "0s"
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh", int(d.Hours()))
	}
	return fmt.Sprintf("%dd", int(d.Hours()/24))
}

// stamp renders a time for a detail view.
func stamp(t *time.Time) string {
	if t == nil || t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

// orDash renders "" as "-".
func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// truncate shortens s to n runes for a table cell.
func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// humanBytes renders a size: 512 B, 1.5 KiB, 12.0 MiB.
func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 3; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGT"[exp])
}

// listFlags adds --limit and --cursor to a list command.
func listFlags(cmd *cobra.Command) {
	cmd.Flags().Int("limit", 0, "list at most this many items (default: all)")
	cmd.Flags().String("cursor", "", "start after this cursor (the next_cursor of an earlier page)")
	addOutputFlag(cmd)
}

// collect fetches the items a list command asked for: every page, or
// --limit items from --cursor on. The answer has the API's shape, with the
// cursor that continues it ("" at the end).
func collect[T any](cmd *cobra.Command, fetch func(driverhub.Page) (driverhub.List[T], error)) (driverhub.List[T], error) {
	limit, _ := cmd.Flags().GetInt("limit")
	cursor, _ := cmd.Flags().GetString("cursor")
	if limit < 0 {
		return driverhub.List[T]{}, usagef(cmd, "--limit must not be negative")
	}
	out := driverhub.List[T]{Items: []T{}}
	for {
		size := driverhub.MaxPageLimit
		if limit > 0 {
			size = min(size, limit-len(out.Items))
		}
		page, err := fetch(driverhub.Page{Limit: size, Cursor: cursor})
		if err != nil {
			return out, err
		}
		out.Items = append(out.Items, page.Items...)
		out.NextCursor = page.NextCursor
		cursor = page.NextCursor
		if cursor == "" || (limit > 0 && len(out.Items) >= limit) {
			return out, nil
		}
	}
}

// notice writes a message for people on stderr, keeping stdout for data.
// The names and texts it holds may come from the server: it is escaped.
func notice(cmd *cobra.Command, format string, args ...any) {
	fmt.Fprintln(cmd.ErrOrStderr(), safeText(fmt.Sprintf(format, args...)))
}

// plural renders a count with its noun: "1 problem", "2 problems".
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}
