package service_test

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/driverhub/driverhub"
)

func TestPutPackageAccepted(t *testing.T) {
	t.Parallel()
	ts := newTestService(t)
	ts.newDriver(t, ts.admin, driverIn("Py", "python3"))
	ts.newVersion(t, ts.admin, "Py", "1.0")
	zip := packageFor(t, "python3", "print(1)")
	v := must(ts.PutPackage(ts.admin, "Py", "1.0", "", bytes.NewReader(zip)))(t)
	want := driverhub.PackageRef{Filename: "Py-1.0.zip", Size: int64(len(zip)), SHA256: sha256Hex(zip)}
	if v.Package == nil || *v.Package != want {
		t.Fatalf("package %+v, want %+v", v.Package, want)
	}
	if got := readAll(t, must(ts.OpenPackage(ts.admin, "Py", "1.0"))(t)); !bytes.Equal(got, zip) {
		t.Error("the downloaded package differs from the upload")
	}

	// A draft's package may be replaced; its name is kept as given.
	zip2 := packageFor(t, "python3", "print(2)")
	v = must(ts.PutPackage(ts.admin, "Py", "1.0", "pump driver.zip", bytes.NewReader(zip2)))(t)
	if v.Package.SHA256 != sha256Hex(zip2) || v.Package.Filename != "pump driver.zip" {
		t.Errorf("replaced package %+v", v.Package)
	}
	_, err := ts.PutPackage(ts.admin, "Py", "1.0", "../x.zip", bytes.NewReader(zip2))
	wantErr(t, err, driverhub.EInvalid, "filename")
	_, err = ts.PutPackage(ts.admin, "Py", "2.0", "", bytes.NewReader(zip2))
	wantErr(t, err, driverhub.ENotFound, "")
	_, err = ts.PutPackage(ts.userCtx(t, ts.admin, "vic", driverhub.RoleViewer), "Py", "1.0", "", bytes.NewReader(zip2))
	wantErr(t, err, driverhub.EPermissionDenied, "")
}

func TestPutPackageRefusalNamesTheProblem(t *testing.T) {
	t.Parallel()
	ts := newTestService(t)
	ts.newDriver(t, ts.admin, driverIn("Py", "python3"))
	ts.newDriver(t, ts.admin, driverIn("Cc", "c"))
	ts.newVersion(t, ts.admin, "Py", "1")
	ts.newVersion(t, ts.admin, "Cc", "1")
	tests := []struct {
		name     string
		driver   string
		body     []byte
		mentions []string
	}{
		{"absolute path", "Py", zipOf(t, "index.py", "1", "/etc/cron.d/x", "evil"), []string{`"/etc/cron.d/x"`, "absolute"}},
		{"dot-dot", "Py", zipOf(t, "index.py", "1", "lib/../../evil", "evil"), []string{`"lib/../../evil"`, `".."`}},
		{"no entry file", "Py", zipOf(t, "main.py", "1"), []string{`"index.py"`}},
		{"folder zipped", "Py", zipOf(t, "Py/index.py", "1"), []string{`"Py/index.py"`}},
		{"entry file of another runtime", "Cc", zipOf(t, "index.py", "1"), []string{`"main"`}},
		{"not a zip", "Py", []byte("print(1)\n"), []string{"not a valid zip"}},
		{"empty", "Py", nil, []string{"not a valid zip"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ts.PutPackage(ts.admin, tt.driver, "1", "", bytes.NewReader(tt.body))
			e := wantErr(t, err, driverhub.EInvalid, "package")
			contains(t, "refusal", e.Message, tt.mentions...)
			if v := must(ts.GetVersion(ts.admin, tt.driver, "1"))(t); v.Package != nil {
				t.Errorf("a refused package was recorded: %+v", v.Package)
			}
		})
	}
}

