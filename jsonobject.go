package driverhub

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode"
	"unicode/utf8"
)

// JSON objects as the API takes them in configs: parsed, size-checked,
// put in canonical form, and malformed text described by line and column.

// ParseJSONObject accepts a JSON object, or a JSON string holding the text of
// one, and returns it compacted. Malformed text is refused with its line and
// column; a value that is not an object, or longer than max bytes once
// compacted, is refused too.
func ParseJSONObject(field string, raw []byte, max int) (json.RawMessage, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return nil, Invalid(field, "is required: a JSON object")
	}
	text := raw
	if raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, Invalid(field, "must be a JSON object or a string holding one")
		}
		text = []byte(s)
	}
	if len(text) > 64*max { // no need to parse megabytes to say it is too long
		return nil, Invalid(field, "must be at most %d bytes, got %d", max, len(text))
	}
	var v any
	if err := json.Unmarshal(text, &v); err != nil {
		return nil, Invalid(field, "malformed JSON: %s", DescribeJSONError(text, err))
	}
	if err := CheckJSONKeys(field, text); err != nil {
		return nil, err
	}
	if _, ok := v.(map[string]any); !ok {
		return nil, Invalid(field, "must be a JSON object ({...})")
	}
	// The size is that of the canonical form: compact, strings with the
	// fewest escapes. How a client escaped "<" or "中" does not change it,
	// and a config read back and sent again measures the same.
	buf, err := canonicalJSON(text)
	if err != nil {
		return nil, Invalid(field, "malformed JSON: %s", DescribeJSONError(text, err))
	}
	if buf.Len() > max {
		return nil, Invalid(field, "must be at most %d bytes serialized, got %d", max, buf.Len())
	}
	return json.RawMessage(buf.Bytes()), nil
}

// CheckJSONKeys refuses JSON text in which an object holds a key twice, or
// two keys that differ only in case: the server would keep one of them and
// drop the other unseen (Go matches struct fields ignoring case; a person
// reads them as one). The problem names the second key by its path below
// prefix, as fields are named: "container.port_mappings[0].host_port".
// Malformed text is left to the parser, which says where it breaks.
func CheckJSONKeys(prefix string, text []byte) error {
	dec := json.NewDecoder(bytes.NewReader(text))
	dec.UseNumber() // numbers are not looked at: no need to convert them
	var stack []*keyFrame
	for {
		tok, err := dec.Token()
		if err != nil {
			return nil // the end, or malformed text the parser reports
		}
		var top *keyFrame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if key, ok := tok.(string); ok && top != nil && top.inKey {
			folded := foldKey(key)
			if first, seen := top.keys[folded]; seen {
				at := joinPath(top.path(prefix), key)
				if first == key {
					return Invalid(at, "repeats key %q: send each key once", key)
				}
				return Invalid(at, "key %q differs from key %q only in case: send one of them", key, first)
			}
			top.keys[folded], top.key, top.inKey = key, key, false
			continue
		}
		if d, ok := tok.(json.Delim); ok {
			switch d {
			case '{':
				stack = append(stack, &keyFrame{parent: top, inKey: true, keys: map[string]string{}})
				continue
			case '[':
				stack = append(stack, &keyFrame{parent: top})
				continue
			default: // '}' or ']'
				stack = stack[:len(stack)-1]
			}
		}
		// A whole value ended: a key comes next, or the next element.
		if len(stack) > 0 {
			if top := stack[len(stack)-1]; top.keys != nil {
				top.inKey = true
			} else {
				top.index++
			}
		}
	}
}

// keyFrame is an object (keys set) or an array that CheckJSONKeys is in.
type keyFrame struct {
	parent *keyFrame
	keys   map[string]string // folded key → the key as written; nil in arrays
	key    string            // the object's current key
	inKey  bool              // a key comes next
	index  int               // the array's current index
}

// path names the container, built only for a problem: the parent's key or
// index at which it sits.
func (f *keyFrame) path(prefix string) string {
	p := f.parent
	if p == nil {
		return prefix
	}
	if p.keys != nil {
		return joinPath(p.path(prefix), p.key)
	}
	return fmt.Sprintf("%s[%d]", p.path(prefix), p.index)
}

// joinPath names key below path: "a.b", or "b" at the top.
func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// foldKey maps a key to one representative of the keys equal to it under
// Unicode simple case folding (what strings.EqualFold compares): each
// character becomes the smallest of its case orbit.
func foldKey(s string) string {
	ascii := true
	for i := 0; i < len(s) && ascii; i++ {
		ascii = s[i] < utf8.RuneSelf
	}
	if ascii {
		return strings.ToUpper(s) // the smallest of {A, a} (and of {K, k, U+212A}, {S, s, U+017F})
	}
	return strings.Map(func(r rune) rune {
		low := r
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			low = min(low, f)
		}
		return low
	}, s)
}

// canonicalJSON re-encodes valid JSON text compactly, keeping the order of
// object keys and numbers as written, with strings escaped minimally.
func canonicalJSON(text []byte) (*bytes.Buffer, error) {
	dec := json.NewDecoder(bytes.NewReader(text))
	dec.UseNumber()
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false)
	// needComma[i] tells, per open container, whether a value came before;
	// inObject[i] whether that container is an object (keys then values).
	var needComma, inObject, expectValue []bool
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		depth := len(needComma)
		isKey := depth > 0 && inObject[depth-1] && !expectValue[depth-1]
		if d, ok := tok.(json.Delim); ok && (d == '}' || d == ']') {
			out.WriteByte(byte(d))
			needComma, inObject, expectValue = needComma[:depth-1], inObject[:depth-1], expectValue[:depth-1]
			if depth > 1 {
				markValue(needComma, inObject, expectValue)
			}
			continue
		}
		if depth > 0 {
			if isKey || !inObject[depth-1] {
				if needComma[depth-1] {
					out.WriteByte(',')
				}
			} else {
				out.WriteByte(':')
			}
		}
		switch v := tok.(type) {
		case json.Delim:
			out.WriteByte(byte(v))
			needComma, inObject, expectValue = append(needComma, false), append(inObject, v == '{'), append(expectValue, false)
			continue
		case json.Number:
			out.WriteString(v.String())
		default:
			if err := enc.Encode(v); err != nil {
				return nil, err
			}
			out.Truncate(out.Len() - 1) // Encode's newline
		}
		if depth > 0 {
			if isKey {
				expectValue[depth-1] = true
			} else {
				markValue(needComma, inObject, expectValue)
			}
		}
	}
	return &out, nil
}

// markValue records that the innermost container received a whole value.
func markValue(needComma, inObject, expectValue []bool) {
	i := len(needComma) - 1
	needComma[i] = true
	if inObject[i] {
		expectValue[i] = false
	}
}

// DescribeJSONError says what a JSON parser found wrong and where:
// "line L, column C: message", pointing at the byte at fault (or just past
// the end when the text stops early). Columns count bytes.
func DescribeJSONError(text []byte, err error) string {
	msg := strings.TrimPrefix(err.Error(), "json: ")
	var pos int64
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case strings.Contains(msg, "unexpected end of JSON input"):
		pos = int64(len(text))
	case errors.As(err, &se):
		pos = se.Offset - 1 // the offset is just past the byte at fault
	case errors.As(err, &te):
		pos = te.Offset - 1
	default:
		return msg
	}
	pos = min(max(pos, 0), int64(len(text)))
	line, col := 1, 1
	for _, b := range text[:pos] {
		if b == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
	}
	return fmt.Sprintf("line %d, column %d: %s", line, col, msg)
}
