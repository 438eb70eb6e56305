package text_test

import (
	"testing"

	"github.com/driverhub/driverhub/internal/text"
)

func TestNormal(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"Cafe\u0301", "Caf\u00e9"},          // composed
		{"\u212b", "\u00c5"},                 // the Angstrom sign is the letter Å
		{"line\r\nnext\r\n", "line\nnext\n"}, // browser line ends
		{"a\rb", "a\rb"},                     // a lone CR is the domain's to refuse
		{"bad \xff byte", "bad \xff byte"},   // invalid UTF-8 kept for the domain to refuse
		{"中文 ascii", "中文 ascii"},
	} {
		if got := text.Normal(tt.in); got != tt.want {
			t.Errorf("Normal(%+q) = %+q, want %+q", tt.in, got, tt.want)
		}
	}
	a, b := "e\u0301", "x"
	text.Normalize(&a, nil, &b)
	if a != "\u00e9" || b != "x" {
		t.Errorf("Normalize: %+q %+q", a, b)
	}
}

func TestNormalMap(t *testing.T) {
	m, clash := text.NormalMap(map[string]string{"cafe\u0301": "Cafe\u0301", "site": "x"})
	if clash != "" || m["caf\u00e9"] != "Caf\u00e9" || m["site"] != "x" || len(m) != 2 {
		t.Errorf("NormalMap = %+q, clash %q", m, clash)
	}
	if m, clash := text.NormalMap(map[string]string{"caf\u00e9": "1", "cafe\u0301": "2"}); m != nil || clash != "caf\u00e9" {
		t.Errorf("two keys that become one: %v, clash %+q", m, clash)
	}
}
