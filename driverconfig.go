package driverhub

import (
	"bytes"
	"encoding/json"
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
// is stored compacted. Errors name the field below the given prefix. It
// returns the first problem of Check.
func (c *DriverConfig) Clean(field string) error { return firstProblem(c.Check(field)) }

// Check validates c, puts it in canonical form like Clean, and returns a
// problem for each field at fault: every bad row of a key-value config.
func (c *DriverConfig) Check(field string) FieldErrors {
	if isNull(c.JSON) {
		c.JSON = nil
	}
	one := func(err error) FieldErrors {
		var l FieldErrors
		l.Add(err)
		return l
	}
	switch c.Format {
	case ConfigKV:
		if c.JSON != nil || c.File != nil {
			return one(Invalid(field, "format kv takes only \"kv\""))
		}
		return kvProblems(field+".kv", c.KV)
	case ConfigJSON:
		if c.KV != nil || c.File != nil {
			return one(Invalid(field, "format json takes only \"json\""))
		}
		obj, err := ParseJSONObject(field+".json", c.JSON, MaxJSONConfigBytes)
		if err != nil {
			return one(err)
		}
		c.JSON = obj
		return nil
	case ConfigFile:
		if c.KV != nil || c.JSON != nil {
			return one(Invalid(field, "format file takes only \"file\""))
		}
		if c.File == nil {
			return one(Invalid(field+".file", "is required with format file: upload the file"))
		}
		var l FieldErrors
		l.Add(ValidateConfigFileName(field+".file.name", c.File.Name))
		if c.File.Size < 0 || c.File.Size > MaxConfigFileBytes {
			l.Add(Invalid(field+".file.size", "must be at most %d bytes (1 MiB)", MaxConfigFileBytes))
		}
		if !ValidSHA256(c.File.SHA256) {
			l.Add(Invalid(field+".file.sha256", "must be 64 lower-case hex digits"))
		}
		return l
	case "":
		return one(Invalid(field+".format", "is required: one of kv, json, file"))
	}
	return one(Invalid(field+".format", "must be one of kv, json, file"))
}

// kvProblems checks every pair: keys are names (unique, nothing invisible),
// notes are one line of text, values are the driver's data.
func kvProblems(field string, pairs []KVPair) FieldErrors {
	if len(pairs) > MaxKVPairs {
		return FieldErrors{Invalid(field, "holds at most %d pairs, got %d", MaxKVPairs, len(pairs))}
	}
	var l FieldErrors
	seen := make(map[string]bool, len(pairs))
	for i, p := range pairs {
		key := indexed(field, i, "key")
		switch n := utf8.RuneCountInString(p.Key); {
		case n == 0 || n > MaxKVKeyLen:
			l.Add(Invalid(key, "must be 1-%d characters", MaxKVKeyLen))
		case seen[p.Key]:
			l.Add(Invalid(key, "duplicate key %q: keys must be unique", p.Key))
		default:
			l.Add(checkText(key, p.Key, textKindLabel))
		}
		seen[p.Key] = true
		if len(p.Value) > MaxKVValueBytes || !plainText(p.Value) {
			l.Add(Invalid(indexed(field, i, "value"), "must be at most %d bytes of UTF-8", MaxKVValueBytes))
		}
		note := indexed(field, i, "note")
		if len(p.Note) > MaxKVNoteBytes {
			l.Add(Invalid(note, "must be at most %d bytes of UTF-8", MaxKVNoteBytes))
		} else {
			l.Add(checkText(note, p.Note, textKindLine))
		}
	}
	return l
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
	}
	return checkText(field, name, textKindLabel)
}

func isNull(raw []byte) bool {
	return raw != nil && string(bytes.TrimSpace(raw)) == "null"
}
