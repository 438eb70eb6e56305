package server_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/theupdateframework/go-tuf/v2/metadata"

	"github.com/driverhub/driverhub"
	"github.com/driverhub/driverhub/internal/postgres/pgtest"
	"github.com/driverhub/driverhub/internal/server"
	"github.com/driverhub/driverhub/internal/tufmeta"
)

// repoOwner holds a tenant's offline keys, as driverhub trust init makes them.
type repoOwner struct {
	root, targets ed25519.PrivateKey
	version       int64 // of the targets last uploaded
	token         string
}

func newKey(t *testing.T) ed25519.PrivateKey {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return priv
}

func signedBytes[T metadata.Roles](t *testing.T, m *metadata.Metadata[T], key ed25519.PrivateKey) []byte {
	t.Helper()
	s, err := tufmeta.Signer(key)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Sign(s); err != nil {
		t.Fatal(err)
	}
	b, err := m.ToBytes(false)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func put(t *testing.T, url, token string, body []byte) answer {
	t.Helper()
	req, err := http.NewRequest("PUT", url, strings.NewReader(string(body)))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return answer{status: resp.StatusCode, header: resp.Header, body: string(b)}
}

// trustInit makes the default tenant's repository over the API, as
// driverhub trust init does.
func trustInit(t *testing.T, s *running, now time.Time) *repoOwner {
	t.Helper()
	api, token := s.URL()+"/api/v1/tuf", s.Admin().Token
	a := call(t, "GET", api+"/online-keys", token, nil)
	var online map[string]*metadata.Key
	if err := json.Unmarshal([]byte(a.body), &online); err != nil || a.status != http.StatusOK {
		t.Fatalf("online keys: %d %s", a.status, a.body)
	}
	o := &repoOwner{root: newKey(t), targets: newKey(t), version: 1, token: token}
	root := metadata.Root(tufmeta.Expiry(now, driverhub.TUFRootExpiry))
	for role, priv := range map[string]ed25519.PrivateKey{metadata.ROOT: o.root, metadata.TARGETS: o.targets} {
		k, _, err := tufmeta.PublicKey(priv.Public().(ed25519.PublicKey))
		if err != nil {
			t.Fatal(err)
		}
		if err := root.Signed.AddKey(k, role); err != nil {
			t.Fatal(err)
		}
	}
	for _, role := range []string{metadata.SNAPSHOT, metadata.TIMESTAMP} {
		if err := root.Signed.AddKey(online[role], role); err != nil {
			t.Fatal(err)
		}
	}
	if a := put(t, api+"/root", token, signedBytes(t, root, o.root)); a.status != http.StatusOK {
		t.Fatalf("PUT root: %d %s", a.status, a.body)
	}
	if a := o.putTargets(t, s, now); a.status != http.StatusOK {
		t.Fatalf("PUT targets: %d %s", a.status, a.body)
	}
	return o
}

// putTargets uploads the next version of empty targets.
func (o *repoOwner) putTargets(t *testing.T, s *running, now time.Time) answer {
	t.Helper()
	m := metadata.Targets(tufmeta.Expiry(now, driverhub.TUFTargetsExpiry))
	m.Signed.Version = o.version
	a := put(t, s.URL()+"/api/v1/tuf/targets", o.token, signedBytes(t, m, o.targets))
	if a.status == http.StatusOK {
		o.version++
	}
	return a
}

func timestampVersion(t *testing.T, s *running) int64 {
	t.Helper()
	a := call(t, "GET", s.URL()+"/api/v1/tuf/timestamp.json", s.Admin().Token, nil)
	var m metadata.Metadata[metadata.TimestampType]
	if _, err := m.FromBytes([]byte(a.body)); err != nil {
		t.Fatalf("timestamp.json: %d %s", a.status, a.body)
	}
	return m.Signed.Version
}

// TestSecretKeyMadeOnFirstStart checks that a server on SQLite keeps its
// secret key in its data directory, so that its online keys still open
// after a restart, and that another key does not open them.
func TestSecretKeyMadeOnFirstStart(t *testing.T) {
	dir := t.TempDir()
	s := start(t, server.Config{DataDir: dir})
	path := filepath.Join(dir, server.SecretKeyFile)
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("%s: %v, mode %v; want a file of mode 0600", path, err, fi.Mode().Perm())
	}
	o := trustInit(t, s, time.Now())
	if err := s.stop(); err != nil {
		t.Fatal(err)
	}

	s = start(t, server.Config{DataDir: dir})
	if a := o.putTargets(t, s, time.Now()); a.status != http.StatusOK {
		t.Fatalf("after a restart, PUT targets: %d %s", a.status, a.body)
	}
	if err := s.stop(); err != nil {
		t.Fatal(err)
	}

	s = start(t, server.Config{DataDir: dir, SecretKey: strings.Repeat("ab", 32)})
	a := o.putTargets(t, s, time.Now())
	if a.status != http.StatusUnprocessableEntity || !strings.Contains(a.body, "secret key") {
		t.Errorf("with another secret key, PUT targets: %d %s; want 422 naming the secret key", a.status, a.body)
	}
}

