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

func isNull(raw []byte) bool {
	return raw != nil && string(bytes.TrimSpace(raw)) == "null"
}
