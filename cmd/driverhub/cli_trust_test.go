package main_test

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/theupdateframework/go-tuf/v2/metadata"
	"github.com/theupdateframework/go-tuf/v2/metadata/trustedmetadata"

	"github.com/driverhub/driverhub/internal/tufmeta"
)

// recorder is a reverse proxy in front of the server that keeps every
// request the CLI sends: method, URL, headers and body.
type recorder struct {
	mu   sync.Mutex
	sent [][]byte
}

func recordingProxy(t *testing.T, target string) (*recorder, string) {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	proxy := httputil.NewSingleHostReverseProxy(u)
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var whole bytes.Buffer
		whole.WriteString(r.Method + " " + r.URL.String() + "\n")
		_ = r.Header.Write(&whole)
		whole.Write(body)
		rec.mu.Lock()
		rec.sent = append(rec.sent, whole.Bytes())
		rec.mu.Unlock()
		r.Body = io.NopCloser(bytes.NewReader(body))
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(ts.Close)
	return rec, ts.URL
}

// neverSent fails the test if any request held secret in any of the
// forms it could be written in.
func (rec *recorder) neverSent(t *testing.T, what string, secret []byte) {
	t.Helper()
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.sent) == 0 {
		t.Fatalf("the proxy saw no request: the test checks nothing")
	}
	forms := [][]byte{secret, []byte(hex.EncodeToString(secret)), []byte(strings.ToUpper(hex.EncodeToString(secret))),
		[]byte(base64.StdEncoding.EncodeToString(secret)), []byte(base64.RawURLEncoding.EncodeToString(secret))}
	for i, req := range rec.sent {
		for _, f := range forms {
			if bytes.Contains(req, f) {
				t.Errorf("request %d carried %s:\n%.300s", i, what, req)
			}
		}
	}
}

// saw reports whether a request held b.
func (rec *recorder) saw(b []byte) bool {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	for _, req := range rec.sent {
		if bytes.Contains(req, b) {
			return true
		}
	}
	return false
}

// keyFileOf reads a key file of --keys.
type keyFileOf struct {
	Role    string          `json:"role"`
	KeyID   string          `json:"keyid"`
	Private string          `json:"private"`
	Sealed  json.RawMessage `json:"sealed"`
}

func readKeyFiles(t *testing.T, dir string) map[string]keyFileOf {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(dir, "*.key"))
	if err != nil || len(names) == 0 {
		t.Fatalf("no key files in %s: %v", dir, err)
	}
	out := map[string]keyFileOf{}
	for _, n := range names {
		fi, err := os.Stat(n)
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v, %v; want 0600", n, fi.Mode().Perm(), err)
		}
		b, _ := os.ReadFile(n)
		var k keyFileOf
		if err := json.Unmarshal(b, &k); err != nil {
			t.Fatalf("%s: %v", n, err)
		}
		out[n] = k
	}
	return out
}

