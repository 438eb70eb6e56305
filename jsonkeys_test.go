package driverhub_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/driverhub/driverhub"
)

// TestCheckJSONKeys: a key twice in one object, or two keys that differ
// only in case, is refused at any depth, naming the second key's path.
// The same key in different objects is fine.
func TestCheckJSONKeys(t *testing.T) {
	for _, tt := range []struct {
		name, text, prefix, field string // field "" accepted
	}{
		{"distinct keys", `{"name":"a","protocol":"b"}`, "", ""},
		{"same key in sibling objects", `{"a":{"x":1},"b":{"x":2},"c":[{"x":1},{"x":2}]}`, "", ""},
		{"top level", `{"name":"a","name":"b"}`, "", "name"},
		{"case variant", `{"name":"a","Name":"b"}`, "", "Name"},
		{"written with an escape", `{"name":"a","n\u0061me":"b"}`, "", "name"},
		{"Kelvin sign folds to k", "{\"k\":1,\"\u212a\":2}", "", "\u212a"},
		{"long s folds to s", "{\"s\":1,\"\u017f\":2}", "", "\u017f"},
		{"Greek sigma forms", "{\"\u03c3\":1,\"\u03c2\":2}", "", "\u03c2"},
		{"nested object", `{"container":{"memory_limit_mb":16,"memory_limit_mb":32}}`, "", "container.memory_limit_mb"},
		{"in an array row", `{"container":{"port_mappings":[{"host_port":1},{"host_port":1,"HOST_PORT":2}]}}`, "",
			"container.port_mappings[1].HOST_PORT"},
		{"inside a user config", `{"driver_config":{"format":"json","json":{"slave":{"id":1,"Id":2}}}}`, "",
			"driver_config.json.slave.Id"},
		{"below a prefix", `{"a":1,"a":2}`, "config", "config.a"},
		{"empty keys", `{"":1,"":2}`, "", ""},
		{"an empty key then a string value", `{"":"a","b":"c"}`, "", ""},
		{"arrays of scalars", `[1,"a",{"a":[true,null,{"a":1}]}]`, "", ""},
		{"malformed text is the parser's", `{"a":1,"b"`, "", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := driverhub.CheckJSONKeys(tt.prefix, []byte(tt.text))
			if tt.name == "empty keys" {
				wantInvalid(t, err, "")
				return
			}
			checkField(t, err, tt.field)
		})
	}
}

// TestDuplicateKeysInJSONConfigs: a driver config or device config sent as
// JSON text is checked the same way as a body.
func TestDuplicateKeysInJSONConfigs(t *testing.T) {
	_, err := driverhub.ParseJSONObject("config", []byte(`"{\"slave\": 1, \"slave\": 2}"`), 1024)
	e := wantInvalid(t, err, "config.slave")
	if !strings.Contains(e.Message, `"slave"`) {
		t.Errorf("message %q does not name the key", e.Message)
	}
	c := driverhub.DriverConfig{Format: driverhub.ConfigJSON, JSON: json.RawMessage(`{"Mode":"rtu","mode":"tcp"}`)}
	checkField(t, c.Clean("driver_config"), "driver_config.json.mode")
}

// keysOracle reports whether JSON text holds an object with two keys that
// strings.EqualFold finds equal: a slow, separate reading of the rule.
func keysOracle(text []byte) (dup, ok bool) {
	dec := json.NewDecoder(bytes.NewReader(text))
	dec.UseNumber() // 1E700 is valid JSON, though no float64
	var walk func() bool
	walk = func() bool {
		tok, err := dec.Token()
		if err != nil {
			ok = false
			return false
		}
		d, isDelim := tok.(json.Delim)
		if !isDelim {
			return false
		}
		var keys []string
		found := false
		for dec.More() {
			if d == '{' {
				tok, err := dec.Token()
				if err != nil {
					ok = false
					return false
				}
				k := tok.(string)
				for _, prev := range keys {
					if strings.EqualFold(prev, k) {
						found = true
					}
				}
				keys = append(keys, k)
			}
			if walk() {
				found = true
			}
			if !ok {
				return false
			}
		}
		if _, err := dec.Token(); err != nil {
			ok = false
		}
		return found
	}
	ok = true
	dup = walk()
	return dup, ok
}

func FuzzCheckJSONKeys(f *testing.F) {
	for _, s := range []string{
		`{"a":1}`, `{"a":1,"a":2}`, `{"a":1,"A":2}`, `{"a":{"b":[{"c":1,"C":1}]}}`, `[{"a":1},{"a":1}]`,
		`{"":1,"":2}`, `{"":"x","y":"z"}`, "{\"k\":1,\"\u212a\":1}", `{"a":`, `"{\"a\":1,\"a\":2}"`, `[[[[]]]]`,
		`{"a":[1,2,3],"b":{"a":1}}`, `{"ß":1,"SS":2}`, `1E700`, `{"a":1E700,"A":-1e-700}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, text []byte) {
		in := bytes.Clone(text)
		err := driverhub.CheckJSONKeys("body", text)
		if !bytes.Equal(text, in) {
			t.Fatal("CheckJSONKeys changed its input")
		}
		if err != nil {
			wantInvalidUnder(t, err, "body")
		}
		if !json.Valid(text) {
			return // malformed text: the parser speaks; CheckJSONKeys only must not panic
		}
		dup, ok := keysOracle(text)
		if !ok {
			t.Fatalf("the oracle cannot read valid JSON %q", text)
		}
		if dup != (err != nil) {
			t.Fatalf("CheckJSONKeys(%q) = %v, but keys equal ignoring case: %v", text, err, dup)
		}
	})
}
