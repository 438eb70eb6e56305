package driverhub

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// Driver config formats (the seed's 配置格式).
const (
	ConfigKV   = "kv"
	ConfigJSON = "json"
	ConfigFile = "file"
)

// DriverConfig is a driver configuration in one of three formats. It is a
// version's default, or an instance's override of it.
type DriverConfig struct {
	Format string          `json:"format"`
	KV     []KVPair        `json:"kv,omitempty"`
	JSON   json.RawMessage `json:"json,omitempty"`
	File   *ConfigFileRef  `json:"file,omitempty"`
}

// KVPair is one row of a key-value config.
type KVPair struct {
	Key   string `json:"key"`
	Value string `json:"value"`
	Note  string `json:"note"`
}

// ConfigFileRef names an uploaded config file in the blob store.
type ConfigFileRef struct {
	Name   string `json:"name"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// Clean validates c and puts it in canonical form: a JSON config given as a
// string of JSON text (what an editor sends) is parsed, and every JSON config
// is stored compacted. Errors name the field below the given prefix.
func (c *DriverConfig) Clean(field string) error {
	if isNull(c.JSON) {
		c.JSON = nil
	}
	switch c.Format {
	case ConfigKV:
		if c.JSON != nil || c.File != nil {
			return Invalid(field, "format kv takes only \"kv\"")
		}
		return validateKV(field+".kv", c.KV)
	case ConfigJSON:
		if c.KV != nil || c.File != nil {
			return Invalid(field, "format json takes only \"json\"")
		}
		obj, err := ParseJSONObject(field+".json", c.JSON, MaxJSONConfigBytes)
		if err != nil {
			return err
		}
		c.JSON = obj
		return nil
	case ConfigFile:
		if c.KV != nil || c.JSON != nil {
			return Invalid(field, "format file takes only \"file\"")
		}
		if c.File == nil {
			return Invalid(field+".file", "is required with format file: upload the file")
		}
		if err := ValidateConfigFileName(field+".file.name", c.File.Name); err != nil {
			return err
		}
		if c.File.Size < 0 || c.File.Size > MaxConfigFileBytes {
			return Invalid(field+".file.size", "must be at most %d bytes (1 MiB)", MaxConfigFileBytes)
		}
		if !ValidSHA256(c.File.SHA256) {
			return Invalid(field+".file.sha256", "must be 64 lower-case hex digits")
		}
		return nil
	case "":
		return Invalid(field+".format", "is required: one of kv, json, file")
	}
	return Invalid(field+".format", "must be one of kv, json, file")
}

func validateKV(field string, pairs []KVPair) error {
	if len(pairs) > MaxKVPairs {
		return Invalid(field, "holds at most %d pairs, got %d", MaxKVPairs, len(pairs))
	}
	seen := make(map[string]bool, len(pairs))
	for i, p := range pairs {
		if n := utf8.RuneCountInString(p.Key); n == 0 || n > MaxKVKeyLen || !plainText(p.Key) {
			return Invalid(indexed(field, i, "key"), "must be 1-%d characters", MaxKVKeyLen)
		}
		if seen[p.Key] {
			return Invalid(indexed(field, i, "key"), "duplicate key %q: keys must be unique", p.Key)
		}
		seen[p.Key] = true
		if len(p.Value) > MaxKVValueBytes || !plainText(p.Value) {
			return Invalid(indexed(field, i, "value"), "must be at most %d bytes of UTF-8", MaxKVValueBytes)
		}
		if len(p.Note) > MaxKVNoteBytes || !plainText(p.Note) {
			return Invalid(indexed(field, i, "note"), "must be at most %d bytes of UTF-8", MaxKVNoteBytes)
		}
	}
	return nil
}

// ValidateConfigFileName checks a config file's name: a plain file name that
// the agent writes into the driver's working directory.
func ValidateConfigFileName(field, name string) error {
	switch {
	case name == "" || len(name) > MaxConfigFileNameLen:
		return Invalid(field, "must be 1-%d bytes", MaxConfigFileNameLen)
	case name == "." || name == "..":
		return Invalid(field, "must be a plain file name, not %q", name)
	case strings.ContainsAny(name, "/\\\x00"):
		return Invalid(field, "must be a plain file name without '/', '\\' or NUL")
	case !utf8.ValidString(name):
		return Invalid(field, "must be valid UTF-8")
	}
	return nil
}

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

// ValidSHA256 reports whether s is a SHA-256 digest in lower-case hex.
func ValidSHA256(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

func isNull(raw []byte) bool {
	return raw != nil && string(bytes.TrimSpace(raw)) == "null"
}
