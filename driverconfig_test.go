package driverhub_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/driverhub/driverhub"
	"github.com/google/go-cmp/cmp"
)

// kvPairs returns n distinct valid pairs.
func kvPairs(n int) []driverhub.KVPair {
	pairs := make([]driverhub.KVPair, n)
	for i := range pairs {
		pairs[i] = driverhub.KVPair{Key: fmt.Sprintf("key%d", i), Value: "v", Note: "n"}
	}
	return pairs
}

// kvWith returns 5 valid pairs with pair 3 replaced by p.
func kvWith(p driverhub.KVPair) *driverhub.DriverConfig {
	pairs := kvPairs(5)
	pairs[3] = p
	return &driverhub.DriverConfig{Format: driverhub.ConfigKV, KV: pairs}
}

// jsonConfig returns a json config holding raw.
func jsonConfig(raw string) *driverhub.DriverConfig {
	return &driverhub.DriverConfig{Format: driverhub.ConfigJSON, JSON: json.RawMessage(raw)}
}

// jsonObjectOf returns a compact JSON object of exactly n bytes (n >= 8).
func jsonObjectOf(n int) string {
	s := `{"k":"` + rep("x", n-8) + `"}`
	if len(s) != n {
		panic("jsonObjectOf: bad length")
	}
	return s
}

func fileConfig(name string, size int64, sha string) *driverhub.DriverConfig {
	return &driverhub.DriverConfig{Format: driverhub.ConfigFile,
		File: &driverhub.ConfigFileRef{Name: name, Size: size, SHA256: sha}}
}

// driverConfigCase is a config whose Clean must fault field, or nothing
// when field is "".
type driverConfigCase struct {
	name  string
	cfg   *driverhub.DriverConfig
	field string
}

func TestDriverConfigClean(t *testing.T) {
	file := &driverhub.ConfigFileRef{Name: "a.conf", Size: 1, SHA256: validSHA}
	tests := slices.Concat(
		driverConfigFormatCases(),
		driverConfigKVCases(file),
		driverConfigJSONCases(file),
		driverConfigFileCases(file),
	)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkField(t, tt.cfg.Clean("driver_config"), tt.field)
		})
	}
}

func driverConfigFormatCases() []driverConfigCase {
	return []driverConfigCase{
		{"format missing", &driverhub.DriverConfig{}, "driver_config.format"},
		{"format unknown", &driverhub.DriverConfig{Format: "yaml"}, "driver_config.format"},
		{"format upper case", &driverhub.DriverConfig{Format: "KV", KV: kvPairs(1)}, "driver_config.format"},
	}
}

