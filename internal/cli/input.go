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
	if !json.Valid([]byte(text)) {
		return nil, usagef(cmd, "--%s is not valid JSON", flag)
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
	if !json.Valid(b) {
		var v any
		if err := yaml.Unmarshal(b, &v); err != nil {
			return failf("%s is neither JSON nor YAML: %v", name, err)
		}
		if b, err = json.Marshal(v); err != nil {
			return failf("%s: %v", name, err)
		}
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(out); err != nil {
		return failf("%s: %v", name, err)
	}
	return nil
}
