package agent

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/theupdateframework/go-tuf/v2/metadata"
	"github.com/theupdateframework/go-tuf/v2/metadata/config"
	"github.com/theupdateframework/go-tuf/v2/metadata/trustedmetadata"
	"github.com/theupdateframework/go-tuf/v2/metadata/updater"

	"github.com/driverhub/driverhub/internal/httpapi/client"
)

// refreshTimeout bounds one refresh of the signed metadata.
const refreshTimeout = time.Minute

// pinnedDigestFile records the SHA-256 of the root the agent was pinned
// with, so that a new pin (another tenant, a reinstalled gateway) starts
// over from it instead of from what the old one led to.
const pinnedDigestFile = "pinned-root.sha256"

// trustedFiles are the metadata go-tuf's updater keeps in the trust
// directory: what it trusts now, replaced by rename as it refreshes.
var trustedFiles = []string{"root.json", "timestamp.json", "snapshot.json", "targets.json"}

// trustStore is what a pinned agent trusts, kept in DIR/trust (0700): the
// latest root it verified (starting from the pinned one) and the
// timestamp, snapshot and targets it last accepted. Kept on disk, the
// versions it trusts survive restarts, so older metadata stays refused.
type trustStore struct {
	dir    string
	client *client.Client
	log    *slog.Logger
	now    func() time.Time // reference time of the expiry checks

	mu           sync.Mutex
	refreshedFor *progress // the deployment the last refresh was made for
	view         *signedView
	err          error
}

// PinTrustRoot makes the agent install only packages signed under the TUF
// root in rootFile (SPEC §11), whatever the tenant's policy. The root is
// checked (a root signed by its own threshold); the metadata the agent
// trusts is kept under the agent's directory.
func (a *Agent) PinTrustRoot(rootFile string) error {
	pin, err := os.ReadFile(rootFile)
	if err != nil {
		return err
	}
	if _, err := trustedmetadata.New(pin); err != nil {
		return fmt.Errorf("%s is not a TUF root signed by its own keys: %w", rootFile, err)
	}
	dir := filepath.Join(a.cfg.Dir, "trust")
	if err := startTrust(dir, pin, a.log); err != nil {
		return fmt.Errorf("trust directory %s: %w", dir, err)
	}
	a.trust = &trustStore{dir: dir, client: a.client, log: a.log, now: time.Now}
	return nil
}

// startTrust makes the trust directory, and starts it over from the pin
// when it is new or differs from the pin it was started from.
func startTrust(dir string, pin []byte, log *slog.Logger) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return err
	}
	sum := sha256.Sum256(pin)
	digest := hex.EncodeToString(sum[:])
	recorded, err := os.ReadFile(filepath.Join(dir, pinnedDigestFile))
	if err == nil && string(recorded) == digest {
		if _, err := os.Stat(filepath.Join(dir, "root.json")); err == nil {
			return nil
		}
	} else if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	if recorded != nil && string(recorded) != digest {
		log.Warn("the trust root differs from the one the agent was pinned with: trusting the new one from its version on", "dir", dir)
	}
	for _, name := range trustedFiles {
		if err := os.Remove(filepath.Join(dir, name)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	if err := writeFileAtomic(filepath.Join(dir, "root.json"), pin, 0o600); err != nil {
		return err
	}
	return writeFileAtomic(filepath.Join(dir, pinnedDigestFile), []byte(digest), 0o600)
}

// viewFor refreshes the signed metadata once per deployment: the first
// packaged driver of p refreshes, the others reuse its outcome.
func (s *trustStore) viewFor(ctx context.Context, p *progress) (*signedView, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.refreshedFor != p {
		s.refreshedFor = p
		s.view, s.err = s.refresh(ctx)
		if s.err != nil {
			s.log.Warn("refresh signed metadata", "err", s.err)
		}
	}
	return s.view, s.err
}

// refresh runs the TUF client workflow through the gateway API: new root
// versions one by one, then timestamp, and snapshot and targets only when
// the timestamp names new ones. Its failure is a *signatureError.
func (s *trustStore) refresh(ctx context.Context) (*signedView, error) {
	before := s.readTrusted()
	cfg, err := config.New(s.client.URL(tufMetadataPath), before["root.json"])
	if err != nil {
		return nil, refreshFailure(err, "")
	}
	cfg.LocalMetadataDir, cfg.LocalTargetsDir = s.dir, s.dir
	ctx, cancel := context.WithTimeout(ctx, refreshTimeout)
	defer cancel()
	fetcher := &gatewayFetcher{ctx: ctx, client: s.client}
	cfg.Fetcher = fetcher
	up, err := updater.New(cfg)
	if err != nil {
		return nil, refreshFailure(err, "")
	}
	// The agent's clock, which the tests move on to show a frozen timestamp expiring.
	up.UnsafeSetRefTime(s.now().UTC())
	err = up.Refresh()
	// What was verified is kept even when a later step fails: a newer
	// root or timestamp protects against older ones from now on.
	if serr := s.syncChanged(before); serr != nil && err == nil {
		return nil, refreshFailure(fmt.Errorf("keep the signed metadata: %w", serr), "")
	}
	if err != nil {
		return nil, refreshFailure(err, fetcher.last)
	}
	tm := up.GetTrustedMetadataSet()
	return newSignedView(tm.Targets[metadata.TARGETS])
}

// readTrusted reads the trusted metadata files that exist.
func (s *trustStore) readTrusted() map[string][]byte {
	files := map[string][]byte{}
	for _, name := range trustedFiles {
		if b, err := os.ReadFile(filepath.Join(s.dir, name)); err == nil {
			files[name] = b
		}
	}
	return files
}

// syncChanged makes the files the updater replaced durable: go-tuf
// renames them into place without fsync, and a gateway that loses power
// must not come back trusting older versions.
func (s *trustStore) syncChanged(before map[string][]byte) error {
	changed := false
	for _, name := range trustedFiles {
		path := filepath.Join(s.dir, name)
		b, err := os.ReadFile(path)
		if err != nil || bytes.Equal(b, before[name]) {
			continue
		}
		changed = true
		if err := syncFile(path); err != nil {
			return err
		}
	}
	if !changed {
		return nil
	}
	return syncFile(s.dir)
}

func syncFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}
