package httpapi_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/theupdateframework/go-tuf/v2/metadata"

	"github.com/driverhub/driverhub"
	"github.com/driverhub/driverhub/internal/apitest"
	"github.com/driverhub/driverhub/internal/tufmeta"
)

// tufOwner is a tenant's offline side over HTTP: its root and targets keys.
type tufOwner struct {
	s             *apitest.Server
	token         string
	root, targets ed25519.PrivateKey
	last          *metadata.Metadata[metadata.TargetsType]
}

func tufKey(t *testing.T) ed25519.PrivateKey {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return priv
}

func tufSigned[T metadata.Roles](t *testing.T, m *metadata.Metadata[T], keys ...ed25519.PrivateKey) []byte {
	t.Helper()
	m.ClearSignatures()
	for _, k := range keys {
		s, err := tufmeta.Signer(k)
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

// tufInit does what driverhub trust init does, over the API, and returns
// the root it uploaded.
func tufInit(t *testing.T, s *apitest.Server, token string) (*tufOwner, []byte) {
	t.Helper()
	var online map[string]*metadata.Key
	s.Must(t, http.StatusOK, "GET", "/api/v1/tuf/online-keys", token, nil).Decode(t, &online)
	o := &tufOwner{s: s, token: token, root: tufKey(t), targets: tufKey(t)}
	root := metadata.Root(tufmeta.Expiry(time.Now(), driverhub.TUFRootExpiry))
	for role, k := range map[string]*metadata.Key{metadata.ROOT: pubKey(t, o.root), metadata.TARGETS: pubKey(t, o.targets),
		metadata.SNAPSHOT: online["snapshot"], metadata.TIMESTAMP: online["timestamp"]} {
		if err := root.Signed.AddKey(k, role); err != nil {
			t.Fatal(err)
		}
	}
	body := tufSigned(t, root, o.root)
	up := object(t, s.Must(t, http.StatusOK, "PUT", "/api/v1/tuf/root", token, bytes.NewReader(body)))
	if up["role"] != "root" || up["version"] != 1.0 {
		t.Errorf("PUT root answered %v", up)
	}
	o.last = metadata.Targets(tufmeta.Expiry(time.Now(), driverhub.TUFTargetsExpiry))
	tufmeta.SetRevoked(&o.last.Signed, nil)
	s.Must(t, http.StatusOK, "PUT", "/api/v1/tuf/targets", token, bytes.NewReader(tufSigned(t, o.last, o.targets)))
	return o, body
}

func pubKey(t *testing.T, priv ed25519.PrivateKey) *metadata.Key {
	t.Helper()
	k, _, err := tufmeta.PublicKey(priv.Public().(ed25519.PublicKey))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// signTarget uploads the next targets with a target added (nil: none).
func (o *tufOwner) signTarget(t *testing.T, name string, tf *metadata.TargetFiles, keys ...ed25519.PrivateKey) *apitest.Response {
	t.Helper()
	b, _ := o.last.ToBytes(false)
	next, err := metadata.Targets().FromBytes(b)
	if err != nil {
		t.Fatal(err)
	}
	next.Signed.Version++
	if tf != nil {
		next.Signed.Targets[name] = tf
	}
	r := o.s.Do(t, "PUT", "/api/v1/tuf/targets", o.token, bytes.NewReader(tufSigned(t, next, keys...)))
	if r.Status == http.StatusOK {
		o.last = next
	}
	return r
}

func targetOf(t *testing.T, pkg []byte) *metadata.TargetFiles {
	t.Helper()
	sum, _ := hex.DecodeString(sha256Hex(pkg))
	tf := &metadata.TargetFiles{Length: int64(len(pkg)), Hashes: metadata.Hashes{"sha256": sum}}
	tufmeta.SetCustom(tf, tufmeta.TargetCustom{Runtime: "python3", MinEdgeVersion: "1.0.0"})
	return tf
}

func TestTUFRepositoryOverHTTP(t *testing.T) {
	s := apitest.New(t)
	admin := s.AdminToken
	gw := gwNewInstance(t, s, admin, "gw1")
	for _, path := range []string{"/api/v1/tuf/root.json", "/api/v1/tuf/timestamp.json"} {
		wantError(t, s.Do(t, "GET", path, admin, nil), http.StatusNotFound, driverhub.ENotFound, "")
	}
	wantError(t, gw.do(t, "GET", "/api/v1/gateway/tuf/root.json", nil), http.StatusNotFound, driverhub.ENotFound, "")
	wantError(t, s.Do(t, "PUT", "/api/v1/tuf/targets", admin, "{}"), http.StatusBadRequest, driverhub.EInvalid, "")

	o, rootBody := tufInit(t, s, admin)
	root := s.Must(t, http.StatusOK, "GET", "/api/v1/tuf/root.json", admin, nil)
	if !bytes.Equal(root.Body, rootBody) || root.Header.Get("Cache-Control") != "no-cache" {
		t.Errorf("root.json is not the uploaded root byte for byte, or is cacheable (%q)", root.Header.Get("Cache-Control"))
	}
	if cc := s.Must(t, http.StatusOK, "GET", "/api/v1/tuf/1.targets.json", admin, nil).Header.Get("Cache-Control"); !strings.Contains(cc, "immutable") {
		t.Errorf("1.targets.json: Cache-Control %q, want immutable", cc)
	}
	pkg := gwPublishedPython(t, s, admin, "Meter", "1", nil)
	up := object(t, s.Must(t, http.StatusOK, "PUT", "/api/v1/tuf/targets", admin, bytes.NewReader(signedNext(t, o, "default/Meter/1", targetOf(t, pkg)))))
	if up["version"] != 2.0 || up["snapshot_version"] != 2.0 || up["timestamp_version"] != 2.0 {
		t.Errorf("PUT targets answered %v", up)
	}
	mine := s.Must(t, http.StatusOK, "GET", "/api/v1/tuf/timestamp.json", admin, nil)
	theirs := gw.do(t, "GET", "/api/v1/gateway/tuf/timestamp.json", nil)
	if theirs.Status != http.StatusOK || !bytes.Equal(mine.Body, theirs.Body) || !strings.Contains(string(mine.Body), `"version": 2`) {
		t.Errorf("the gateway's timestamp.json (%d) differs from the tenant's, or is not version 2:\n%s", theirs.Status, mine.Body)
	}
	wantError(t, gw.do(t, "GET", "/api/v1/gateway/tuf/9.targets.json", nil), http.StatusNotFound, driverhub.ENotFound, "")
	wantError(t, s.Do(t, "GET", "/api/v1/gateway/tuf/root.json", admin, nil), http.StatusUnauthorized, driverhub.EUnauthenticated, "")
}

// signedNext is the next targets with a target added, signed by the
// owner's targets key, without uploading them.
func signedNext(t *testing.T, o *tufOwner, name string, tf *metadata.TargetFiles) []byte {
	t.Helper()
	b, _ := o.last.ToBytes(false)
	next, err := metadata.Targets().FromBytes(b)
	if err != nil {
		t.Fatal(err)
	}
	next.Signed.Version++
	next.Signed.Targets[name] = tf
	o.last = next
	return tufSigned(t, next, o.targets)
}

func TestTUFUploadsRefusedOverHTTP(t *testing.T) {
	s := apitest.New(t)
	admin := s.AdminToken
	o, _ := tufInit(t, s, admin)
	pkg := gwPublishedPython(t, s, admin, "Meter", "1", nil)

	e := wantError(t, o.signTarget(t, "default/Meter/1", targetOf(t, pkg), tufKey(t)), http.StatusBadRequest, driverhub.EInvalidSignature, "signatures")
	if !strings.Contains(e.Message, "not signed by 1 of the targets keys") {
		t.Errorf("message %q does not say which keys were needed", e.Message)
	}
	bad := targetOf(t, pkg)
	bad.Length = 1
	e = wantError(t, o.signTarget(t, "default/Meter/1", bad, o.targets), http.StatusBadRequest, driverhub.EInvalid, "signed.targets.default/Meter/1")
	if !strings.Contains(e.Message, "default/Meter/1") || len(e.Problems) != 1 || e.Problems[0].Field != "signed.targets.default/Meter/1" {
		t.Errorf("refusal %+v does not name the target", e)
	}
	viewer := s.Token(t, admin, driverhub.RoleViewer)
	wantError(t, s.Do(t, "PUT", "/api/v1/tuf/root", viewer, "{}"), http.StatusForbidden, driverhub.EPermissionDenied, "")
	wantError(t, s.Do(t, "PUT", "/api/v1/tuf/targets", admin, ""), http.StatusBadRequest, driverhub.EInvalid, "")
	wantError(t, s.Do(t, "PUT", "/api/v1/tuf/root", admin, "not json"), http.StatusBadRequest, driverhub.EInvalid, "")
	huge := bytes.Repeat([]byte(" "), driverhub.MaxTUFMetadataBytes+1)
	wantError(t, s.Do(t, "PUT", "/api/v1/tuf/targets", admin, bytes.NewReader(huge)), http.StatusRequestEntityTooLarge, driverhub.ETooLarge, "")
	if r := o.signTarget(t, "default/Meter/1", targetOf(t, pkg), o.targets); r.Status != http.StatusOK {
		t.Errorf("a valid upload after the refusals: %d %s", r.Status, r.Body)
	}
}

func TestTenantPolicyOverHTTP(t *testing.T) {
	s := apitest.New(t)
	admin := s.AdminToken
	got := object(t, s.Must(t, http.StatusOK, "GET", "/api/v1/tenant", admin, nil))
	if got["name"] != "default" || got["require_signed_drivers"] != false {
		t.Errorf("GET /api/v1/tenant = %v", got)
	}
	wantError(t, s.Do(t, "PATCH", "/api/v1/tenant", admin, map[string]any{"require_signed": true}), http.StatusBadRequest, driverhub.EInvalid, "require_signed")
	dev := s.Token(t, admin, driverhub.RoleDeveloper)
	wantError(t, s.Do(t, "PATCH", "/api/v1/tenant", dev, map[string]any{"require_signed_drivers": true}), http.StatusForbidden, driverhub.EPermissionDenied, "")
	got = object(t, s.Must(t, http.StatusOK, "PATCH", "/api/v1/tenant", admin, map[string]any{"require_signed_drivers": true}))
	if got["require_signed_drivers"] != true {
		t.Errorf("PATCH answered %v", got)
	}

	gwPublishedPython(t, s, admin, "Meter", "1", nil)
	gwNewInstance(t, s, admin, "gw1")
	gwBind(t, s, admin, "gw1", "Meter", nil)
	e := wantError(t, s.Do(t, "POST", gwDeploymentsPath("gw1"), admin, nil), http.StatusUnprocessableEntity, driverhub.EFailedPrecondition, "")
	if len(e.Problems) != 1 || e.Problems[0].Code != driverhub.ProblemSignatureMissing {
		b, _ := json.Marshal(e.Problems)
		t.Errorf("deploying an unsigned package: problems %s, want signature_missing", b)
	}
}