// driverConfigKVCases, driverConfigJSONCases and driverConfigFileCases
// take file, the valid file reference that the cases mixing formats share.
func driverConfigKVCases(file *driverhub.ConfigFileRef) []driverConfigCase {
	return []driverConfigCase{
		{"kv no pairs", &driverhub.DriverConfig{Format: "kv"}, ""},
		{"kv 100 pairs", &driverhub.DriverConfig{Format: "kv", KV: kvPairs(100)}, ""},
		{"kv 101 pairs", &driverhub.DriverConfig{Format: "kv", KV: kvPairs(101)}, "driver_config.kv"},
		{"kv key empty", kvWith(driverhub.KVPair{Key: "", Value: "v"}), "driver_config.kv[3].key"},
		{"kv key 1 char", kvWith(driverhub.KVPair{Key: "k", Value: "v"}), ""},
		{"kv key 64 ascii", kvWith(driverhub.KVPair{Key: rep("k", 64)}), ""},
		{"kv key 65 ascii", kvWith(driverhub.KVPair{Key: rep("k", 65)}), "driver_config.kv[3].key"},
		{"kv key 64 chinese chars", kvWith(driverhub.KVPair{Key: rep("键", 64)}), ""},
		{"kv key 65 chinese chars", kvWith(driverhub.KVPair{Key: rep("键", 65)}), "driver_config.kv[3].key"},
		{"kv key invalid utf-8", kvWith(driverhub.KVPair{Key: "k\xff"}), "driver_config.kv[3].key"},
		{"kv key duplicate", kvWith(driverhub.KVPair{Key: "key0", Value: "v"}), "driver_config.kv[3].key"},
		{"kv keys differ by case", kvWith(driverhub.KVPair{Key: "KEY0", Value: "v"}), ""},
		{"kv value empty", kvWith(driverhub.KVPair{Key: "k"}), ""},
		{"kv value 1024 bytes", kvWith(driverhub.KVPair{Key: "k", Value: rep("v", 1024)}), ""},
		{"kv value 1025 bytes", kvWith(driverhub.KVPair{Key: "k", Value: rep("v", 1025)}), "driver_config.kv[3].value"},
		{"kv value 1024 bytes multi-byte", kvWith(driverhub.KVPair{Key: "k", Value: accent1024}), ""},
		{"kv value 513 chars 1026 bytes", kvWith(driverhub.KVPair{Key: "k", Value: accent1026}), "driver_config.kv[3].value"},
		{"kv value invalid utf-8", kvWith(driverhub.KVPair{Key: "k", Value: "\xff"}), "driver_config.kv[3].value"},
		{"kv note 256 bytes", kvWith(driverhub.KVPair{Key: "k", Note: bytes256}), ""},
		{"kv note 257 bytes", kvWith(driverhub.KVPair{Key: "k", Note: bytes257}), "driver_config.kv[3].note"},
		{"kv note 256 bytes multi-byte", kvWith(driverhub.KVPair{Key: "k", Note: cjk256}), ""},
		{"kv note 86 chars 258 bytes", kvWith(driverhub.KVPair{Key: "k", Note: cjk258}), "driver_config.kv[3].note"},
		{"kv with json", &driverhub.DriverConfig{Format: "kv", KV: kvPairs(1), JSON: json.RawMessage(`{}`)}, "driver_config"},
		{"kv with file", &driverhub.DriverConfig{Format: "kv", KV: kvPairs(1), File: file}, "driver_config"},
	}
}

func driverConfigJSONCases(file *driverhub.ConfigFileRef) []driverConfigCase {
	return []driverConfigCase{
		{"json object", jsonConfig(`{"a":1}`), ""},
		{"json empty object", jsonConfig(`{}`), ""},
		{"json 1024 bytes", jsonConfig(jsonObjectOf(1024)), ""},
		{"json 1025 bytes", jsonConfig(jsonObjectOf(1025)), "driver_config.json"},
		{"json missing", jsonConfig(""), "driver_config.json"},
		{"json null", jsonConfig("null"), "driver_config.json"},
		{"json array", jsonConfig(`[{"a":1}]`), "driver_config.json"},
		{"json string", jsonConfig(`"abc"`), "driver_config.json"},
		{"json string holding array", jsonConfig(`"[1,2]"`), "driver_config.json"},
		{"json number", jsonConfig(`42`), "driver_config.json"},
		{"json bool", jsonConfig(`true`), "driver_config.json"},
		{"json malformed", jsonConfig(`{"a":}`), "driver_config.json"},
		{"json two values", jsonConfig(`{} {}`), "driver_config.json"},
		{"json with kv", &driverhub.DriverConfig{Format: "json", JSON: json.RawMessage(`{}`), KV: kvPairs(1)}, "driver_config"},
		{"json with empty kv", &driverhub.DriverConfig{Format: "json", JSON: json.RawMessage(`{}`), KV: []driverhub.KVPair{}}, "driver_config"},
		{"json with file", &driverhub.DriverConfig{Format: "json", JSON: json.RawMessage(`{}`), File: file}, "driver_config"},
	}
}