// trustedTargets walks the repository over the API from a pinned root,
// as a gateway's TUF client does, and returns the targets it trusts.
func (c *cliEnv) trustedTargets(pinned []byte) *metadata.Metadata[metadata.TargetsType] {
	c.t.Helper()
	get := func(file string) []byte {
		req, _ := http.NewRequest("GET", c.srv.url+"/api/v1/tuf/"+file, nil)
		req.Header.Set("Authorization", "Bearer "+c.token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			c.t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		return raw
	}
	trusted, err := trustedmetadata.New(pinned)
	if err != nil {
		c.t.Fatalf("exported root: %v", err)
	}
	for v := trusted.Root.Signed.Version + 1; ; v++ {
		b := get(tufmeta.FileName(metadata.ROOT, v))
		if _, err := metadata.Root().FromBytes(b); err != nil {
			break // not found: the walk is over
		}
		if _, err := trusted.UpdateRoot(b); err != nil {
			c.t.Fatalf("root version %d: %v", v, err)
		}
	}
	steps := []func() error{
		func() error { _, err := trusted.UpdateTimestamp(get("timestamp.json")); return err },
		func() error {
			_, err := trusted.UpdateSnapshot(get(tufmeta.FileName(metadata.SNAPSHOT, trusted.Timestamp.Signed.Meta["snapshot.json"].Version)), false)
			return err
		},
		func() error {
			_, err := trusted.UpdateTargets(get(tufmeta.FileName(metadata.TARGETS, trusted.Snapshot.Signed.Meta["targets.json"].Version)))
			return err
		},
	}
	for _, step := range steps {
		if err := step(); err != nil {
			c.t.Fatalf("a TUF client refuses the repository: %v", err)
		}
	}
	return trusted.Targets[metadata.TARGETS]
}

// TestTrustCeremony runs the whole key ceremony with the real binary
// against a real server, through a proxy that sees every request.
func TestTrustCeremony(t *testing.T) {
	c := newCLI(t)
	rec, proxyURL := recordingProxy(t, c.srv.url)
	c = c.with("DRIVERHUB_SERVER=" + proxyURL)
	keys := filepath.Join(t.TempDir(), "keys")

	src := trustInitAndSignedPush(t, c, keys)
	pinned := trustCheckSignedTarget(t, c)
	firstTargetsKeys := readKeyFiles(t, keys)

	c.ok("unsign", "meter", "1.0.0", "--keys", keys)
	mustContain(t, "sign after unsign", c.fails(1, "sign", "meter", "1.0.0", "--keys", keys).stderr, "revoked")

	mustContain(t, "rotate", c.ok("trust", "rotate", "--role", "targets", "--keys", keys), "Root version:     2")
	c.ok("driver", "push", src, "--driver", "meter", "--version", "1.0.1", "--min-edge-version", "1.0.0", "--publish")
	c.ok("sign", "meter", "1.0.1", "--keys", keys)

	all := trustCheckRotated(t, c, keys, pinned, firstTargetsKeys)
	trustCheckRetiredKey(t, c, firstTargetsKeys)
	trustCheckNoPrivateKeySent(t, rec, all)
}

// trustInitAndSignedPush runs trust init into keys, pushes and signs
// meter 1.0.0 from a source tree, and returns the tree.
func trustInitAndSignedPush(t *testing.T, c *cliEnv, keys string) string {
	mustContain(t, "trust init", c.ok("trust", "init", "--keys", keys), "Root version:", "Targets version:")
	if fi, err := os.Stat(keys); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("--keys directory: mode %v, %v; want 0700", fi.Mode().Perm(), err)
	}
	c.fails(1, "trust", "init", "--keys", keys) // once per tenant

	c.ok("driver", "create", "meter", "--protocol", "modbus", "--runtime", "python3")
	src := cliTree(t, map[string]string{"index.py": "print('meter 1')\n"})
	r := c.run("driver", "push", src, "--driver", "meter", "--version", "1.0.0", "--min-edge-version", "1.0.0",
		"--publish", "--sign", "--keys", keys, "-o", "json")
	var pushed struct {
		Version, Status string
	}
	if err := json.Unmarshal([]byte(r.stdout), &pushed); r.code != 0 || err != nil || pushed.Version != "1.0.0" || pushed.Status != "published" {
		t.Fatalf("push --sign: exit %d, printed %s (%v)\n%s", r.code, r.stdout, err, r.stderr)
	}
	mustContain(t, "push --sign", r.stderr, "Signed default/meter/1.0.0")
	return src
}

// trustCheckSignedTarget exports the root and checks that a TUF client
// pinned to it trusts meter 1.0.0's package; it returns the root.
func trustCheckSignedTarget(t *testing.T, c *cliEnv) []byte {
	pinned := []byte(c.ok("trust", "export-root"))
	root, err := metadata.Root().FromBytes(pinned)
	if err != nil || root.Signed.Version != 1 {
		t.Fatalf("export-root printed %s (%v), want root version 1", pinned, err)
	}
	pkg := c.api("/api/v1/drivers/meter/versions/1.0.0").(map[string]any)["package"].(map[string]any)
	tf := c.trustedTargets(pinned).Signed.Targets["default/meter/1.0.0"]
	if tf == nil || hex.EncodeToString(tf.Hashes["sha256"]) != pkg["sha256"] || float64(tf.Length) != pkg["size"] {
		t.Fatalf("the trusted target %+v is not the package %v", tf, pkg)
	}
	return pinned
}

// trustCheckRotated checks, from the pinned root, that after the targets
// key's rotation 1.0.1 is trusted, 1.0.0 revoked, and the new targets key
// alone signs; it returns all the key files.
func trustCheckRotated(t *testing.T, c *cliEnv, keys string, pinned []byte, firstTargetsKeys map[string]keyFileOf) map[string]keyFileOf {
	final := c.trustedTargets(pinned)
	if _, ok := final.Signed.Targets["default/meter/1.0.1"]; !ok || final.Signed.Targets["default/meter/1.0.0"] != nil {
		t.Errorf("trusted targets %v, want 1.0.1 and not 1.0.0", final.Signed.Targets)
	}
	if revoked, _ := tufmeta.Revoked(&final.Signed); len(revoked) != 1 || revoked[0] != "default/meter/1.0.0" {
		t.Errorf("revoked %v, want default/meter/1.0.0", revoked)
	}
	all := readKeyFiles(t, keys)
	var newTargets string
	for name, k := range all {
		if _, old := firstTargetsKeys[name]; !old && k.Role == "targets" {
			newTargets = k.KeyID
		}
	}
	if len(final.Signatures) != 1 || final.Signatures[0].KeyID != newTargets || newTargets == "" {
		t.Errorf("the targets are signed by %v, want the new targets key %s only", final.Signatures, newTargets)
	}
	return all
}

