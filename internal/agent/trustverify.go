package agent

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/theupdateframework/go-tuf/v2/metadata"

	"github.com/driverhub/driverhub"
	"github.com/driverhub/driverhub/internal/tufmeta"
)

// signatureReason starts the message of a package a pinned agent refuses
// (SPEC §11), so that people and scripts can tell the cases apart.
type signatureReason string

const (
	// reasonNotSigned: no current signed target names the package, or no
	// valid signed metadata could be had (none on the server, unreachable,
	// signatures that do not verify).
	reasonNotSigned signatureReason = "not_signed"
	// reasonHashMismatch: the target exists, with another length or SHA-256.
	reasonHashMismatch signatureReason = "hash_mismatch"
	// reasonRevoked: the signed targets list the name in custom.revoked.
	reasonRevoked signatureReason = "revoked"
	// reasonExpired: the root, timestamp, snapshot or targets has expired
	// (a freeze attack, or a server that stopped re-signing).
	reasonExpired signatureReason = "trust_metadata_expired"
	// reasonRollback: metadata older than what the agent trusts, or other
	// than the version the signed timestamp or snapshot names.
	reasonRollback signatureReason = "rollback_detected"
)

// signatureError is a package a pinned agent refuses; it fails the
// driver at stage verify and leaves its running version as it is.
type signatureError struct {
	reason signatureReason
	msg    string
}

func (e *signatureError) Error() string { return string(e.reason) + ": " + e.msg }

// checkSigned refuses, for an agent pinned with --trust-root, a package
// that is not a current signed target of the same length and SHA-256. It
// returns what to add to the verify step's log line. An agent that is not
// pinned checks nothing: it trusts the server's digests.
func (a *Agent) checkSigned(ctx context.Context, p *progress, md *driverhub.ManifestDriver) (string, error) {
	if a.trust == nil {
		return "", nil
	}
	v, err := a.trust.viewFor(ctx, p)
	if err != nil {
		return "", err
	}
	return v.check(md)
}

// signedView is the top-level targets a refresh verified.
type signedView struct {
	version int64
	targets map[string]*metadata.TargetFiles
	revoked map[string]bool
}

func newSignedView(t *metadata.Metadata[metadata.TargetsType]) (*signedView, error) {
	if t == nil {
		return nil, &signatureError{reasonNotSigned, "the refresh verified no targets"}
	}
	v := &signedView{version: t.Signed.Version, targets: t.Signed.Targets, revoked: map[string]bool{}}
	revoked, err := tufmeta.Revoked(&t.Signed)
	if err != nil {
		return nil, &signatureError{reasonNotSigned, fmt.Sprintf("targets version %d: %v", v.version, err)}
	}
	for _, name := range revoked {
		v.revoked[name] = true
	}
	return v, nil
}

// targetName is the signed target a manifest's package must be.
func targetName(md *driverhub.ManifestDriver) string {
	return md.Publisher + "/" + md.Name + "/" + md.Version
}

func (v *signedView) check(md *driverhub.ManifestDriver) (string, error) {
	name := targetName(md)
	if v.revoked[name] {
		return "", &signatureError{reasonRevoked, fmt.Sprintf("%s is revoked by the signed targets (version %d): it is never installed again", name, v.version)}
	}
	t := v.targets[name]
	if t == nil {
		return "", &signatureError{reasonNotSigned, fmt.Sprintf("%s is not a signed target (targets version %d): sign it with driverhub sign", name, v.version)}
	}
	digest := hex.EncodeToString(t.Hashes["sha256"])
	if t.Length != md.Package.Size || digest != md.Package.SHA256 {
		return "", &signatureError{reasonHashMismatch, fmt.Sprintf("the deployment's package (%d bytes, SHA-256 %s) is not the signed target %s (%d bytes, SHA-256 %s)",
			md.Package.Size, md.Package.SHA256, name, t.Length, digest)}
	}
	if err := sameCustom(t, md); err != nil {
		return "", &signatureError{reasonHashMismatch, fmt.Sprintf("the deployment is not the signed target %s: %v", name, err)}
	}
	return fmt.Sprintf("; signed target %s (targets version %d)", name, v.version), nil
}

// sameCustom compares what the signed target says of how the package runs
// (its custom runtime and min_edge_version) with the deployment: a server
// must not run signed bytes another way than they were signed for.
func sameCustom(t *metadata.TargetFiles, md *driverhub.ManifestDriver) error {
	c, ok := tufmeta.Custom(t)
	switch {
	case t.Custom == nil:
		return nil
	case !ok:
		return fmt.Errorf("its custom field is not {runtime, min_edge_version}: %s", *t.Custom)
	case c.Runtime != "" && c.Runtime != string(md.Runtime):
		return fmt.Errorf("the deployment runs it as %s, it was signed as %s", md.Runtime, c.Runtime)
	case c.MinEdgeVersion != "" && c.MinEdgeVersion != md.MinEdge:
		return fmt.Errorf("the deployment says min_edge_version %q, it was signed with %q", md.MinEdge, c.MinEdgeVersion)
	}
	return nil
}

// refreshFailure names the reason of a failed refresh from go-tuf's error
// types; last is the file fetched last, which go-tuf was verifying. Every
// packaged driver of the deployment fails with it.
func refreshFailure(err error, last string) error {
	var httpErr *metadata.ErrDownloadHTTP
	switch {
	case errors.Is(err, &metadata.ErrExpiredMetadata{}):
		return &signatureError{reasonExpired, err.Error()}
	case errors.Is(err, &metadata.ErrBadVersionNumber{}):
		return &signatureError{reasonRollback, err.Error()}
	case errors.Is(err, &metadata.ErrLengthOrHashMismatch{}):
		return &signatureError{reasonRollback, fmt.Sprintf("%s is not the file the signed metadata names: %v", last, err)}
	case errors.As(err, &httpErr) && httpErr.StatusCode == http.StatusNotFound && strings.HasSuffix(httpErr.URL, "/timestamp.json"):
		return &signatureError{reasonNotSigned, "the server has no signed metadata for this gateway's tenant (run driverhub trust init): " + err.Error()}
	case errors.Is(err, &metadata.ErrUnsignedMetadata{}):
		return &signatureError{reasonNotSigned, "the signed metadata does not verify: " + err.Error()}
	}
	return &signatureError{reasonNotSigned, "cannot refresh the signed metadata: " + err.Error()}
}