func driverConfigFileCases(file *driverhub.ConfigFileRef) []driverConfigCase {
	return []driverConfigCase{
		{"file", fileConfig("modbus.yaml", 10, validSHA), ""},
		{"file empty", fileConfig("empty.conf", 0, validSHA), ""},
		{"file 1 MiB", fileConfig("a.conf", 1<<20, validSHA), ""},
		{"file 1 MiB + 1", fileConfig("a.conf", 1<<20+1, validSHA), "driver_config.file.size"},
		{"file negative size", fileConfig("a.conf", -1, validSHA), "driver_config.file.size"},
		{"file missing", &driverhub.DriverConfig{Format: "file"}, "driver_config.file"},
		{"file name empty", fileConfig("", 1, validSHA), "driver_config.file.name"},
		{"file name 255 bytes", fileConfig(rep("n", 255), 1, validSHA), ""},
		{"file name 256 bytes", fileConfig(rep("n", 256), 1, validSHA), "driver_config.file.name"},
		{"file name 86 chars 258 bytes", fileConfig(rep("名", 86), 1, validSHA), "driver_config.file.name"},
		{"file name unicode", fileConfig("配置.json", 1, validSHA), ""},
		{"file name slash", fileConfig("etc/a.conf", 1, validSHA), "driver_config.file.name"},
		{"file name absolute", fileConfig("/a.conf", 1, validSHA), "driver_config.file.name"},
		{"file name backslash", fileConfig(`..\a.conf`, 1, validSHA), "driver_config.file.name"},
		{"file name dot", fileConfig(".", 1, validSHA), "driver_config.file.name"},
		{"file name dot dot", fileConfig("..", 1, validSHA), "driver_config.file.name"},
		{"file name three dots", fileConfig("...", 1, validSHA), ""},
		{"file name hidden", fileConfig(".env", 1, validSHA), ""},
		{"file name nul", fileConfig("a\x00b", 1, validSHA), "driver_config.file.name"},
		{"file name invalid utf-8", fileConfig("a\xff", 1, validSHA), "driver_config.file.name"},
		{"file sha256 upper case", fileConfig("a.conf", 1, strings.ToUpper(validSHA)), "driver_config.file.sha256"},
		{"file sha256 short", fileConfig("a.conf", 1, validSHA[1:]), "driver_config.file.sha256"},
		{"file sha256 empty", fileConfig("a.conf", 1, ""), "driver_config.file.sha256"},
		{"file with kv", &driverhub.DriverConfig{Format: "file", File: file, KV: kvPairs(1)}, "driver_config"},
		{"file with json", &driverhub.DriverConfig{Format: "file", File: file, JSON: json.RawMessage(`{}`)}, "driver_config"},
	}
}
func TestDriverConfigCleanFieldPrefix(t *testing.T) {
	c := kvWith(driverhub.KVPair{Key: "k", Value: rep("v", 1025)})
	checkField(t, c.Clean("config"), "config.kv[3].value")
}

