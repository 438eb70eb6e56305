package service_test

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"log/slog"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/driverhub/driverhub"
	"github.com/driverhub/driverhub/internal/fsblob"
	"github.com/driverhub/driverhub/internal/service"
	"github.com/driverhub/driverhub/internal/sqlite"
)

// draftEnv is a service over a real SQLite store and filesystem blob store,
// with a clock the test moves, and developers of two tenants.
type draftEnv struct {
	svc    *service.Service
	store  driverhub.Store
	blobs  *fsblob.Store
	now    time.Time
	acme   context.Context // the default tenant's admin
	globex context.Context // another tenant's admin
	viewer context.Context // a viewer of the default tenant
}

func newDraftEnv(t *testing.T) *draftEnv {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	store, err := sqlite.Open(ctx, filepath.Join(dir, "driverhub.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	blobs, err := fsblob.Open(filepath.Join(dir, "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	e := &draftEnv{store: store, blobs: blobs, now: time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)}
	e.svc, err = service.New(service.Config{Store: store, Blobs: blobs,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), BcryptCost: 4, Now: func() time.Time { return e.now }})
	if err != nil {
		t.Fatal(err)
	}
	admin, err := e.svc.Bootstrap(ctx, "", "")
	if err != nil {
		t.Fatal(err)
	}
	e.acme = e.signIn(t, admin.Token)
	globex, err := e.svc.CreateTenant(e.acme, "globex")
	if err != nil {
		t.Fatal(err)
	}
	e.globex = e.signIn(t, globex.Token)
	name, password, role := "vera", "password-vera", driverhub.RoleViewer
	if _, err := e.svc.CreateUser(e.acme, driverhub.UserInput{Username: &name, Password: &password, Role: &role}); err != nil {
		t.Fatal(err)
	}
	p, err := e.svc.Login(ctx, name, password)
	if err != nil {
		t.Fatal(err)
	}
	e.viewer = driverhub.WithPrincipal(ctx, p)
	return e
}

func (e *draftEnv) signIn(t *testing.T, token string) context.Context {
	t.Helper()
	p, err := e.svc.Authenticate(context.Background(), token)
	if err != nil {
		t.Fatal(err)
	}
	return driverhub.WithPrincipal(context.Background(), p)
}

// stage stages a file that must be accepted.
func (e *draftEnv) stage(t *testing.T, ctx context.Context, kind driverhub.UploadKind, filename string, runtime driverhub.Runtime, data []byte) *driverhub.StagedUpload {
	t.Helper()
	u, err := e.svc.StageUpload(ctx, driverhub.UploadInput{Kind: kind, Filename: filename, Runtime: runtime}, bytes.NewReader(data))
	if err != nil {
		t.Fatalf("StageUpload %s %s: %v", kind, filename, err)
	}
	return u
}

// uploadExists reports whether a staged upload is still recorded.
func (e *draftEnv) uploadExists(t *testing.T, id string) bool {
	t.Helper()
	var found bool
	err := e.store.View(context.Background(), func(tx driverhub.Tx) error {
		_, err := tx.UploadByID(context.Background(), id)
		found = err == nil
		if driverhub.ErrorCode(err) == driverhub.ENotFound {
			return nil
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return found
}

// driverNames lists the drivers a tenant holds.
func (e *draftEnv) driverNames(t *testing.T, ctx context.Context) []string {
	t.Helper()
	l, err := e.svc.ListDrivers(ctx, driverhub.DriverFilter{}, driverhub.Page{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, d := range l.Items {
		names = append(names, d.Name)
	}
	return names
}

// wantDraftFields checks that err is a code error naming exactly the fields, in any order.
func wantDraftFields(t *testing.T, err error, code string, fields ...string) *driverhub.Error {
	t.Helper()
	e, ok := driverhub.AsError(err)
	if !ok || e.Code != code {
		t.Fatalf("error = %v, want a %s error", err, code)
	}
	got := []string{e.Field}
	if len(e.Problems) > 0 {
		got = nil
		for _, p := range e.Problems {
			got = append(got, p.Field)
		}
	}
	slices.Sort(got)
	want := slices.Sorted(slices.Values(fields))
	if !slices.Equal(got, want) {
		t.Errorf("fields at fault = %v, want %v (%v)", got, want, err)
	}
	return e
}

// draftMessage is the message of the problem about field.
func draftMessage(e *driverhub.Error, field string) string {
	for _, p := range e.Problems {
		if p.Field == field {
			return p.Message
		}
	}
	if e.Field == field {
		return e.Message
	}
	return ""
}

// draftZip makes a zip package holding the given files.
func draftZip(t *testing.T, files map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, body := range files {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(w, body)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func draftPythonZip(t *testing.T) []byte {
	return draftZip(t, map[string]string{"index.py": "print('meter')\n"})
}

func draftSHA256(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

func draftPtr[T any](v T) *T { return &v }
