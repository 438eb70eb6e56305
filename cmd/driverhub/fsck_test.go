package main_test

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// fsck runs `driverhub fsck` with args and returns its output and exit
// status.
func fsck(t *testing.T, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(binary, append([]string{"fsck"}, args...)...)
	cmd.Env = os.Environ()
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		return out.String(), ee.ExitCode()
	}
	if err != nil {
		t.Fatal(err)
	}
	return out.String(), 0
}

func TestFsckBesideARunningServer(t *testing.T) {
	dataDir := t.TempDir()
	srv := startServer(t, dataDir)
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, _ := zw.Create("index.py")
	w.Write(bytes.Repeat([]byte("print('fsck')\n"), 1000))
	zw.Close()
	pkg := buf.Bytes()
	sum := sha256.Sum256(pkg)
	sha := hex.EncodeToString(sum[:])
	for _, r := range []struct {
		method, path, body string
	}{
		{"POST", "/api/v1/drivers", `{"name":"Py","protocol":"modbus","runtime":"python3"}`},
		{"POST", "/api/v1/drivers/Py/versions", `{"version":"1.0","min_edge_version":"1.0.0"}`},
		{"PUT", "/api/v1/drivers/Py/versions/1.0/package", string(pkg)},
	} {
		if code, body := srv.do(t, r.method, r.path, strings.NewReader(r.body)); code >= 300 {
			t.Fatalf("%s %s: %d %s", r.method, r.path, code, body)
		}
	}
	if out, code := fsck(t, "--data", dataDir); code != 0 {
		t.Fatalf("fsck of a sound store: exit %d\n%s", code, out)
	}

	blob := filepath.Join(dataDir, "blobs", sha[:2], sha)
	data, err := os.ReadFile(blob)
	if err != nil {
		t.Fatal(err)
	}
	data[50] ^= 1
	if err := os.WriteFile(blob, data, 0o644); err != nil {
		t.Fatal(err)
	}
	out, code := fsck(t, "--data", dataDir)
	if code != 1 || !strings.Contains(out, "corrupt  "+sha) {
		t.Fatalf("fsck of a corrupt blob: exit %d, want 1 naming %s\n%s", code, sha, out)
	}
	good := t.TempDir()
	if err := os.WriteFile(filepath.Join(good, "Py-1.0.zip"), pkg, 0o644); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(good, "unrelated.txt"), []byte("not a blob"), 0o644)
	out, code = fsck(t, "--data", dataDir, "--repair-from", good)
	if code != 0 || !strings.Contains(out, "repaired "+sha) {
		t.Fatalf("fsck --repair-from: exit %d, want 0 repairing %s\n%s", code, sha, out)
	}
	if out, code := fsck(t, "--data", dataDir); code != 0 {
		t.Errorf("fsck after the repair: exit %d\n%s", code, out)
	}
	if code, body := srv.do(t, "GET", "/api/v1/drivers/Py/versions/1.0/package", nil); code != http.StatusOK || !bytes.Equal(body, pkg) {
		t.Errorf("download after the repair: %d, %d bytes", code, len(body))
	}
}

func TestServerSizeFlag(t *testing.T) {
	cmd := exec.Command(binary, "server", "--data", t.TempDir(), "--tenant-quota", "10XB")
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "tenant-quota") || !strings.Contains(string(out), "10GiB") {
		t.Errorf("server --tenant-quota 10XB: %v\n%s", err, out)
	}
}