// trustCheckRetiredKey checks that the retired targets key alone no
// longer signs.
func trustCheckRetiredKey(t *testing.T, c *cliEnv, firstTargetsKeys map[string]keyFileOf) {
	old := t.TempDir()
	for name, k := range firstTargetsKeys {
		if k.Role == "targets" {
			b, _ := os.ReadFile(name)
			os.WriteFile(filepath.Join(old, filepath.Base(name)), b, 0o600)
		}
	}
	mustContain(t, "sign with the retired key", c.fails(1, "sign", "meter", "1.0.1", "--keys", old).stderr, "holds none of the targets keys")
}

// trustCheckNoPrivateKeySent checks that no private key of the ceremony
// went to the server in any form, though the public keys did (in the
// roots): the proxy saw the bodies.
func trustCheckNoPrivateKeySent(t *testing.T, rec *recorder, all map[string]keyFileOf) {
	for name, k := range all {
		seed, err := hex.DecodeString(k.Private)
		if err != nil || len(seed) != ed25519.SeedSize {
			t.Fatalf("%s: private key %q", name, k.Private)
		}
		if !rec.saw([]byte(hex.EncodeToString(ed25519.NewKeyFromSeed(seed).Public().(ed25519.PublicKey)))) {
			t.Errorf("the proxy never saw the public key of %s: it does not see the uploads", name)
		}
		rec.neverSent(t, "the private key of "+name, seed)
		rec.neverSent(t, "the expanded private key of "+name, ed25519.NewKeyFromSeed(seed))
	}
}

func TestTrustKeysSealedWithAPassphrase(t *testing.T) {
	c := newCLI(t)
	dir := t.TempDir()
	keys, pass := filepath.Join(dir, "keys"), filepath.Join(dir, "pass")
	if err := os.WriteFile(pass, []byte("correct horse battery staple\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c.ok("trust", "init", "--keys", keys, "--passphrase-file", pass)
	for name, k := range readKeyFiles(t, keys) {
		if k.Private != "" || len(k.Sealed) == 0 {
			t.Errorf("%s holds its private key in the clear", name)
		}
	}
	c.ok("driver", "create", "meter", "--protocol", "modbus", "--runtime", "python3")
	src := cliTree(t, map[string]string{"index.py": "print('meter')\n"})
	c.ok("driver", "push", src, "--driver", "meter", "--version", "1", "--min-edge-version", "1.0.0", "--publish")

	mustContain(t, "sign without the passphrase", c.fails(1, "sign", "meter", "1", "--keys", keys).stderr, "--passphrase-file")
	wrong := filepath.Join(dir, "wrong")
	os.WriteFile(wrong, []byte("tr0ub4dor&3"), 0o600)
	mustContain(t, "sign with another passphrase", c.fails(1, "sign", "meter", "1", "--keys", keys, "--passphrase-file", wrong).stderr, "passphrase does not open")
	c.ok("sign", "meter", "1", "--keys", keys, "--passphrase-file", pass)
}

func TestSignUsage(t *testing.T) {
	c := newCLI(t)
	src := cliTree(t, map[string]string{"index.py": "print('meter')\n"})
	c.ok("driver", "create", "meter", "--protocol", "modbus", "--runtime", "python3")
	mustContain(t, "push --sign without --publish",
		c.fails(2, "driver", "push", src, "--driver", "meter", "--version", "1", "--min-edge-version", "1.0.0", "--sign", "--keys", t.TempDir()).stderr,
		"--sign needs --publish")
	c.fails(2, "sign", "meter")
	mustContain(t, "sign without --keys", c.fails(2, "sign", "meter", "1").stderr, "--keys")
	mustContain(t, "rotate a snapshot key", c.fails(2, "trust", "rotate", "--role", "snapshot", "--keys", t.TempDir()).stderr, "root or targets")
	c.ok("driver", "push", src, "--driver", "meter", "--version", "1", "--min-edge-version", "1.0.0", "--publish")
	mustContain(t, "sign before trust init", c.fails(1, "sign", "meter", "1", "--keys", t.TempDir()).stderr, "driverhub trust init")
}
