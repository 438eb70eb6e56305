package tufmeta_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/theupdateframework/go-tuf/v2/metadata"

	"github.com/driverhub/driverhub/internal/tufmeta"
)

func TestFileNames(t *testing.T) {
	for file, want := range map[string]struct {
		role    string
		version int64
	}{
		"root.json": {"root", 0}, "timestamp.json": {"timestamp", 0}, "1.root.json": {"root", 1},
		"12.snapshot.json": {"snapshot", 12}, "3.targets.json": {"targets", 3},
	} {
		role, v, ok := tufmeta.ParseFileName(file)
		if !ok || role != want.role || v != want.version {
			t.Errorf("ParseFileName(%q) = %q, %d, %v; want %q, %d", file, role, v, ok, want.role, want.version)
		}
		if v > 0 && tufmeta.FileName(role, v) != file {
			t.Errorf("FileName(%q, %d) = %q, want %q", role, v, tufmeta.FileName(role, v), file)
		}
	}
	for _, bad := range []string{"targets.json", "snapshot.json", "0.root.json", "01.root.json", "+1.root.json", "-1.root.json",
		"1.timestamp.json", "1.root", "x.root.json", "99999999999999999999.root.json", "../root.json", ""} {
		if role, v, ok := tufmeta.ParseFileName(bad); ok {
			t.Errorf("ParseFileName(%q) = %q, %d: want refused", bad, role, v)
		}
	}
}

// TestRevokedSurvivesSigningAndParsing checks that custom.revoked, a field
// go-tuf does not know, is kept through serialising, covered by the
// signature, and read back.
func TestRevokedSurvivesSigningAndParsing(t *testing.T) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	key, _, err := tufmeta.PublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	m := metadata.Targets(tufmeta.Expiry(time.Now(), time.Hour))
	tufmeta.SetRevoked(&m.Signed, []string{"acme/b/2", "acme/a/1", "acme/b/2"})
	signer, err := tufmeta.Signer(priv)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Sign(signer); err != nil {
		t.Fatal(err)
	}
	body, err := m.ToBytes(false)
	if err != nil {
		t.Fatal(err)
	}
	back, err := metadata.Targets().FromBytes(body)
	if err != nil {
		t.Fatal(err)
	}
	got, err := tufmeta.Revoked(&back.Signed)
	if err != nil || !slices.Equal(got, []string{"acme/a/1", "acme/b/2"}) {
		t.Errorf("Revoked = %v, %v; want the two names, sorted, once each", got, err)
	}
	root := metadata.Root(tufmeta.Expiry(time.Now(), time.Hour))
	if err := root.Signed.AddKey(key, metadata.TARGETS); err != nil {
		t.Fatal(err)
	}
	if err := root.VerifyDelegate(metadata.TARGETS, back); err != nil {
		t.Fatalf("the signature does not verify after a round trip: %v", err)
	}
	tampered, err := metadata.Targets().FromBytes([]byte(strings.Replace(string(body), "acme/a/1", "acme/a/9", 1)))
	if err != nil {
		t.Fatal(err)
	}
	if err := root.VerifyDelegate(metadata.TARGETS, tampered); err == nil {
		t.Errorf("a changed revoked list still verifies: the signature does not cover it")
	}
	empty := metadata.Targets()
	if got, err := tufmeta.Revoked(&empty.Signed); err != nil || got == nil || len(got) != 0 {
		t.Errorf("Revoked of targets without custom = %v, %v; want an empty list", got, err)
	}
}
