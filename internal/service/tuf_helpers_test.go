package service_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"testing"
	"time"

	"github.com/theupdateframework/go-tuf/v2/metadata"
	"github.com/theupdateframework/go-tuf/v2/metadata/trustedmetadata"

	"github.com/driverhub/driverhub"
	"github.com/driverhub/driverhub/internal/service"
	"github.com/driverhub/driverhub/internal/tufmeta"
)

// The TUF tests play both sides: the service, and the people who hold
// the offline root and targets keys and sign with go-tuf as the CLI does.

var testSecretKey = bytes.Repeat([]byte{0x5a}, 32)

// withTUF gives a test service its secret key (and replicas the same).
func withTUF(c *service.Config) { c.TUF.SecretKey = testSecretKey }

// offlineKey is a root or targets key as a person holds it.
type offlineKey struct {
	priv ed25519.PrivateKey
	key  *metadata.Key
	id   string
}

func newOfflineKey(t testing.TB) *offlineKey {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	k, id, err := tufmeta.PublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return &offlineKey{priv: priv, key: k, id: id}
}

// signed signs m with keys and returns its bytes.
func signed[T metadata.Roles](t testing.TB, m *metadata.Metadata[T], keys ...*offlineKey) []byte {
	t.Helper()
	m.ClearSignatures()
	for _, k := range keys {
		s, err := tufmeta.Signer(k.priv)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := m.Sign(s); err != nil {
			t.Fatal(err)
		}
	}
	b, err := m.ToBytes(true)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// trust is a tenant's offline side: its keys and what it signed last.
type trust struct {
	ts          *testService
	ctx         context.Context
	online      *driverhub.TUFOnlineKeys
	rootKeys    []*offlineKey
	targetsKeys []*offlineKey
	root        *metadata.Metadata[metadata.RootType]
	targets     *metadata.Metadata[metadata.TargetsType]
}

// initTrust does what driverhub trust init does: root version 1 with one
// root and one targets key and the server's online keys, and empty
// targets version 1.
func initTrust(t testing.TB, ts *testService, ctx context.Context) *trust {
	t.Helper()
	tr := &trust{ts: ts, ctx: ctx, online: must(ts.TUFOnlineKeys(ctx))(t),
		rootKeys: []*offlineKey{newOfflineKey(t)}, targetsKeys: []*offlineKey{newOfflineKey(t)}}
	root := tr.makeRoot(t, 1, tr.rootKeys, tr.targetsKeys, 1, 1)
	ok(t, tr.putRoot(t, root, tr.rootKeys...))
	targets := metadata.Targets(tufmeta.Expiry(ts.clock.Now(), driverhub.TUFTargetsExpiry))
	tufmeta.SetRevoked(&targets.Signed, nil)
	ok(t, tr.putTargets(t, targets, tr.targetsKeys...))
	return tr
}

func onlineKey(t testing.TB, raw json.RawMessage) *metadata.Key {
	t.Helper()
	var k metadata.Key
	if err := json.Unmarshal(raw, &k); err != nil {
		t.Fatal(err)
	}
	return &k
}

// makeRoot is a root of the given version, keys and thresholds, with the
// server's online keys.
func (tr *trust) makeRoot(t testing.TB, version int64, rootKeys, targetsKeys []*offlineKey, rootThreshold, targetsThreshold int) *metadata.Metadata[metadata.RootType] {
	t.Helper()
	r := metadata.Root(tufmeta.Expiry(tr.ts.clock.Now(), driverhub.TUFRootExpiry))
	r.Signed.Version = version
	for role, keys := range map[string][]*offlineKey{metadata.ROOT: rootKeys, metadata.TARGETS: targetsKeys} {
		for _, k := range keys {
			ok(t, r.Signed.AddKey(k.key, role))
		}
	}
	ok(t, r.Signed.AddKey(onlineKey(t, tr.online.Snapshot), metadata.SNAPSHOT))
	ok(t, r.Signed.AddKey(onlineKey(t, tr.online.Timestamp), metadata.TIMESTAMP))
	r.Signed.Roles[metadata.ROOT].Threshold = rootThreshold
	r.Signed.Roles[metadata.TARGETS].Threshold = targetsThreshold
	return r
}

// putRoot signs and uploads a root; on success it is the current one.
func (tr *trust) putRoot(t testing.TB, r *metadata.Metadata[metadata.RootType], keys ...*offlineKey) error {
	t.Helper()
	_, err := tr.ts.PutTUFRoot(tr.ctx, signed(t, r, keys...))
	if err == nil {
		tr.root = r
	}
	return err
}

// nextTargets copies the current targets as the next version, expiring
// in 90 days, changed by mod.
func (tr *trust) nextTargets(t testing.TB, mod func(*metadata.TargetsType)) *metadata.Metadata[metadata.TargetsType] {
	t.Helper()
	b, err := tr.targets.ToBytes(false)
	if err != nil {
		t.Fatal(err)
	}
	next, err := metadata.Targets().FromBytes(b)
	if err != nil {
		t.Fatal(err)
	}
	next.Signed.Version++
	next.Signed.Expires = tufmeta.Expiry(tr.ts.clock.Now(), driverhub.TUFTargetsExpiry)
	if mod != nil {
		mod(&next.Signed)
	}
	return next
}

// putTargets signs and uploads targets; on success they are the current ones.
func (tr *trust) putTargets(t testing.TB, m *metadata.Metadata[metadata.TargetsType], keys ...*offlineKey) error {
	t.Helper()
	_, err := tr.ts.PutTUFTargets(tr.ctx, signed(t, m, keys...))
	if err == nil {
		tr.targets = m
	}
	return err
}

// target describes a version as driverhub sign does: its package's
// length and SHA-256, runtime and edge version.
func target(t testing.TB, v *driverhub.DriverVersion, runtime driverhub.Runtime) *metadata.TargetFiles {
	t.Helper()
	sum, err := hex.DecodeString(v.Package.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	tf := &metadata.TargetFiles{Length: v.Package.Size, Hashes: metadata.Hashes{"sha256": sum}}
	tufmeta.SetCustom(tf, tufmeta.TargetCustom{Runtime: string(runtime), MinEdgeVersion: v.MinEdgeVersion})
	return tf
}

// sign adds a version of publisher's driver to the targets and uploads
// them signed by the targets keys.
func (tr *trust) sign(t testing.TB, publisher string, v *driverhub.DriverVersion, runtime driverhub.Runtime) error {
	t.Helper()
	next := tr.nextTargets(t, func(s *metadata.TargetsType) {
		s.Targets[driverhub.TargetName(publisher, v.Driver, v.Version)] = target(t, v, runtime)
	})
	return tr.putTargets(t, next, tr.targetsKeys...)
}

// unsign removes a target and revokes its name.
func (tr *trust) unsign(t testing.TB, name string) error {
	t.Helper()
	next := tr.nextTargets(t, func(s *metadata.TargetsType) {
		delete(s.Targets, name)
		revoked, err := tufmeta.Revoked(s)
		ok(t, err)
		tufmeta.SetRevoked(s, append(revoked, name))
	})
	return tr.putTargets(t, next, tr.targetsKeys...)
}

// file reads a file of the caller's repository.
func (tr *trust) file(t testing.TB, name string) []byte {
	t.Helper()
	return must(tr.ts.TUFMetadata(tr.ctx, name))(t)
}

// client walks the repository as a TUF client does (go-tuf's trusted
// metadata set: signatures, thresholds, versions, hashes, expiry at now)
// from the pinned root, and returns the targets it trusts.
func (tr *trust) client(t testing.TB, pinned []byte, now time.Time) (*trustedmetadata.TrustedMetadata, error) {
	t.Helper()
	trusted, err := trustedmetadata.New(pinned)
	if err != nil {
		return nil, err
	}
	trusted.RefTime = now
	for v := trusted.Root.Signed.Version + 1; ; v++ {
		b, err := tr.ts.TUFMetadata(tr.ctx, tufmeta.FileName(metadata.ROOT, v))
		if err != nil {
			break
		}
		if _, err := trusted.UpdateRoot(b); err != nil {
			return nil, err
		}
	}
	if _, err := trusted.UpdateTimestamp(tr.file(t, "timestamp.json")); err != nil {
		return nil, err
	}
	snapName := tufmeta.FileName(metadata.SNAPSHOT, trusted.Timestamp.Signed.Meta["snapshot.json"].Version)
	if _, err := trusted.UpdateSnapshot(tr.file(t, snapName), false); err != nil {
		return nil, err
	}
	targetsName := tufmeta.FileName(metadata.TARGETS, trusted.Snapshot.Signed.Meta["targets.json"].Version)
	if _, err := trusted.UpdateDelegatedTargets(tr.file(t, targetsName), metadata.TARGETS, metadata.ROOT); err != nil {
		return nil, err
	}
	return trusted, nil
}
