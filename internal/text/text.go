// Package text puts the human text the services store in one form before
// the domain checks it (SPEC §13): Unicode NFC, so that "é" and "e"+U+0301
// are the same name, and line ends as line feeds, so that a description
// sent by a browser (CRLF) and by a script (LF) are the same text. The
// domain (text.go in the root package) then refuses the characters a
// reader cannot see. It is the one place that imports a normalisation
// library: the root package stays standard-library only.
package text

import (
	"strings"

	"golang.org/x/text/unicode/norm"
)

// Normal returns s in NFC with CRLF line ends turned into LF. Text that is
// not valid UTF-8 keeps its invalid bytes, for the domain to refuse.
func Normal(s string) string {
	if strings.Contains(s, "\r\n") {
		s = strings.ReplaceAll(s, "\r\n", "\n")
	}
	return norm.NFC.String(s)
}

// Normalize puts each string in its normal form; nil pointers are skipped.
func Normalize(texts ...*string) {
	for _, p := range texts {
		if p != nil {
			*p = Normal(*p)
		}
	}
}

// NormalMap returns m with its keys and values in their normal form. When
// two keys become one, it returns that key as clash (and a nil map).
func NormalMap(m map[string]string) (out map[string]string, clash string) {
	if m == nil {
		return nil, ""
	}
	out = make(map[string]string, len(m))
	for k, v := range m {
		nk := Normal(k)
		if _, dup := out[nk]; dup {
			return nil, nk
		}
		out[nk] = Normal(v)
	}
	return out, ""
}
