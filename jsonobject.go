package driverhub

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
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
