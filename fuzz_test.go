package driverhub_test

import (
	"bytes"
	"encoding/json"
	"slices"
	"testing"

	"github.com/driverhub/driverhub"
	"github.com/google/go-cmp/cmp"
)

func FuzzParseJSONObject(f *testing.F) {
	for _, s := range []string{
		`{"a":1}`,
		`{ "a" : [1, 2, {"b": null}] }`,
		`"{\"a\": 1}"`,
		`{}`,
		`[]`,
		`null`,
		`42`,
		`"x"`,
		`{"a":}`,
		"{\n    x}",
		`{"a":1,}`,
		`{"a":1}}`,
		`{"a":"<>&\u2028"}`,
		`{"a":1,"a":2}`,
		"{\"\xff\":1}",
		jsonObjectOf(1024),
		jsonObjectOf(1025),
	} {
		f.Add([]byte(s))
	}
	f.Add(readTestdata(f, "config_pretty_1024.json"))
	const max = driverhub.MaxJSONConfigBytes
	f.Fuzz(func(t *testing.T, raw []byte) {
		in := bytes.Clone(raw)
		out, err := driverhub.ParseJSONObject("json", raw, max)
		if !bytes.Equal(raw, in) {
			t.Fatalf("ParseJSONObject changed its input")
		}
		if err != nil {
			wantInvalidUnder(t, err, "json") // a repeated key is named by its path
			return
		}
		if len(out) > max {
			t.Fatalf("accepted %d bytes, more than %d", len(out), max)
		}
		if !json.Valid(out) || len(out) < 2 || out[0] != '{' || out[len(out)-1] != '}' {
			t.Fatalf("accepted %q, not a JSON object", out)
		}
		var compact bytes.Buffer
		if err := json.Compact(&compact, out); err != nil || !bytes.Equal(compact.Bytes(), out) {
			t.Fatalf("accepted %q, not compact (%v)", out, err)
		}
		var obj map[string]any
		if err := json.Unmarshal(out, &obj); err != nil {
			t.Fatalf("accepted %q does not decode to an object: %v", out, err)
		}
		again, err := driverhub.ParseJSONObject("json", out, max)
		if err != nil || !bytes.Equal(again, out) {
			t.Fatalf("re-parsing %q = %q, %v; want it unchanged", out, again, err)
		}
		// The value is the one given (directly or as a string of JSON text).
		text := bytes.TrimSpace(raw)
		if text[0] == '"' {
			var s string
			if err := json.Unmarshal(text, &s); err != nil {
				t.Fatal(err)
			}
			text = []byte(s)
		}
		var want map[string]any
		if err := json.Unmarshal(text, &want); err != nil {
			t.Fatalf("accepted text %q does not decode: %v", text, err)
		}
		if diff := cmp.Diff(want, obj); diff != "" {
			t.Fatalf("value changed (-want +got):\n%s", diff)
		}
	})
}

func cloneConfig(c driverhub.DriverConfig) driverhub.DriverConfig {
	c.KV = slices.Clone(c.KV)
	c.JSON = bytes.Clone(c.JSON)
	if c.File != nil {
		f := *c.File
		c.File = &f
	}
	return c
}

