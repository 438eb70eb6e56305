// Package tuftest plays a tenant's key holders for tests: it makes offline
// root and targets keys and signs through a driverhub.TUFService as
// driverhub trust init, sign and unsign do, with go-tuf.
package tuftest

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"testing"
	"time"

	"github.com/theupdateframework/go-tuf/v2/metadata"

	"github.com/driverhub/driverhub"
	"github.com/driverhub/driverhub/internal/tufmeta"
)

// Owner holds a tenant's offline keys and the targets it signed last.
type Owner struct {
	svc           driverhub.TUFService
	ctx           context.Context
	Root, Targets ed25519.PrivateKey
	targets       *metadata.Metadata[metadata.TargetsType]
}

func key(t testing.TB) ed25519.PrivateKey {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return priv
}

// KeyID is the TUF key id of a private key's public half.
func KeyID(t testing.TB, priv ed25519.PrivateKey) string {
	t.Helper()
	_, id, err := tufmeta.PublicKey(priv.Public().(ed25519.PublicKey))
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func sign[T metadata.Roles](t testing.TB, m *metadata.Metadata[T], priv ed25519.PrivateKey) []byte {
	t.Helper()
	s, err := tufmeta.Signer(priv)
	if err != nil {
		t.Fatal(err)
	}
	m.ClearSignatures()
	if _, err := m.Sign(s); err != nil {
		t.Fatal(err)
	}
	b, err := m.ToBytes(true)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Init makes the repository of the caller of ctx: root version 1 and
// empty targets version 1, expiring from now.
func Init(t testing.TB, svc driverhub.TUFService, ctx context.Context, now time.Time) *Owner {
	t.Helper()
	o := &Owner{svc: svc, ctx: ctx, Root: key(t), Targets: key(t)}
	online, err := svc.TUFOnlineKeys(ctx)
	if err != nil {
		t.Fatalf("online keys: %v", err)
	}
	root := metadata.Root(tufmeta.Expiry(now, driverhub.TUFRootExpiry))
	keys := map[string]*metadata.Key{}
	for role, priv := range map[string]ed25519.PrivateKey{metadata.ROOT: o.Root, metadata.TARGETS: o.Targets} {
		k, _, err := tufmeta.PublicKey(priv.Public().(ed25519.PublicKey))
		if err != nil {
			t.Fatal(err)
		}
		keys[role] = k
	}
	for role, raw := range map[string]json.RawMessage{metadata.SNAPSHOT: online.Snapshot, metadata.TIMESTAMP: online.Timestamp} {
		var k metadata.Key
		if err := json.Unmarshal(raw, &k); err != nil {
			t.Fatal(err)
		}
		keys[role] = &k
	}
	for role, k := range keys {
		if err := root.Signed.AddKey(k, role); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := svc.PutTUFRoot(ctx, sign(t, root, o.Root)); err != nil {
		t.Fatalf("PutTUFRoot: %v", err)
	}
	o.targets = metadata.Targets(tufmeta.Expiry(now, driverhub.TUFTargetsExpiry))
	tufmeta.SetRevoked(&o.targets.Signed, nil)
	if _, err := svc.PutTUFTargets(ctx, sign(t, o.targets, o.Targets)); err != nil {
		t.Fatalf("PutTUFTargets: %v", err)
	}
	return o
}

// update uploads the next targets version, changed by change.
func (o *Owner) update(t testing.TB, change func(*metadata.TargetsType)) error {
	t.Helper()
	b, err := o.targets.ToBytes(false)
	if err != nil {
		t.Fatal(err)
	}
	next, err := metadata.Targets().FromBytes(b)
	if err != nil {
		t.Fatal(err)
	}
	next.Signed.Version++
	change(&next.Signed)
	if _, err := o.svc.PutTUFTargets(o.ctx, sign(t, next, o.Targets)); err != nil {
		return err
	}
	o.targets = next
	return nil
}

// Sign adds a published version of publisher's driver (with the driver's
// runtime) to the targets, as driverhub sign does.
func (o *Owner) Sign(t testing.TB, publisher string, v *driverhub.DriverVersion, runtime driverhub.Runtime) error {
	t.Helper()
	sum, err := hex.DecodeString(v.Package.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	tf := &metadata.TargetFiles{Length: v.Package.Size, Hashes: metadata.Hashes{"sha256": sum}}
	tufmeta.SetCustom(tf, tufmeta.TargetCustom{Runtime: string(runtime), MinEdgeVersion: v.MinEdgeVersion})
	return o.update(t, func(s *metadata.TargetsType) { s.Targets[driverhub.TargetName(publisher, v.Driver, v.Version)] = tf })
}

// Unsign removes a target and revokes its name, as driverhub unsign does.
func (o *Owner) Unsign(t testing.TB, name string) error {
	t.Helper()
	return o.update(t, func(s *metadata.TargetsType) {
		delete(s.Targets, name)
		revoked, err := tufmeta.Revoked(s)
		if err != nil {
			t.Fatal(err)
		}
		tufmeta.SetRevoked(s, append(revoked, name))
	})
}
