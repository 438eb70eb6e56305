package driverhub

import (
	"unicode"
	"unicode/utf8"
)

// Stored human text (SPEC §13): every name, version, title, description,
// tag, note and comment the server keeps is shown later to people, maybe
// of another tenant, in a browser or a terminal. The services put it in
// Unicode NFC first (internal/text), so that "é" and "e"+U+0301 are one
// name; these rules then refuse what a reader cannot see or that changes
// what they see:
//   - invalid UTF-8 and control characters (C0, DEL, C1): terminal escapes,
//     NUL. Only descriptions and summaries (textKindBlock) keep line
//     feeds and tabs;
//   - bidirectional embeddings, overrides and isolates (U+202A–U+202E,
//     U+2066–U+2069), which reorder the text that follows them;
//   - line and paragraph separators (U+2028, U+2029);
//   - other invisible formatting characters (category Cf: zero-width space,
//     soft hyphen, tag characters, byte order mark…), except, in text that
//     is not an identifier, the zero-width (non-)joiner and the
//     left-to-right, right-to-left and Arabic letter marks, which scripts
//     and emoji need and which reorder nothing but their neighbours.
//     Identifiers and names (textKindLabel) refuse them too: an invisible
//     character would make two names that look the same.

// textKind is what a text is, which decides what it may hold.
type textKind int

const (
	textKindLabel textKind = iota // names and keys: one line, nothing invisible
	textKindLine                  // titles, notes, comments, tag values: one line
	textKindBlock                 // descriptions and summaries: lines and tabs allowed
)

// checkText returns a problem naming field when s breaks the rules of its kind.
func checkText(field, s string, kind textKind) error {
	if !utf8.ValidString(s) {
		return Invalid(field, "must be valid UTF-8")
	}
	if b, found := findRefused(s, kind); found {
		return Invalid(field, "must not hold %s: U+%04X at character %d", b.what, b.r, b.at)
	}
	return nil
}

// refused is a character a text may not hold: its class, itself and its
// position (1 for the first character).
type refused struct {
	what Word
	r    rune
	at   int
}

// findRefused returns the first character of s that a text of the kind may not hold.
func findRefused(s string, kind textKind) (refused, bool) {
	n := 0
	for _, r := range s {
		n++
		if what := refusedRune(r, kind); what != "" {
			return refused{what, r, n}, true
		}
	}
	return refused{}, false
}

// refusedRune names the class of r when a text of the kind may not hold it.
func refusedRune(r rune, kind textKind) Word {
	switch {
	case r < 0x80 && r >= 0x20 && r != 0x7f:
		return ""
	case r == '\n' || r == '\t':
		if kind == textKindBlock {
			return ""
		}
		return "control characters"
	case unicode.Is(unicode.Cc, r):
		return "control characters"
	case (r >= 0x202A && r <= 0x202E) || (r >= 0x2066 && r <= 0x2069):
		return "bidirectional control characters"
	case r == 0x2028 || r == 0x2029:
		return "line or paragraph separators"
	case !unicode.Is(unicode.Cf, r):
		return ""
	case kind != textKindLabel && joinerOrMark(r):
		return ""
	}
	return "invisible formatting characters"
}

// joinerOrMark reports the zero-width joiners and the direction marks.
func joinerOrMark(r rune) bool {
	return r == 0x200C || r == 0x200D || r == 0x200E || r == 0x200F || r == 0x061C
}
