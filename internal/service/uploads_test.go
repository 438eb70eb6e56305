package service_test

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/driverhub/driverhub"
)

func TestStageUploadChecksAndKeepsTheFile(t *testing.T) {
	e := newDraftEnv(t)
	pkg := draftPythonZip(t)
	ini := []byte("[meter]\npoll=500\n")
	for _, tc := range []struct {
		name string
		in   driverhub.UploadInput
		data []byte
	}{
		{"package for its runtime", driverhub.UploadInput{Kind: driverhub.UploadPackage, Filename: "meter.zip", Runtime: "python3"}, pkg},
		{"config file", driverhub.UploadInput{Kind: driverhub.UploadConfigFile, Filename: "站点.ini"}, ini},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u, err := e.svc.StageUpload(e.acme, tc.in, bytes.NewReader(tc.data))
			if err != nil {
				t.Fatal(err)
			}
			if u.ID == "" || u.Kind != tc.in.Kind || u.Filename != tc.in.Filename || u.Runtime != tc.in.Runtime ||
				u.Size != int64(len(tc.data)) || u.SHA256 != draftSHA256(tc.data) {
				t.Errorf("staged upload %+v does not describe the file", u)
			}
			if !u.ExpiresAt.Equal(e.now.Add(time.Hour)) {
				t.Errorf("expires at %s, want an hour after %s", u.ExpiresAt, e.now)
			}
			body, _, err := e.blobs.Open(context.Background(), u.SHA256)
			if err != nil {
				t.Fatalf("the staged file is not in the blob store: %v", err)
			}
			defer body.Close()
			if got, _ := io.ReadAll(body); !bytes.Equal(got, tc.data) {
				t.Error("the blob store holds other bytes than were staged")
			}
			var referenced bool
			e.store.View(context.Background(), func(tx driverhub.Tx) (err error) {
				referenced, err = tx.BlobReferenced(context.Background(), u.SHA256)
				return err
			})
			if !referenced {
				t.Error("the staged blob counts as unreferenced: a sweep could delete it before the draft uses it")
			}
		})
	}
}

func TestStageUploadRefusesBadFiles(t *testing.T) {
	e := newDraftEnv(t)
	pkg := draftPythonZip(t)
	for _, tc := range []struct {
		name  string
		ctx   context.Context
		in    driverhub.UploadInput
		body  io.Reader
		code  string
		field string
		says  string
	}{
		{"package without the runtime's entry file", e.acme, driverhub.UploadInput{Kind: "package", Filename: "m.zip", Runtime: "nodejs"},
			bytes.NewReader(pkg), driverhub.EInvalid, "package", "index.js"},
		{"package that is not a zip", e.acme, driverhub.UploadInput{Kind: "package", Filename: "m.zip", Runtime: "python3"},
			strings.NewReader("not a zip"), driverhub.EInvalid, "package", "zip"},
		{"config file over 1 MiB", e.acme, driverhub.UploadInput{Kind: "config_file", Filename: "big.ini"},
			io.LimitReader(draftZeros{}, driverhub.MaxConfigFileBytes+1), driverhub.ETooLarge, "config_file", "larger than 1048576 bytes"},
		{"package for an unknown runtime", e.acme, driverhub.UploadInput{Kind: "package", Filename: "m.zip", Runtime: "cobol"},
			bytes.NewReader(pkg), driverhub.EInvalid, "runtime", "must be one of"},
		{"config file with a runtime", e.acme, driverhub.UploadInput{Kind: "config_file", Filename: "c.ini", Runtime: "python3"},
			strings.NewReader("x=1"), driverhub.EInvalid, "runtime", "only for packages"},
		{"unknown kind", e.acme, driverhub.UploadInput{Kind: "firmware", Filename: "f.bin"},
			strings.NewReader("x"), driverhub.EInvalid, "kind", "package or config_file"},
		{"file name with a path", e.acme, driverhub.UploadInput{Kind: "config_file", Filename: "../etc/passwd"},
			strings.NewReader("x"), driverhub.EInvalid, "filename", "plain file name"},
		{"no file name", e.acme, driverhub.UploadInput{Kind: "config_file"},
			strings.NewReader("x"), driverhub.EInvalid, "filename", "1-255 bytes"},
		{"a viewer", e.viewer, driverhub.UploadInput{Kind: "config_file", Filename: "c.ini"},
			strings.NewReader("x"), driverhub.EPermissionDenied, "", "developer"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.svc.StageUpload(tc.ctx, tc.in, tc.body)
			got, ok := driverhub.AsError(err)
			if !ok || got.Code != tc.code || got.Field != tc.field || !strings.Contains(got.Message, tc.says) {
				t.Errorf("error = %v, want %s about %q saying %q", err, tc.code, tc.field, tc.says)
			}
		})
	}
}