func TestSecretKeySettings(t *testing.T) {
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	file := filepath.Join(t.TempDir(), "key")
	if err := os.WriteFile(file, []byte(base64.StdEncoding.EncodeToString(key)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []server.Config{
		{SecretKey: hex.EncodeToString(key)},
		{SecretKey: base64.RawURLEncoding.EncodeToString(key)},
		{SecretKeyFile: file},
	} {
		c.DataDir = t.TempDir()
		s := start(t, c)
		if _, err := os.Stat(filepath.Join(c.DataDir, server.SecretKeyFile)); err == nil {
			t.Errorf("%+v: the server made a key file although it was given a key", c)
		}
		if a := call(t, "GET", s.URL()+"/api/v1/tuf/online-keys", s.Admin().Token, nil); a.status != http.StatusOK {
			t.Errorf("%+v: online keys answered %d %s", c, a.status, a.body)
		}
	}
	secret := "0123456789abcdef0123456789abcdef"
	for _, tc := range []struct {
		name string
		c    server.Config
		want string
	}{
		{"a key too short", server.Config{SecretKey: secret}, "DRIVERHUB_SECRET_KEY: the secret key must be 32 bytes"},
		{"a missing file", server.Config{SecretKeyFile: "/nonexistent/key"}, "--secret-key-file"},
		{"both", server.Config{SecretKey: hex.EncodeToString(key), SecretKeyFile: file}, "keep one"},
		{"a timestamp too short", server.Config{TUFTimestampExpiry: 9 * time.Second}, "--tuf-timestamp-expiry must be at least 10s"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.c.DataDir, tc.c.Logger = t.TempDir(), quiet
			srv, err := server.New(context.Background(), tc.c)
			if err == nil {
				srv.Run(canceled())
				t.Fatalf("New succeeded, want %q", tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), secret) {
				t.Errorf("error %q, want %q and not the key", err, tc.want)
			}
		})
	}
}

// TestPostgresWithoutSecretKey: replicas must share a key, so none is made.
func TestPostgresWithoutSecretKey(t *testing.T) {
	s := start(t, server.Config{Database: pgtest.Fresh(t, pgtest.URL(t))})
	a := call(t, "GET", s.URL()+"/api/v1/tuf/online-keys", s.Admin().Token, nil)
	if a.status != http.StatusUnprocessableEntity || !strings.Contains(a.body, "--secret-key-file") {
		t.Errorf("online keys on PostgreSQL without a key: %d %s; want 422 naming --secret-key-file", a.status, a.body)
	}
}

// TestTimestampLoop checks that a running server re-signs a timestamp by
// itself once half its life has passed.
func TestTimestampLoop(t *testing.T) {
	clk := &clock{now: time.Now().UTC().Truncate(time.Second)}
	s := start(t, server.Config{Now: clk.Now, TUFTimestampExpiry: 10 * time.Second})
	trustInit(t, s, clk.Now())
	if v := timestampVersion(t, s); v != 1 {
		t.Fatalf("timestamp version %d after trust init, want 1", v)
	}
	clk.advance(5 * time.Second)
	deadline := time.Now().Add(30 * time.Second) // the loop looks every half second
	for timestampVersion(t, s) != 2 {
		if time.Now().After(deadline) {
			t.Fatalf("timestamp not re-signed 30 s after half its life passed")
		}
		time.Sleep(50 * time.Millisecond)
	}
}