func FuzzDriverConfigClean(f *testing.F) {
	for _, s := range []string{
		`{"format":"kv","kv":[{"key":"port","value":"502","note":"Modbus TCP"}]}`,
		`{"format":"kv","kv":[{"key":"a"},{"key":"a"}]}`,
		`{"format":"kv","kv":[{"key":""}]}`,
		`{"format":"kv"}`,
		`{"format":"json","json":{"slave": 1, "regs": [1, 2]}}`,
		`{"format":"json","json":"{\"slave\": 1}"}`,
		`{"format":"json","json":"[1]"}`,
		`{"format":"json","json":[1]}`,
		`{"format":"json","json":{"a":"<"}}`,
		`{"format":"json"}`,
		`{"format":"json","json":{},"kv":[]}`,
		`{"format":"file","file":{"name":"a.conf","size":10,"sha256":"` + validSHA + `"}}`,
		`{"format":"file","file":{"name":"../a","size":10,"sha256":"` + validSHA + `"}}`,
		`{"format":"file"}`,
		`{"format":"yaml"}`,
		`{}`,
		`{"format":"kv","kv":[{"key":"a","value":"b"}],"json":null}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var c driverhub.DriverConfig
		if err := json.Unmarshal(data, &c); err != nil {
			return
		}
		if err := c.Clean("driver_config"); err != nil {
			wantInvalidUnder(t, err, "driver_config")
			return
		}
		switch c.Format {
		case driverhub.ConfigKV:
			if len(c.KV) > driverhub.MaxKVPairs || c.JSON != nil || c.File != nil {
				t.Fatalf("accepted kv config %+v", c)
			}
		case driverhub.ConfigJSON:
			if len(c.JSON) > driverhub.MaxJSONConfigBytes || !json.Valid(c.JSON) || c.JSON[0] != '{' || c.KV != nil || c.File != nil {
				t.Fatalf("accepted json config %+v", c)
			}
		case driverhub.ConfigFile:
			if c.File == nil || c.File.Size > driverhub.MaxConfigFileBytes || c.KV != nil || c.JSON != nil {
				t.Fatalf("accepted file config %+v", c)
			}
		default:
			t.Fatalf("accepted format %q", c.Format)
		}
		before := cloneConfig(c)
		if err := c.Clean("driver_config"); err != nil {
			t.Fatalf("second Clean of %+v: %v", before, err)
		}
		if diff := cmp.Diff(before, c); diff != "" {
			t.Fatalf("second Clean changed the config (-before +after):\n%s", diff)
		}
	})
}

func FuzzContainerDecode(f *testing.F) {
	for _, s := range []string{
		`{}`,
		`null`,
		`{"host_network":false,"port_mappings":[{"host_port":502,"container_port":502,"protocol":"tcp"}]}`,
		`{"port_mappings":[{"host_port":502,"container_port":502,"protocol":"tcp"}]}`,
		`{"host_network":false,"port_mappings":[{"host_port":1,"container_port":1,"protocol":"udp"},{"host_port":1,"container_port":1,"protocol":"udp"}]}`,
		`{"privileged":true,"device_mappings":[{"host_path":"/dev/ttyS0","permission":"rw"}]}`,
		`{"device_mappings":[{"host_path":"/dev/../etc","permission":"rw","comment":"x"}]}`,
		`{"volume_mappings":[{"host_path":"/srv","container_path":"/","permission":"ro"}]}`,
		`{"volume_mappings":[{"host_path":"/srv","container_path":"/d","permission":"ro"},{"host_path":"/x","container_path":"/d","permission":"rw"}]}`,
		`{"memory_limit_mb":16}`,
		`{"memory_limit_mb":65537}`,
		`{"memory_limit_mb":-1,"host_network":null}`,
	} {
		f.Add([]byte(s))
	}
	f.Add(readTestdata(f, "container_full.json"))
	f.Fuzz(func(t *testing.T, data []byte) {
		var c driverhub.Container
		if err := json.Unmarshal(data, &c); err != nil {
			return
		}
		if c.PortMappings == nil || c.DeviceMappings == nil || c.VolumeMappings == nil {
			t.Fatalf("decoded nil slices: %+v", c)
		}
		if err := c.Validate("container"); err != nil {
			wantInvalidUnder(t, err, "container")
			return
		}
		if c.MemoryLimitMB < driverhub.MinMemoryLimitMB || c.MemoryLimitMB > driverhub.MaxMemoryLimitMB ||
			(c.HostNetwork && len(c.PortMappings) > 0) || (c.Privileged && len(c.DeviceMappings) > 0) {
			t.Fatalf("accepted %+v", c)
		}
		b, err := json.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		var back driverhub.Container
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatalf("re-decoding %s: %v", b, err)
		}
		if diff := cmp.Diff(c, back); diff != "" {
			t.Fatalf("round trip changed the settings (-before +after):\n%s", diff)
		}
		if err := back.Validate("container"); err != nil {
			t.Fatalf("round-tripped settings refused: %v", err)
		}
	})
}
