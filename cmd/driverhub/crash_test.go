package main_test

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// binary is the driverhub command built once for the tests of this package.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "driverhub-bin-")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "driverhub")
	out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "go build: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

const adminToken = "dht_crashtest0000000000000000000000000000000000000000000000000000"

// server is a driverhub server child process.
type server struct {
	cmd  *exec.Cmd
	url  string
	logs *bytes.Buffer
}

func freeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// startServer runs `driverhub server` on dataDir, with more flags when
// given, and waits until it is ready.
func startServer(t testing.TB, dataDir string, flags ...string) *server {
	t.Helper()
	return startServerAt(t, dataDir, freeAddr(t), flags...)
}

// serverStartLimit bounds the wait for a server to be ready. A start takes
// well under a second alone; the limit is generous because the race
// detector and the other packages' tests (Chromium, runc) share the cores,
// and the wait ends as soon as the server answers.
const serverStartLimit = time.Minute

// startServerAt runs `driverhub server` on dataDir at addr and waits
// until it is ready: a restart keeps the address its gateways know.
func startServerAt(t testing.TB, dataDir, addr string, flags ...string) *server {
	t.Helper()
	cmd := exec.Command(binary, append([]string{"server", "--addr", addr, "--data", dataDir}, flags...)...)
	cmd.Env = append(os.Environ(), "DRIVERHUB_ADMIN_TOKEN="+adminToken, "DRIVERHUB_ADMIN_PASSWORD=crash-test-password")
	logs := &bytes.Buffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &server{cmd: cmd, url: "http://" + addr, logs: logs}
	t.Cleanup(s.kill)
	for deadline := time.Now().Add(serverStartLimit); time.Now().Before(deadline); {
		if resp, err := http.Get(s.url + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s
			}
		}
		time.Sleep(25 * time.Millisecond)
	}
	t.Fatalf("server not ready %s after it started:\n%s", serverStartLimit, logs)
	return nil
}

// kill sends SIGKILL: no deferred cleanup, no graceful shutdown.
func (s *server) kill() {
	if s.cmd.ProcessState != nil {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGKILL)
	_ = s.cmd.Wait()
}

func (s *server) do(t testing.TB, method, path string, body io.Reader) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, s.url+path, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+adminToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func (s *server) must(t testing.TB, want int, method, path string, body string) []byte {
	t.Helper()
	code, b := s.do(t, method, path, strings.NewReader(body))
	if code != want {
		t.Fatalf("%s %s: %d, want %d: %s", method, path, code, want, b)
	}
	return b
}

