package agent

import (
	"crypto"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/theupdateframework/go-tuf/v2/metadata"

	"github.com/driverhub/driverhub"
	"github.com/driverhub/driverhub/internal/tufmeta"
)

// tufRepo is a tenant's TUF repository, made with go-tuf's metadata
// package as the server and the CLI make it: ed25519 keys, consistent
// snapshots, root and targets signed by offline keys, snapshot and
// timestamp by the server's online keys. Tests play the tenant's people
// (sign, unsign, rotate) and the attacker who holds the server and its
// online keys (replays, freezes, swaps).
type tufRepo struct {
	t         testing.TB
	mu        sync.Mutex
	keys      map[string]ed25519.PrivateKey // the current key of each role
	root      *metadata.Metadata[metadata.RootType]
	targets   *metadata.Metadata[metadata.TargetsType]
	snapshot  *metadata.Metadata[metadata.SnapshotType]
	timestamp *metadata.Metadata[metadata.TimestampType]
	files     map[string][]byte // what the server serves, by file name
	requests  []string          // the files the agent asked for, in order
}

var topRoles = []string{metadata.ROOT, metadata.TARGETS, metadata.SNAPSHOT, metadata.TIMESTAMP}

// newTUFRepo runs `trust init`: a key per role, root version 1, and empty
// targets published with their snapshot and timestamp.
func newTUFRepo(t testing.TB) *tufRepo {
	t.Helper()
	now := time.Now()
	r := &tufRepo{t: t, keys: map[string]ed25519.PrivateKey{}, files: map[string][]byte{},
		root:     metadata.Root(now.AddDate(1, 0, 0)),
		targets:  metadata.Targets(now.AddDate(0, 0, 90)),
		snapshot: metadata.Snapshot(now.AddDate(0, 0, 7)), timestamp: metadata.Timestamp(now.Add(24 * time.Hour))}
	r.targets.Signed.Version, r.snapshot.Signed.Version, r.timestamp.Signed.Version = 0, 0, 0 // publishing numbers them
	for _, role := range topRoles {
		r.keys[role] = newKey(t)
		r.must(r.root.Signed.AddKey(publicKey(t, r.keys[role]), role))
	}
	r.signRoot(r.keys[metadata.ROOT])
	r.publishTargets()
	return r
}

