// Text from the server reaches a terminal escaped: another tenant's
// marketplace title or a driver's output must not move the cursor,
// recolour, retitle or clear the terminal, nor reorder what it shows.

package cli

import (
	"bytes"
	"fmt"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// unsafeRune reports whether a terminal would act on r rather than show
// it: C0 controls (ESC, BEL, CR, …), DEL, C1 controls (CSI, OSC as single
// characters), bidirectional embeddings, overrides, isolates and marks,
// and the Unicode line and paragraph separators.
func unsafeRune(r rune) bool {
	switch {
	case r < 0x20, r == 0x7f, r >= 0x80 && r <= 0x9f:
		return true
	case r == 0x061c, r == 0x200e, r == 0x200f, r == 0x2028, r == 0x2029:
		return true
	case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069:
		return true
	}
	return false
}

// safeText returns s with every unsafe rune and every byte that is not
// UTF-8 written as a visible escape: \t, \n, \r, \x1b, \u202e.
func safeText(s string) string {
	if !needsEscape(s) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size <= 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r < 0x80 && unsafeRune(r):
			fmt.Fprintf(&b, `\x%02x`, r)
		case unsafeRune(r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

func needsEscape(s string) bool {
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if unsafeRune(r) || (r == utf8.RuneError && size <= 1) {
			return true
		}
		i += size
	}
	return false
}

// escapeEncoded rewrites the unsafe runes an encoder left raw as \uXXXX.
// encoding/json escapes C0 controls and the line separators but not DEL,
// C1 controls or bidi controls; YAML's double-quoted style escapes all but
// the bidi controls. In both, such a rune can only stand inside a quoted
// string (JSON) or a scalar forced to double quotes (yamlQuoteUnsafe),
// where \uXXXX means the same rune: the data read back is unchanged.
func escapeEncoded(b []byte) []byte {
	if !bytes.ContainsFunc(b, leftRaw) {
		return b
	}
	var out bytes.Buffer
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		if leftRaw(r) {
			fmt.Fprintf(&out, `\u%04x`, r)
		} else {
			out.Write(b[i : i+size])
		}
		i += size
	}
	return out.Bytes()
}

// leftRaw reports whether r is unsafe and may be left raw by an encoder.
func leftRaw(r rune) bool { return r >= 0x7f && unsafeRune(r) }

// yamlQuoteUnsafe gives every scalar holding an unsafe rune the
// double-quoted style, the only YAML style with escapes.
func yamlQuoteUnsafe(n *yaml.Node) {
	if n.Kind == yaml.ScalarNode && needsEscape(n.Value) {
		n.Style = yaml.DoubleQuotedStyle
	}
	for _, c := range n.Content {
		yamlQuoteUnsafe(c)
	}
}