// pythonPackage returns a valid python3 package of about size bytes.
func pythonPackage(t testing.TB, size int, seed uint64) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, _ := zw.Create("index.py")
	fmt.Fprintf(w, "print('driver %d')\n", seed)
	w, _ = zw.CreateHeader(&zip.FileHeader{Name: "data.bin", Method: zip.Store})
	r := rand.New(rand.NewPCG(seed, seed))
	chunk := make([]byte, 64<<10)
	for n := 0; n < size; n += len(chunk) {
		for i := range chunk {
			chunk[i] = byte(r.Uint32())
		}
		w.Write(chunk)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

type version struct {
	Status  string `json:"status"`
	Package *struct {
		Size   int64  `json:"size"`
		SHA256 string `json:"sha256"`
	} `json:"package"`
}

func sum(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// checkBlobs asserts that every blob file in the store holds exactly the
// bytes its name says: no partial blob under a key, whatever was killed.
func checkBlobs(t testing.TB, dataDir string) {
	t.Helper()
	root := filepath.Join(dataDir, "blobs")
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.Contains(path, string(filepath.Separator)+".tmp") {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if got := sum(b); got != d.Name() {
			t.Errorf("blob %s holds bytes hashing to %s: a partial blob", d.Name(), got)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestCrashDuringUpload kills the server at random moments of a package
// upload that replaces an earlier package, and checks after each restart
// that the version points at the old or the new package, complete.
func TestCrashDuringUpload(t *testing.T) {
	data := t.TempDir()
	s := startServer(t, data)
	s.must(t, 201, "POST", "/api/v1/drivers", `{"name":"crashy","protocol":"modbus","runtime":"python3"}`)
	s.must(t, 201, "POST", "/api/v1/drivers/crashy/versions", `{"version":"1.0","min_edge_version":"1.0.0"}`)
	old := pythonPackage(t, 1<<20, 1)
	s.must(t, 200, "PUT", "/api/v1/drivers/crashy/versions/1.0/package", string(old))

	known := map[string]bool{sum(old): true}
	for i := range 6 {
		pkg := pythonPackage(t, 24<<20, uint64(i+2))
		known[sum(pkg)] = true
		pr, pw := io.Pipe()
		go func() {
			// Feed the body slowly enough that the kill lands mid-stream or
			// just after, at a random point.
			for off := 0; off < len(pkg); off += 1 << 20 {
				end := min(off+1<<20, len(pkg))
				if _, err := pw.Write(pkg[off:end]); err != nil {
					return
				}
			}
			pw.Close()
		}()
		done := make(chan struct{})
		go func() {
			defer close(done)
			req, _ := http.NewRequest("PUT", s.url+"/api/v1/drivers/crashy/versions/1.0/package", pr)
			req.Header.Set("Authorization", "Bearer "+adminToken)
			if resp, err := http.DefaultClient.Do(req); err == nil {
				resp.Body.Close()
			}
		}()
		time.Sleep(time.Duration(rand.IntN(400)) * time.Millisecond)
		s.kill()
		pr.CloseWithError(io.ErrClosedPipe)
		<-done

		s = startServer(t, data)
		var v version
		if err := json.Unmarshal(s.must(t, 200, "GET", "/api/v1/drivers/crashy/versions/1.0", ""), &v); err != nil {
			t.Fatal(err)
		}
		if v.Package == nil || !known[v.Package.SHA256] {
			t.Fatalf("round %d: version points at %+v, neither the old nor a new package", i, v.Package)
		}
		code, body := s.do(t, "GET", "/api/v1/drivers/crashy/versions/1.0/package", nil)
		if code != 200 || sum(body) != v.Package.SHA256 || int64(len(body)) != v.Package.Size {
			t.Fatalf("round %d: download answered %d with %d bytes hashing to %s, want the package %s", i, code, len(body), sum(body), v.Package.SHA256)
		}
		checkBlobs(t, data)
	}
}

// TestCrashDuringPublish kills the server right after sending publish, at
// random moments, and checks the version is a draft or published — and,
// published, has its complete package.
func TestCrashDuringPublish(t *testing.T) {
	data := t.TempDir()
	s := startServer(t, data)
	s.must(t, 201, "POST", "/api/v1/drivers", `{"name":"pub","protocol":"opcua","runtime":"python3"}`)
	states := map[string]int{}
	for i := range 8 {
		ver := fmt.Sprintf("1.%d", i)
		s.must(t, 201, "POST", "/api/v1/drivers/pub/versions", `{"version":"`+ver+`","min_edge_version":"1.0.0"}`)
		pkg := pythonPackage(t, 64<<10, uint64(100+i))
		s.must(t, 200, "PUT", "/api/v1/drivers/pub/versions/"+ver+"/package", string(pkg))
		go func() {
			req, _ := http.NewRequest("POST", s.url+"/api/v1/drivers/pub/versions/"+ver+"/publish", nil)
			req.Header.Set("Authorization", "Bearer "+adminToken)
			if resp, err := http.DefaultClient.Do(req); err == nil {
				resp.Body.Close()
			}
		}()
		time.Sleep(time.Duration(rand.IntN(3000)) * time.Microsecond)
		s.kill()
		s = startServer(t, data)
		var v version
		if err := json.Unmarshal(s.must(t, 200, "GET", "/api/v1/drivers/pub/versions/"+ver, ""), &v); err != nil {
			t.Fatal(err)
		}
		states[v.Status]++
		switch v.Status {
		case "draft", "published":
		default:
			t.Fatalf("version %s is %q after the crash", ver, v.Status)
		}
		if v.Package == nil || v.Package.SHA256 != sum(pkg) {
			t.Fatalf("version %s lost its package: %+v", ver, v.Package)
		}
		code, body := s.do(t, "GET", "/api/v1/drivers/pub/versions/"+ver+"/package", nil)
		if code != 200 || sum(body) != sum(pkg) {
			t.Fatalf("version %s: download %d, %d bytes", ver, code, len(body))
		}
		if v.Status == "draft" { // the publish was lost: it can be done again
			s.must(t, 200, "POST", "/api/v1/drivers/pub/versions/"+ver+"/publish", "")
		}
	}
	t.Logf("states found after the kills: %v", states)
	checkBlobs(t, data)
}