func newKey(t testing.TB) ed25519.PrivateKey {
	_, k, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func publicKey(t testing.TB, k ed25519.PrivateKey) *metadata.Key {
	key, err := metadata.KeyFromPublicKey(k.Public())
	if err != nil {
		t.Fatal(err)
	}
	return key
}

func (r *tufRepo) must(err error) {
	r.t.Helper()
	if err != nil {
		r.t.Fatal(err)
	}
}

func signer(t testing.TB, k ed25519.PrivateKey) signature.Signer {
	s, err := signature.LoadSigner(k, crypto.Hash(0))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// signRoot signs the root with keys (a new root: the old root's keys and
// its own) and publishes it as N.root.json and root.json.
func (r *tufRepo) signRoot(keys ...ed25519.PrivateKey) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.root.ClearSignatures()
	for _, k := range keys {
		_, err := r.root.Sign(signer(r.t, k))
		r.must(err)
	}
	b, err := r.root.ToBytes(false)
	r.must(err)
	r.files[fmt.Sprintf("%d.root.json", r.root.Signed.Version)], r.files["root.json"] = b, b
}

// publishTargets signs a new targets version with the targets key, and
// the snapshot and timestamp that name it, as an upload to the server does.
func (r *tufRepo) publishTargets() {
	r.mu.Lock()
	r.targets.Signed.Version++
	r.targets.ClearSignatures()
	_, err := r.targets.Sign(signer(r.t, r.keys[metadata.TARGETS]))
	r.must(err)
	b, err := r.targets.ToBytes(false)
	r.must(err)
	r.files[fmt.Sprintf("%d.targets.json", r.targets.Signed.Version)] = b
	r.snapshot.Signed.Meta["targets.json"] = metaFile(r.targets.Signed.Version, b)
	r.mu.Unlock()
	r.publishSnapshot()
}

// metaFile describes a metadata file as the server does: version, length
// and SHA-256.
func metaFile(version int64, b []byte) *metadata.MetaFiles {
	sum := sha256.Sum256(b)
	return &metadata.MetaFiles{Version: version, Length: int64(len(b)), Hashes: metadata.Hashes{"sha256": sum[:]}}
}

// publishSnapshot signs the next snapshot and its timestamp with the
// online keys, as the server does.
func (r *tufRepo) publishSnapshot() {
	r.mu.Lock()
	r.snapshot.Signed.Version++
	r.snapshot.ClearSignatures()
	_, err := r.snapshot.Sign(signer(r.t, r.keys[metadata.SNAPSHOT]))
	r.must(err)
	b, err := r.snapshot.ToBytes(false)
	r.must(err)
	r.files[fmt.Sprintf("%d.snapshot.json", r.snapshot.Signed.Version)] = b
	r.timestamp.Signed.Meta["snapshot.json"] = metaFile(r.snapshot.Signed.Version, b)
	r.mu.Unlock()
	r.publishTimestamp(r.timestamp.Signed.Expires)
}

// publishTimestamp signs the next timestamp version, expiring at expires.
func (r *tufRepo) publishTimestamp(expires time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.timestamp.Signed.Version++
	r.timestamp.Signed.Expires = expires.UTC().Truncate(time.Second)
	r.timestamp.ClearSignatures()
	_, err := r.timestamp.Sign(signer(r.t, r.keys[metadata.TIMESTAMP]))
	r.must(err)
	b, err := r.timestamp.ToBytes(false)
	r.must(err)
	r.files["timestamp.json"] = b
}

// sign adds a python3 package as target name (`driverhub sign`) and
// publishes.
func (r *tufRepo) sign(name string, pkg *driverhub.BlobLink) {
	r.t.Helper()
	sum, err := hex.DecodeString(pkg.SHA256)
	r.must(err)
	r.mu.Lock()
	target := &metadata.TargetFiles{Length: pkg.Size, Hashes: metadata.Hashes{"sha256": sum}}
	tufmeta.SetCustom(target, tufmeta.TargetCustom{Runtime: string(driverhub.RuntimePython3)}) // as acmeDriver's
	r.targets.Signed.Targets[name] = target
	r.mu.Unlock()
	r.publishTargets()
}

// unsign removes target name and lists it as revoked (`driverhub unsign`).
func (r *tufRepo) unsign(name string) {
	r.mu.Lock()
	delete(r.targets.Signed.Targets, name)
	revoked, err := tufmeta.Revoked(&r.targets.Signed)
	r.must(err)
	tufmeta.SetRevoked(&r.targets.Signed, append(revoked, name))
	r.mu.Unlock()
	r.publishTargets()
}

// rotate gives role a new key in the next root version, signed by the old
// root key and, for the root role, the new one (`driverhub trust rotate`).
func (r *tufRepo) rotate(role string) {
	r.mu.Lock()
	old, fresh := r.keys[role], newKey(r.t)
	oldID, err := publicKey(r.t, old).ID()
	r.must(err)
	r.must(r.root.Signed.RevokeKey(oldID, role))
	r.must(r.root.Signed.AddKey(publicKey(r.t, fresh), role))
	r.root.Signed.Version++
	signers := []ed25519.PrivateKey{r.keys[metadata.ROOT]}
	if role == metadata.ROOT {
		signers = append(signers, fresh)
	}
	r.keys[role] = fresh
	r.mu.Unlock()
	r.signRoot(signers...)
}

// file is what the server serves as name now.
func (r *tufRepo) file(name string) []byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.files[name]
}

// serve makes the server answer name with b, as an attacker would.
func (r *tufRepo) serve(name string, b []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.files[name] = b
}

// asked lists the files the agent requested since the last call.
func (r *tufRepo) asked() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.requests
	r.requests = nil
	return out
}

// rootFile writes the current root.json where an operator would put it.
func (r *tufRepo) rootFile(t testing.TB) string {
	path := filepath.Join(t.TempDir(), "root.json")
	if err := os.WriteFile(path, r.file("root.json"), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// front is the server as the agent reaches it: the repository's files at
// /api/v1/gateway/tuf/{file} for the gateway's secret only, everything
// else from the test gateway.
func (r *tufRepo) front(t testing.TB, gw *testGateway) *httptest.Server {
	target, err := url.Parse(gw.srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/", httputil.NewSingleHostReverseProxy(target))
	mux.HandleFunc("GET /api/v1/gateway/tuf/{file}", func(w http.ResponseWriter, req *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if req.Header.Get("Authorization") != "Bearer test-secret" {
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprint(w, `{"error":{"code":"unauthorized","message":"a gateway secret is required"}}`)
			return
		}
		name := req.PathValue("file")
		r.mu.Lock()
		r.requests = append(r.requests, name)
		b, ok := r.files[name]
		r.mu.Unlock()
		if !ok {
			w.WriteHeader(http.StatusNotFound)
			fmt.Fprintf(w, `{"error":{"code":"not_found","message":"no %s"}}`, name)
			return
		}
		w.Write(b)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

// newPinnedAgent is newTestAgent pinned with root file pin, reaching the
// repository through its front server; dir "" makes a new agent directory.
func newPinnedAgent(t testing.TB, r *tufRepo, gw *testGateway, rt *fakeRuntime, dir, pin string) *testAgent {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	a, err := New(Config{Server: r.front(t, gw).URL, Secret: "test-secret", Dir: dir, Runtime: rt,
		HealthyAfter: healthyAfter, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.PinTrustRoot(pin); err != nil {
		t.Fatal(err)
	}
	if a.state, err = a.loadState(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.stopAll() })
	return &testAgent{Agent: a, rt: rt, gw: gw}
}