func TestPutPackageTooLarge(t *testing.T) {
	t.Parallel()
	ts := newTestService(t)
	ts.newDriver(t, ts.admin, driverIn("Py", "python3"))
	ts.newVersion(t, ts.admin, "Py", "1")
	tests := []struct {
		size        int64
		code, field string
	}{
		// At the limit the size passes and the content is judged.
		{driverhub.MaxPackageBytes, driverhub.EInvalid, "package"},
		{driverhub.MaxPackageBytes + 1, driverhub.ETooLarge, "package"},
	}
	for _, tt := range tests {
		_, err := ts.PutPackage(ts.admin, "Py", "1", "", io.LimitReader(zeros{}, tt.size))
		e := wantErr(t, err, tt.code, tt.field)
		if tt.code == driverhub.ETooLarge {
			contains(t, "refusal", e.Message, "52428800 bytes", "50 MiB")
		}
	}
	if v := must(ts.GetVersion(ts.admin, "Py", "1"))(t); v.Package != nil {
		t.Errorf("an oversized package was recorded: %+v", v.Package)
	}
}

func TestPutConfigFile(t *testing.T) {
	t.Parallel()
	ts := newTestService(t)
	in := driverIn("Bi", "java")
	in.Builtin = ptr(true) // a built-in driver has no package, but may have a config file
	ts.newDriver(t, ts.admin, in)
	ts.newVersion(t, ts.admin, "Bi", "1")
	body := "[modbus]\nport=502\n"
	v := must(ts.PutConfigFile(ts.admin, "Bi", "1", "modbus.ini", strings.NewReader(body)))(t)
	want := driverhub.ConfigFileRef{Name: "modbus.ini", Size: int64(len(body)), SHA256: sha256Hex([]byte(body))}
	if v.DriverConfig == nil || v.DriverConfig.Format != driverhub.ConfigFile || *v.DriverConfig.File != want {
		t.Fatalf("driver config %+v, want file %+v", v.DriverConfig, want)
	}
	if got := readAll(t, must(ts.OpenConfigFile(ts.admin, "Bi", "1"))(t)); string(got) != body {
		t.Errorf("downloaded config file %q, want %q", got, body)
	}
	// Sending back the file config read is fine; naming another is not.
	must(ts.UpdateVersion(ts.admin, "Bi", "1", driverhub.VersionInput{DriverConfig: v.DriverConfig, Description: ptr("x")}))(t)
	other := *v.DriverConfig.File
	other.SHA256 = sha256Hex([]byte("other"))
	_, err := ts.UpdateVersion(ts.admin, "Bi", "1", driverhub.VersionInput{DriverConfig: &driverhub.DriverConfig{Format: driverhub.ConfigFile, File: &other}})
	wantErr(t, err, driverhub.EInvalid, "driver_config.file")

	_, err = ts.PutConfigFile(ts.admin, "Bi", "1", "conf/modbus.ini", strings.NewReader(body))
	wantErr(t, err, driverhub.EInvalid, "name")
	_, err = ts.PutConfigFile(ts.admin, "Bi", "1", "big.ini", io.LimitReader(zeros{}, driverhub.MaxConfigFileBytes+1))
	wantErr(t, err, driverhub.ETooLarge, "body")
	must(ts.PutConfigFile(ts.admin, "Bi", "1", "max.ini", io.LimitReader(zeros{}, driverhub.MaxConfigFileBytes)))(t)

	ts.newVersion(t, ts.admin, "Bi", "2")
	_, err = ts.OpenConfigFile(ts.admin, "Bi", "2")
	wantErr(t, err, driverhub.ENotFound, "")
}

func TestALostBlobIsAnInternalError(t *testing.T) {
	t.Parallel()
	ts := newTestService(t)
	ts.newDriver(t, ts.admin, driverIn("Py", "python3"))
	ts.newVersion(t, ts.admin, "Py", "1")
	sha := ts.upload(t, ts.admin, "Py", "1").Package.SHA256
	// Lost outside driverhub: not "not found", which would say the
	// version has no package.
	ok(t, os.Remove(filepath.Join(filepath.Dir(ts.dbPath), "blobs", sha[:2], sha)))
	_, err := ts.OpenPackage(ts.admin, "Py", "1")
	if code := driverhub.ErrorCode(err); code != driverhub.EInternal {
		t.Errorf("opening a lost package: %v (code %s), want an internal error", err, code)
	}
}
