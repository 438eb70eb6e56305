package console_test

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/driverhub/driverhub"
	"github.com/driverhub/driverhub/internal/apitest"
	"github.com/driverhub/driverhub/internal/console"
)

// browser is an HTTP client with a cookie jar, speaking to the console
// the way a browser without JavaScript does.
type browser struct {
	t    testing.TB
	srv  *apitest.Server
	hc   *http.Client
	lang string // Accept-Language
}

func newBrowser(t testing.TB, srv *apitest.Server) *browser {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	hc := &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return &browser{t: t, srv: srv, hc: hc, lang: "en"}
}

// page is an answer read whole.
type page struct {
	Status   int
	Header   http.Header
	Body     string
	Location string
}

func (b *browser) do(req *http.Request) *page {
	b.t.Helper()
	if b.lang != "" {
		req.Header.Set("Accept-Language", b.lang)
	}
	resp, err := b.hc.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		b.t.Fatal(err)
	}
	return &page{Status: resp.StatusCode, Header: resp.Header, Body: string(body), Location: resp.Header.Get("Location")}
}

func (b *browser) get(path string) *page {
	b.t.Helper()
	req, err := http.NewRequest("GET", b.srv.URL+path, nil)
	if err != nil {
		b.t.Fatal(err)
	}
	return b.do(req)
}

// mustGet fetches a page that must answer 200.
func (b *browser) mustGet(path string) *page {
	b.t.Helper()
	p := b.get(path)
	if p.Status != http.StatusOK {
		b.t.Fatalf("GET %s: status %d, want 200: %s", path, p.Status, snippet(p.Body))
	}
	return p
}

// csrf is the session's CSRF token, as every form carries it.
func (b *browser) csrf() string {
	u, _ := url.Parse(b.srv.URL)
	for _, c := range b.hc.Jar.Cookies(u) {
		if c.Name == console.SessionCookie {
			return console.CSRFToken(c.Value)
		}
	}
	return ""
}

// post sends a urlencoded form with the session's CSRF token (unless the form sets its own).
func (b *browser) post(path string, form url.Values) *page {
	b.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	if _, ok := form["csrf"]; !ok {
		form.Set("csrf", b.csrf())
	}
	req, err := http.NewRequest("POST", b.srv.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		b.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

// part is one field of a multipart form: a file when Filename is set.
type part struct {
	Name, Value, Filename string
	Data                  []byte
}

func field(name, value string) part { return part{Name: name, Value: value} }

// postMultipart sends the parts in order, the CSRF token first.
func (b *browser) postMultipart(path string, parts ...part) *page {
	b.t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	all := append([]part{field("csrf", b.csrf())}, parts...)
	if len(parts) > 0 && parts[0].Name == "csrf" {
		all = parts
	}
	for _, p := range all {
		if p.Filename != "" {
			w, err := mw.CreateFormFile(p.Name, p.Filename)
			if err != nil {
				b.t.Fatal(err)
			}
			w.Write(p.Data)
			continue
		}
		mw.WriteField(p.Name, p.Value)
	}
	mw.Close()
	req, err := http.NewRequest("POST", b.srv.URL+path, &buf)
	if err != nil {
		b.t.Fatal(err)
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	return b.do(req)
}

// login signs in and fails the test unless it worked.
func (b *browser) login(username, password string) {
	b.t.Helper()
	p := b.post("/login", url.Values{"username": {username}, "password": {password}})
	if p.Status != http.StatusSeeOther || p.Location != "/drivers" {
		b.t.Fatalf("login %s: status %d, location %q: %s", username, p.Status, p.Location, snippet(p.Body))
	}
}

// newUser makes a user of the default tenant with a password.
func newUser(t testing.TB, srv *apitest.Server, name string, role driverhub.Role) (string, string) {
	t.Helper()
	password := "password-" + name
	srv.Must(t, http.StatusCreated, "POST", "/api/v1/users", srv.AdminToken, map[string]any{"username": name, "password": password, "role": role})
	return name, password
}

// adminBrowser is a signed-in browser of a new admin of the default tenant.
func adminBrowser(t testing.TB, srv *apitest.Server) *browser {
	t.Helper()
	u, pw := newUser(t, srv, "alice", driverhub.RoleAdmin)
	b := newBrowser(t, srv)
	b.login(u, pw)
	return b
}

// zipOf makes a zip package holding the given files.
func zipOf(t testing.TB, files map[string]string) []byte {
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

func pythonPackage(t testing.TB) []byte {
	return zipOf(t, map[string]string{"index.py": "print('hello from the meter driver')\n"})
}

// report posts a gateway report with an instance's secret.
func report(t testing.TB, srv *apitest.Server, secret string, body any) {
	t.Helper()
	srv.Must(t, http.StatusNoContent, "POST", "/api/v1/gateway/report", secret, body)
}

// desired fetches the manifest as a gateway does.
func desired(t testing.TB, srv *apitest.Server, secret string) driverhub.Manifest {
	t.Helper()
	var m driverhub.Manifest
	srv.Must(t, http.StatusOK, "GET", "/api/v1/gateway/desired", secret, nil).Decode(t, &m)
	return m
}

// succeed reports a deployment as a gateway that applied it.
func succeed(t testing.TB, srv *apitest.Server, secret string, m driverhub.Manifest) {
	t.Helper()
	var res []map[string]any
	var drivers []map[string]any
	done := func(typ, name, msg string) map[string]any {
		return map[string]any{"type": typ, "name": name, "stage": "finish", "status": "succeeded",
			"log": []map[string]any{{"time": time.Now().UTC(), "level": "info", "stage": "start", "message": msg}}}
	}
	for _, d := range m.Drivers {
		res = append(res, done("driver", d.Name, "started "+d.Name), done("driver_config", d.Name, "config written"))
		for _, dev := range d.RuntimeConfig.DeviceList {
			res = append(res, done("device_config", dev.ProductKey+"/"+dev.DeviceName, "device config written"))
		}
		drivers = append(drivers, map[string]any{"name": d.Name, "version": d.Version, "state": "running", "restarts": 0, "memory_bytes": 12 << 20})
	}
	report(t, srv, secret, map[string]any{"edge_version": driverhub.Version, "arch": "x86-64", "builtin_drivers": []string{},
		"deployment": map[string]any{"id": m.DeploymentID, "status": "succeeded", "resources": res}, "drivers": drivers})
}

func snippet(s string) string {
	if i := strings.Index(s, `id="errbox"`); i >= 0 {
		s = s[i:]
	}
	if len(s) > 600 {
		s = s[:600] + "…"
	}
	return s
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// saveDraft submits a driver form as a user does: a form that uploads a
// package comes back showing the file to confirm, and the user clicks
// Confirm, sending the form again without the file, with the hidden fields
// that name what was uploaded.
func (b *browser) saveDraft(path string, parts ...part) *page {
	b.t.Helper()
	p := b.postMultipart(path, parts...)
	if p.Status != http.StatusOK || !strings.Contains(p.Body, `confirm-upload`) {
		return p
	}
	var again []part
	for _, pt := range parts {
		if pt.Filename == "" {
			again = append(again, pt)
		}
	}
	return b.postMultipart(path, append(again, hiddenFields(p.Body)...)...)
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
