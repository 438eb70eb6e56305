package driverhub

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"time"
)

// Signed drivers (SPEC §11): each tenant has a repository of The Update
// Framework. People hold its root and targets keys offline; the server
// holds the online snapshot and timestamp keys and re-signs those roles.
// A target is a published package, named <publisher>/<driver>/<version>.

// The four top-level roles of a TUF repository.
const (
	TUFRoot      = "root"
	TUFTargets   = "targets"
	TUFSnapshot  = "snapshot"
	TUFTimestamp = "timestamp"
)

// TUFMetadata is one version of a role's signed metadata, stored as the
// bytes that are served.
type TUFMetadata struct {
	TenantID  string
	Role      string
	Version   int64
	Body      []byte
	ExpiresAt time.Time
	// RefreshAt is when the server re-signs it (snapshot and timestamp:
	// half its life); for root and targets, its expiry.
	RefreshAt time.Time
	CreatedAt time.Time
}

// TUFKey is one of a tenant's online keys (snapshot or timestamp). Only
// the server uses it; its private half is stored sealed under the
// server's secret key.
type TUFKey struct {
	TenantID string
	Role     string
	KeyID    string
	// Public is the key as TUF metadata lists it (keytype, scheme, keyval).
	Public json.RawMessage
	// Sealed is the private key, encrypted and authenticated.
	Sealed    []byte
	CreatedAt time.Time
}

// TUFOnlineKeys answers which public keys a tenant's root must list for
// the snapshot and timestamp roles, so that the server can sign them.
type TUFOnlineKeys struct {
	Snapshot  json.RawMessage `json:"snapshot"`
	Timestamp json.RawMessage `json:"timestamp"`
}

// TUFUpload answers an accepted upload of signed metadata: the role's new
// version and, for targets, the snapshot and timestamp re-signed over it.
type TUFUpload struct {
	Role             string    `json:"role"`
	Version          int64     `json:"version"`
	Expires          time.Time `json:"expires"`
	SnapshotVersion  int64     `json:"snapshot_version,omitempty"`
	TimestampVersion int64     `json:"timestamp_version,omitempty"`
}

// VersionSignature tells whether a version of a driver is a current
// signed target of the tenant's repository.
type VersionSignature struct {
	Version string `json:"version"`
	Signed  bool   `json:"signed"`
	// KeyIDs are the targets keys whose signatures on targets.json the
	// current root accepts.
	KeyIDs  []string `json:"key_ids,omitempty"`
	Revoked bool     `json:"revoked"`
}

// DriverSignatures is what the tenant's repository says of one driver.
type DriverSignatures struct {
	// Initialized is false before the tenant ran driverhub trust init.
	Initialized bool               `json:"initialized"`
	Publisher   string             `json:"publisher"`
	Driver      string             `json:"driver"`
	Versions    []VersionSignature `json:"versions"`
	// Revoked lists the driver's revoked versions.
	Revoked []string `json:"revoked"`
}

// Of returns what is known of one version (unsigned when not listed).
func (d *DriverSignatures) Of(version string) VersionSignature {
	for _, v := range d.Versions {
		if v.Version == version {
			return v
		}
	}
	return VersionSignature{Version: version}
}

// TargetName is the name of a package in TUF targets metadata.
func TargetName(publisher, driver, version string) string {
	return publisher + "/" + driver + "/" + version
}

// targetNamePattern is <publisher>/<driver>/<version> with the characters
// each part may hold (tenant names, driver names, version names).
var targetNamePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*/[^/\s]+/[^/\s]+$`)

// ParseTargetName splits a target name into publisher, driver and version.
func ParseTargetName(name string) (publisher, driver, version string, err error) {
	if !targetNamePattern.MatchString(name) {
		return "", "", "", fmt.Errorf("target %q is not named <publisher>/<driver>/<version>", name)
	}
	parts := strings.Split(name, "/")
	return parts[0], parts[1], parts[2], nil
}

// TUFService serves a tenant's TUF repository (SPEC §11). Methods read the
// caller from the context (WithPrincipal, or WithGateway for gateways).
type TUFService interface {
	// TUFMetadata returns a file of the caller's repository: root.json,
	// timestamp.json, N.root.json, N.snapshot.json or N.targets.json.
	TUFMetadata(ctx context.Context, file string) ([]byte, error)
	// GatewayTUFMetadata is TUFMetadata for the gateway's tenant.
	GatewayTUFMetadata(ctx context.Context, file string) ([]byte, error)
	// TUFOnlineKeys returns the server's snapshot and timestamp public
	// keys of the caller's tenant, made on first use.
	TUFOnlineKeys(ctx context.Context) (*TUFOnlineKeys, error)
	// PutTUFRoot accepts a new root signed by the current root's
	// threshold and its own.
	PutTUFRoot(ctx context.Context, body []byte) (*TUFUpload, error)
	// PutTUFTargets accepts new targets signed by the root's targets
	// keys and re-signs snapshot and timestamp over them.
	PutTUFTargets(ctx context.Context, body []byte) (*TUFUpload, error)
	// DriverSignatures tells which versions of one of the caller's
	// drivers are signed, by which keys, and which are revoked.
	DriverSignatures(ctx context.Context, driver string) (*DriverSignatures, error)
}