// A JSON config decoded from a request body: an object, or a string of JSON
// text as an editor sends it, both stored compacted.
func TestDriverConfigCleanCanonicalizesJSON(t *testing.T) {
	tests := []struct{ name, body, want string }{
		{"object", `{"format":"json","json":{ "a" : 1, "b" : [1, 2] }}`, `{"a":1,"b":[1,2]}`},
		{"pretty object", "{\"format\":\"json\",\"json\":{\n\t\"a\": {\"b\": null}\n}}", `{"a":{"b":null}}`},
		{"string of json", `{"format":"json","json":"{ \"a\" : 1,\n \"b\": \"x y\" }"}`, `{"a":1,"b":"x y"}`},
		{"string of empty object", `{"format":"json","json":" {} "}`, `{}`},
		{"unicode kept", `{"format":"json","json":{"名称": "泵 1"}}`, `{"名称":"泵 1"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var c driverhub.DriverConfig
			if err := json.Unmarshal([]byte(tt.body), &c); err != nil {
				t.Fatal(err)
			}
			if err := c.Clean("driver_config"); err != nil {
				t.Fatal(err)
			}
			if got := string(c.JSON); got != tt.want {
				t.Errorf("json = %s, want %s", got, tt.want)
			}
			before := string(c.JSON)
			if err := c.Clean("driver_config"); err != nil || string(c.JSON) != before {
				t.Errorf("second Clean: err %v, json %s; want nil, %s", err, c.JSON, before)
			}
		})
	}
}

// Whitespace does not count against the 1024 bytes: the fixture is 1024 bytes
// compacted and more than twice that pretty-printed.
func TestDriverConfigCleanJSONWhitespaceDoesNotCount(t *testing.T) {
	raw := readTestdata(t, "config_pretty_1024.json")
	if len(raw) <= driverhub.MaxJSONConfigBytes {
		t.Fatalf("fixture is %d bytes, want more than %d", len(raw), driverhub.MaxJSONConfigBytes)
	}
	for _, form := range []string{"object", "string"} {
		t.Run(form, func(t *testing.T) {
			in := bytes.Clone(raw)
			if form == "string" {
				in, _ = json.Marshal(string(raw))
			}
			c := &driverhub.DriverConfig{Format: "json", JSON: in}
			if err := c.Clean("driver_config"); err != nil {
				t.Fatal(err)
			}
			if len(c.JSON) != driverhub.MaxJSONConfigBytes {
				t.Errorf("compacted to %d bytes, want %d", len(c.JSON), driverhub.MaxJSONConfigBytes)
			}
			// One more byte of content, still pretty-printed: refused.
			var obj map[string]any
			if err := json.Unmarshal(raw, &obj); err != nil {
				t.Fatal(err)
			}
			obj["note"] = obj["note"].(string) + "x"
			bigger, _ := json.MarshalIndent(obj, "", "    ")
			c = &driverhub.DriverConfig{Format: "json", JSON: bigger}
			checkField(t, c.Clean("driver_config"), "driver_config.json")
		})
	}
}

func TestDriverConfigCleanJSONNullOtherFields(t *testing.T) {
	var c driverhub.DriverConfig
	if err := json.Unmarshal([]byte(`{"format":"kv","kv":[{"key":"a","value":"b"}],"json":null,"file":null}`), &c); err != nil {
		t.Fatal(err)
	}
	checkField(t, c.Clean("driver_config"), "")
}

// The API and the store write a config without HTML escaping: a config
// accepted at the limit must still be accepted when a client sends back
// what it read.
func TestDriverConfigCleanSurvivesMarshalRoundTrip(t *testing.T) {
	c := jsonConfig(`{"k":"` + rep("<", 1016) + `"}`) // 1024 bytes
	if err := c.Clean("driver_config"); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	enc := json.NewEncoder(&out) // as the API and the store write it
	enc.SetEscapeHTML(false)
	if err := enc.Encode(c); err != nil {
		t.Fatal(err)
	}
	b := out.Bytes()
	var back driverhub.DriverConfig
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	checkField(t, back.Clean("driver_config"), "")
}

func TestParseJSONObject(t *testing.T) {
	tests := []struct {
		name, raw string
		max       int
		want      string // "" when refused
	}{
		{"object", `{"a":1}`, 1024, `{"a":1}`},
		{"surrounding space", " \n{ \"a\" : 1 }\n ", 1024, `{"a":1}`},
		{"nested", `{"a":{"b":[1,{"c":"d e"}]}}`, 1024, `{"a":{"b":[1,{"c":"d e"}]}}`},
		{"string of object", `"{\"a\": 1}"`, 1024, `{"a":1}`},
		{"at max", `{"a":1234}`, 10, `{"a":1234}`},
		{"over max", `{"a":12345}`, 10, ""},
		{"over max by whitespace only", `{ "a" : 1 }`, 7, `{"a":1}`},
		{"empty", ``, 1024, ""},
		{"blank", " \t\n", 1024, ""},
		{"null", `null`, 1024, ""},
		{"array", `[]`, 1024, ""},
		{"number", `1`, 1024, ""},
		{"string", `"x"`, 1024, ""},
		{"string of null", `"null"`, 1024, ""},
		{"string of string of object", `"\"{}\""`, 1024, ""},
		{"unterminated string", `"{}`, 1024, ""},
		{"malformed", `{a:1}`, 1024, ""},
		{"trailing garbage", `{}x`, 1024, ""},
		{"huge", `{"k":"` + rep("x", 100_000) + `"}`, 1024, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := driverhub.ParseJSONObject("cfg", []byte(tt.raw), tt.max)
			if tt.want == "" {
				wantInvalid(t, err, "cfg")
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
		})
	}
}

// Malformed JSON is refused with the parser's position: line and column of
// the byte at fault (1-based), or just past the end for truncated text.
func TestParseJSONObjectErrorPosition(t *testing.T) {
	tests := []struct {
		name, raw, want string
		bug             string
	}{
		{"second line", "{\n    x}", "line 2, column 5", ""},
		{"first line", `{"a" 1}`, "line 1, column 6", ""},
		{"third line", "{\n  \"a\": 1,\n  \"b\": ]\n}", "line 3, column 8", ""},
		{"crlf", "{\r\n  \"a\": ,}", "line 2, column 8", ""},
		{"truncated", `{"a":1`, "line 1, column 7", ""},
		{"inside string of json", `"{\n  \"a\": x}"`, "line 2, column 8", ""},
		{"last byte at fault", `{"a":1,}`, "line 1, column 8",
			"DescribeJSONError does not step back from the offset when the byte at fault is the last byte (reports column 9)"},
		{"newline at fault", "{\"a\":\"x\ny\"}", "line 1, column 8",
			"DescribeJSONError counts the faulty newline itself and reports line 2, column 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := driverhub.ParseJSONObject("driver_config.json", []byte(tt.raw), 1024)
			e := wantInvalid(t, err, "driver_config.json")
			if !strings.Contains(e.Message, tt.want) {
				t.Errorf("message %q does not contain %q", e.Message, tt.want)
			}
			if !strings.Contains(e.Message, "malformed JSON") {
				t.Errorf("message %q does not say the JSON is malformed", e.Message)
			}
		})
	}
}