func TestStageUploadSweepsExpiredUploads(t *testing.T) {
	e := newDraftEnv(t)
	old := e.stage(t, e.acme, driverhub.UploadConfigFile, "old.ini", "", []byte("a=1"))
	e.now = e.now.Add(59 * time.Minute)
	fresh := e.stage(t, e.acme, driverhub.UploadConfigFile, "fresh.ini", "", []byte("b=1"))
	if !e.uploadExists(t, old.ID) {
		t.Fatal("an upload was swept before it expired")
	}
	e.now = e.now.Add(2 * time.Minute)
	e.stage(t, e.globex, driverhub.UploadConfigFile, "other.ini", "", []byte("c=1"))
	if e.uploadExists(t, old.ID) {
		t.Error("an expired upload was left behind")
	}
	if !e.uploadExists(t, fresh.ID) {
		t.Error("an upload that has not expired was swept")
	}
}

// draftZeros reads as an endless run of zero bytes.
type draftZeros struct{}

func (draftZeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

func TestGetUploadShowsTheTenantsUsableUploads(t *testing.T) {
	e := newDraftEnv(t)
	data := draftPythonZip(t)
	staged := e.stage(t, e.acme, driverhub.UploadPackage, "meter.zip", "python3", data)
	got, err := e.svc.GetUpload(e.acme, staged.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Filename != "meter.zip" || got.Size != int64(len(data)) || got.SHA256 != draftSHA256(data) || got.Runtime != "python3" || got.Kind != driverhub.UploadPackage {
		t.Errorf("GetUpload = %+v, want the staged meter.zip", got)
	}
	_, err = e.svc.GetUpload(e.globex, staged.ID)
	if driverhub.ErrorCode(err) != driverhub.ENotFound {
		t.Errorf("another tenant's GetUpload: %v, want not found", err)
	}
	_, err = e.svc.GetUpload(e.viewer, staged.ID)
	if driverhub.ErrorCode(err) != driverhub.EPermissionDenied {
		t.Errorf("a viewer's GetUpload: %v, want permission denied (viewers cannot stage)", err)
	}

	// Used by a draft, it is gone; so is one that expired.
	if _, err := e.svc.SaveDraft(e.acme, driverhub.DraftInput{NewDriver: meterDriver("meter"), PackageUpload: staged.ID,
		Fields: driverhub.VersionInput{Version: draftPtr("1.0.0"), MinEdgeVersion: draftPtr("1.0.0")}}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.GetUpload(e.acme, staged.ID); driverhub.ErrorCode(err) != driverhub.ENotFound {
		t.Errorf("GetUpload of a used upload: %v, want not found", err)
	}
	old := e.stage(t, e.acme, driverhub.UploadConfigFile, "site.ini", "", []byte("a=1"))
	e.now = e.now.Add(driverhub.StagedUploadTTL)
	if _, err := e.svc.GetUpload(e.acme, old.ID); driverhub.ErrorCode(err) != driverhub.ENotFound {
		t.Errorf("GetUpload of an expired upload: %v, want not found", err)
	}
}
