// Reading a command's input: configs from flags, JSON flags, JSON or YAML files.

package cli

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"

	"github.com/driverhub/driverhub"
)

// configFromFlags reads a driver config from a key=value flag or a JSON
// flag; nil when neither was given.
func configFromFlags(cmd *cobra.Command, kvFlag, jsonFlag string) (*driverhub.DriverConfig, error) {
	f := cmd.Flags()
	if f.Changed(kvFlag) && f.Changed(jsonFlag) {
		return nil, usagef(cmd, "--%s and --%s exclude each other", kvFlag, jsonFlag)
	}
	if f.Changed(kvFlag) {
		pairs, _ := f.GetStringArray(kvFlag)
		cfg := &driverhub.DriverConfig{Format: driverhub.ConfigKV, KV: []driverhub.KVPair{}}
		for _, p := range pairs {
			k, v, ok := strings.Cut(p, "=")
			if !ok {
				return nil, usagef(cmd, "--%s %q: want KEY=VALUE", kvFlag, p)
			}
			cfg.KV = append(cfg.KV, driverhub.KVPair{Key: k, Value: v})
		}
		return cfg, nil
	}
	if f.Changed(jsonFlag) {
		raw, err := readJSONFlag(cmd, jsonFlag)
		if err != nil {
			return nil, err
		}
		return &driverhub.DriverConfig{Format: driverhub.ConfigJSON, JSON: raw}, nil
	}
	return nil, nil
}

// readJSONFlag reads a flag holding JSON, or @FILE naming a file of it.
func readJSONFlag(cmd *cobra.Command, flag string) (json.RawMessage, error) {
	text, _ := cmd.Flags().GetString(flag)
	if name, ok := strings.CutPrefix(text, "@"); ok {
		b, err := os.ReadFile(name)
		if err != nil {
			return nil, failf("--%s: %v", flag, err)
		}
		text = string(b)
	}
	var v any
	if err := json.Unmarshal([]byte(text), &v); err != nil {
		return nil, usagef(cmd, "--%s: malformed JSON: %s", flag, driverhub.DescribeJSONError([]byte(text), err))
	}
	return json.RawMessage(text), nil
}

// readInputFile decodes a JSON or YAML file (- for stdin) into out,
// refusing fields out does not have.
func readInputFile(cmd *cobra.Command, name string, out any) error {
	var b []byte
	var err error
	if name == "-" {
		b, err = io.ReadAll(cmd.InOrStdin())
	} else {
		b, err = os.ReadFile(name)
	}
	if err != nil {
		return failf("read %s: %v", name, err)
	}
	isJSON := looksLikeJSON(b)
	if isJSON {
		var v any
		if err := json.Unmarshal(b, &v); err != nil {
			return failf("%s: malformed JSON: %s", name, driverhub.DescribeJSONError(b, err))
		}
	} else {
		var v any
		if err := yaml.Unmarshal(b, &v); err != nil {
			return failf("%s: malformed YAML: %v", name, strings.TrimPrefix(err.Error(), "yaml: "))
		}
		if b, err = json.Marshal(v); err != nil {
			return failf("%s: %v", name, err)
		}
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(out); err != nil {
		if isJSON { // positions in YAML's JSON form would point nowhere in the file
			return failf("%s: %s", name, driverhub.DescribeJSONError(b, err))
		}
		return failf("%s: %s", name, strings.TrimPrefix(err.Error(), "json: "))
	}
	return nil
}

// looksLikeJSON reports whether a file is meant as JSON: it starts, after
// blanks, with an object or an array. Anything else is read as YAML.
func looksLikeJSON(b []byte) bool {
	t := bytes.TrimLeft(b, " \t\r\n\ufeff")
	return len(t) > 0 && (t[0] == '{' || t[0] == '[')
}