func TestDescribeJSONErrorOtherErrors(t *testing.T) {
	if got := driverhub.DescribeJSONError([]byte("{}"), errors.New("boom")); got != "boom" {
		t.Errorf("got %q, want %q", got, "boom")
	}
}

func TestValidateConfigFileName(t *testing.T) {
	for _, tt := range []struct {
		name string
		ok   bool
	}{
		{"a", true}, {"config.yaml", true}, {rep("n", 255), true}, {"配置 1.ini", true},
		{"", false}, {rep("n", 256), false}, {".", false}, {"..", false},
		{"a/b", false}, {"/", false}, {`a\b`, false}, {"a\x00", false}, {"\xfe", false},
	} {
		t.Run(fmt.Sprintf("%.20q", tt.name), func(t *testing.T) {
			field := "f"
			if tt.ok {
				field = ""
			}
			checkField(t, driverhub.ValidateConfigFileName("f", tt.name), field)
		})
	}
}

func TestValidSHA256(t *testing.T) {
	for _, tt := range []struct {
		s  string
		ok bool
	}{
		{validSHA, true},
		{rep("f", 64), true},
		{"", false},
		{validSHA[:63], false},
		{validSHA + "0", false},
		{strings.ToUpper(validSHA), false},
		{rep("g", 64), false},
		{rep("0", 62) + " 0", false},
	} {
		if got := driverhub.ValidSHA256(tt.s); got != tt.ok {
			t.Errorf("ValidSHA256(%q) = %v, want %v", tt.s, got, tt.ok)
		}
	}
}

// A cleaned config round-trips through JSON as the API serves it.
func TestDriverConfigJSONShape(t *testing.T) {
	tests := []struct {
		name string
		cfg  driverhub.DriverConfig
		want string
	}{
		{"kv", driverhub.DriverConfig{Format: "kv", KV: []driverhub.KVPair{{Key: "a", Value: "1", Note: "n"}}},
			`{"format":"kv","kv":[{"key":"a","value":"1","note":"n"}]}`},
		{"json", driverhub.DriverConfig{Format: "json", JSON: json.RawMessage(`{"a":1}`)}, `{"format":"json","json":{"a":1}}`},
		{"file", driverhub.DriverConfig{Format: "file", File: &driverhub.ConfigFileRef{Name: "a", Size: 1, SHA256: validSHA}},
			`{"format":"file","file":{"name":"a","size":1,"sha256":"` + validSHA + `"}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := json.Marshal(tt.cfg)
			if err != nil {
				t.Fatal(err)
			}
			if string(b) != tt.want {
				t.Errorf("marshal = %s\nwant      %s", b, tt.want)
			}
			var back driverhub.DriverConfig
			if err := json.Unmarshal(b, &back); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.cfg, back); diff != "" {
				t.Errorf("round trip (-want +got):\n%s", diff)
			}
			checkField(t, back.Clean("driver_config"), "")
		})
	}
}
