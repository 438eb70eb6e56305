// Package tufmeta holds what driverhub adds to The Update Framework's
// metadata (SPEC §11), for the server, the CLI and the agent alike: the
// custom fields of a target, the list of revoked target names inside the
// signed targets, ed25519 keys as TUF lists them, and the file names of a
// repository with consistent snapshots. go-tuf's metadata package does the
// rest (parsing, signing, verifying).
package tufmeta

import (
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/theupdateframework/go-tuf/v2/metadata"
)

// TargetCustom is the custom field of a target: what the agent needs of
// the package before it unpacks it.
type TargetCustom struct {
	Runtime        string `json:"runtime"`
	MinEdgeVersion string `json:"min_edge_version"`
}

// Custom returns a target's custom field as TargetCustom; ok is false when
// the target has none or it is not that shape.
func Custom(t *metadata.TargetFiles) (c TargetCustom, ok bool) {
	if t == nil || t.Custom == nil {
		return c, false
	}
	return c, json.Unmarshal(*t.Custom, &c) == nil
}

// SetCustom sets a target's custom field.
func SetCustom(t *metadata.TargetFiles, c TargetCustom) {
	b, _ := json.Marshal(c) // two strings: cannot fail
	raw := json.RawMessage(b)
	t.Custom = &raw
}

// customField is the key, in the signed part of targets metadata, of
// driverhub's own fields (go-tuf keeps fields it does not know).
const customField = "custom"

// Revoked returns the target names listed in custom.revoked of signed
// targets metadata: versions that must never be installed again.
func Revoked(t *metadata.TargetsType) ([]string, error) {
	raw, ok := t.UnrecognizedFields[customField]
	if !ok || raw == nil {
		return []string{}, nil
	}
	custom, ok := raw.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("custom must be an object")
	}
	list, ok := custom["revoked"]
	if !ok || list == nil {
		return []string{}, nil
	}
	items, ok := list.([]any)
	if !ok {
		return nil, fmt.Errorf("custom.revoked must be a list of target names")
	}
	out := make([]string, 0, len(items))
	for _, it := range items {
		s, ok := it.(string)
		if !ok {
			return nil, fmt.Errorf("custom.revoked must be a list of target names")
		}
		out = append(out, s)
	}
	return out, nil
}

// SetRevoked writes custom.revoked, sorted and without duplicates,
// keeping the other custom fields.
func SetRevoked(t *metadata.TargetsType, names []string) {
	names = slices.Compact(slices.Sorted(slices.Values(names)))
	if t.UnrecognizedFields == nil {
		t.UnrecognizedFields = map[string]any{}
	}
	custom, _ := t.UnrecognizedFields[customField].(map[string]any)
	if custom == nil {
		custom = map[string]any{}
	}
	list := make([]any, len(names))
	for i, n := range names {
		list[i] = n
	}
	custom["revoked"] = list
	t.UnrecognizedFields[customField] = custom
}

// PublicKey is an ed25519 public key as TUF metadata lists it, with its id.
func PublicKey(pub ed25519.PublicKey) (*metadata.Key, string, error) {
	k, err := metadata.KeyFromPublicKey(pub)
	if err != nil {
		return nil, "", err
	}
	id, err := k.ID()
	return k, id, err
}

// Signer signs metadata with an ed25519 private key.
func Signer(priv ed25519.PrivateKey) (signature.Signer, error) {
	return signature.LoadED25519Signer(priv)
}

// Expiry is a metadata expiry time as TUF writes it: UTC, whole seconds.
func Expiry(now time.Time, life time.Duration) time.Time {
	return now.Add(life).UTC().Truncate(time.Second)
}

// FileName is the name of a role's metadata file in a repository with
// consistent snapshots: "N.role.json"; timestamp.json has no version.
func FileName(role string, version int64) string {
	if role == metadata.TIMESTAMP {
		return "timestamp.json"
	}
	return strconv.FormatInt(version, 10) + "." + role + ".json"
}

// ParseFileName reads a repository file name: "root.json" and
// "timestamp.json" (the latest version, 0) or "N.root.json",
// "N.snapshot.json", "N.targets.json". ok is false for anything else.
func ParseFileName(file string) (role string, version int64, ok bool) {
	switch file {
	case "root.json":
		return metadata.ROOT, 0, true
	case "timestamp.json":
		return metadata.TIMESTAMP, 0, true
	}
	num, rest, found := strings.Cut(file, ".")
	if !found || num == "" || num[0] == '0' || len(num) > 18 || strings.Trim(num, "0123456789") != "" {
		return "", 0, false
	}
	v, err := strconv.ParseInt(num, 10, 64)
	if err != nil || v < 1 {
		return "", 0, false
	}
	switch rest {
	case "root.json":
		return metadata.ROOT, v, true
	case "snapshot.json":
		return metadata.SNAPSHOT, v, true
	case "targets.json":
		return metadata.TARGETS, v, true
	}
	return "", 0, false
}

// ShortKeyID is how people see a key id: its first 8 hex digits.
func ShortKeyID(id string) string {
	if len(id) > 8 {
		return id[:8]
	}
	return id
}
