package console_test

import (
	"context"
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/driverhub/driverhub"
	"github.com/driverhub/driverhub/internal/apitest"
	"github.com/driverhub/driverhub/internal/console"
)

func TestWithoutSessionEveryPageGoesToLogin(t *testing.T) {
	srv := apitest.New(t)
	b := newBrowser(t, srv)
	for _, path := range []string{"/", "/drivers", "/drivers/new", "/drivers/x", "/marketplace", "/instances", "/instances/x/deployments/y", "/users", "/tokens"} {
		p := b.get(path)
		if p.Status != http.StatusSeeOther || !strings.HasPrefix(p.Location, "/login") {
			t.Errorf("GET %s: status %d, location %q; want 303 to /login", path, p.Status, p.Location)
		}
	}
	if p := b.get("/drivers?protocol=modbus"); p.Location != "/login?next="+url.QueryEscape("/drivers?protocol=modbus") {
		t.Errorf("next = %q", p.Location)
	}
	// A POST without a session is sent to login too, and does nothing.
	if p := b.post("/instances", url.Values{"name": {"x"}}); p.Status != http.StatusSeeOther || p.Location != "/login" {
		t.Errorf("POST /instances: %d %q", p.Status, p.Location)
	}
	// The login page, the language switch and the assets need no session.
	b.mustGet("/login")
	b.mustGet("/static/console.css")
	b.mustGet("/static/console.js")
	// The API's routes are more specific and keep answering as the API.
	if r := srv.Do(t, "GET", "/api/v1/drivers", "", nil); r.Status != http.StatusUnauthorized || !strings.Contains(string(r.Body), "unauthenticated") {
		t.Errorf("API without token: %d %s", r.Status, r.Body)
	}
	if r := srv.Do(t, "GET", "/healthz", "", nil); r.Status != http.StatusOK {
		t.Errorf("/healthz: %d", r.Status)
	}
}

func TestLoginSessionCookieAndLogout(t *testing.T) {
	srv := apitest.New(t)
	user, pw := newUser(t, srv, "bob", driverhub.RoleDeveloper)
	b := newBrowser(t, srv)

	p := b.post("/login", url.Values{"username": {user}, "password": {"wrong password"}})
	if p.Status != http.StatusUnauthorized || !strings.Contains(p.Body, `value="bob"`) || !strings.Contains(p.Body, "wrong username or password") {
		t.Fatalf("bad password: status %d: %s", p.Status, snippet(p.Body))
	}

	p = b.post("/login", url.Values{"username": {"default/" + user}, "password": {pw}, "next": {"/instances"}})
	if p.Status != http.StatusSeeOther || p.Location != "/instances" {
		t.Fatalf("login: %d %q", p.Status, p.Location)
	}
	ck := sessionCookie(t, p)
	if !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode || ck.Path != "/" || ck.Secure {
		t.Errorf("cookie flags: HttpOnly=%v SameSite=%v Path=%q Secure=%v", ck.HttpOnly, ck.SameSite, ck.Path, ck.Secure)
	}
	// The session is an API token of the user's role.
	principal, err := srv.Service.Authenticate(context.Background(), ck.Value)
	if err != nil || principal.Username != user || principal.Role != driverhub.RoleDeveloper {
		t.Fatalf("session token: %+v, %v", principal, err)
	}
	home := b.mustGet("/drivers")
	if !strings.Contains(home.Body, "default/bob") || !strings.Contains(home.Body, console.CSRFToken(ck.Value)) {
		t.Errorf("signed-in page lacks the user or the CSRF token")
	}
	// Logged in, /login goes home; an open redirect is refused.
	if p := b.get("/login?next=//evil.example/x"); p.Location != "/drivers" {
		t.Errorf("login with a session and a foreign next: %q", p.Location)
	}

	p = b.post("/logout", nil)
	if p.Status != http.StatusSeeOther || !strings.HasPrefix(p.Location, "/login") {
		t.Fatalf("logout: %d %q", p.Status, p.Location)
	}
	if c := sessionCookie(t, p); c.MaxAge >= 0 {
		t.Errorf("logout keeps the cookie: MaxAge %d", c.MaxAge)
	}
	if _, err := srv.Service.Authenticate(context.Background(), ck.Value); err == nil {
		t.Error("the session's token still works after logout")
	}
	if r := srv.Do(t, "GET", "/api/v1/drivers", ck.Value, nil); r.Status != http.StatusUnauthorized {
		t.Errorf("revoked session token on the API: %d", r.Status)
	}
	if p := b.get("/drivers"); p.Status != http.StatusSeeOther {
		t.Errorf("after logout: %d", p.Status)
	}
}

func TestSecureCookieOverTLS(t *testing.T) {
	srv := apitest.New(t)
	user, pw := newUser(t, srv, "carol", driverhub.RoleViewer)
	req := httptest.NewRequest("POST", "https://console.example/login", strings.NewReader(url.Values{"username": {user}, "password": {pw}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.TLS = &tls.ConnectionState{}
	rec := httptest.NewRecorder()
	srv.Handler.ServeHTTP(rec, req)
	if rec.Code != http.StatusSeeOther {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	ck := sessionCookie(t, &page{Header: rec.Header()})
	if !ck.Secure || !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode {
		t.Errorf("TLS cookie: Secure=%v HttpOnly=%v SameSite=%v", ck.Secure, ck.HttpOnly, ck.SameSite)
	}
}

func sessionCookie(t testing.TB, p *page) *http.Cookie {
	t.Helper()
	for _, c := range (&http.Response{Header: p.Header}).Cookies() {
		if c.Name == console.SessionCookie {
			return c
		}
	}
	t.Fatalf("no %s cookie in %v", console.SessionCookie, p.Header["Set-Cookie"])
	return nil
}

func TestCSRFRefused(t *testing.T) {
	srv := apitest.New(t)
	b := adminBrowser(t, srv)
	for name, form := range map[string]url.Values{
		"missing": {"name": {"gw1"}, "csrf": {""}},
		"wrong":   {"name": {"gw1"}, "csrf": {strings.Repeat("0", 64)}},
		"another": {"name": {"gw1"}, "csrf": {console.CSRFToken("dht_someone-else")}},
	} {
		if p := b.post("/instances", form); p.Status != http.StatusForbidden {
			t.Errorf("%s token: status %d, want 403", name, p.Status)
		}
	}
	if r := srv.Do(t, "GET", "/api/v1/instances/gw1", srv.AdminToken, nil); r.Status != http.StatusNotFound {
		t.Errorf("a refused form created the instance: %d", r.Status)
	}
	// A multipart form checks its token before it reads anything else.
	p := b.postMultipart("/drivers/new", field("csrf", "nope"), field("name", "meter"), field("protocol", "modbus"),
		field("runtime", "python3"), field("builtin", "no"), field("version", "1.0.0"), field("min_edge_version", "1.0.0"),
		part{Name: "package", Filename: "meter.zip", Data: pythonPackage(t)})
	if p.Status != http.StatusForbidden {
		t.Errorf("multipart without a valid token: %d", p.Status)
	}
	if r := srv.Do(t, "GET", "/api/v1/drivers/meter", srv.AdminToken, nil); r.Status != http.StatusNotFound {
		t.Errorf("a refused upload created the driver: %d", r.Status)
	}
	// Logout is a form too.
	if p := b.post("/logout", url.Values{"csrf": {"x"}}); p.Status != http.StatusForbidden {
		t.Errorf("logout without token: %d", p.Status)
	}
	// A cross-site browser request is refused before any handler.
	req, _ := http.NewRequest("POST", srv.URL+"/instances", strings.NewReader(url.Values{"name": {"gw2"}, "csrf": {b.csrf()}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	if p := b.do(req); p.Status != http.StatusForbidden {
		t.Errorf("cross-site POST: %d", p.Status)
	}
}

func TestLanguage(t *testing.T) {
	srv := apitest.New(t)
	b := newBrowser(t, srv)
	b.lang = "zh-CN,zh;q=0.9,en;q=0.5"
	if p := b.mustGet("/login"); !strings.Contains(p.Body, `<html lang="zh-CN">`) || !strings.Contains(p.Body, "登录") {
		t.Errorf("Accept-Language zh: %s", snippet(p.Body))
	}
	b.lang = "fr-FR, en;q=0.4"
	if p := b.mustGet("/login"); !strings.Contains(p.Body, `<html lang="en">`) || !strings.Contains(p.Body, "Sign in") {
		t.Error("Accept-Language fr, en: not English")
	}
	p := b.get("/lang?to=zh-CN&next=/login")
	if p.Status != http.StatusSeeOther || p.Location != "/login" {
		t.Fatalf("/lang: %d %q", p.Status, p.Location)
	}
	if p := b.mustGet("/login"); !strings.Contains(p.Body, `<html lang="zh-CN">`) {
		t.Error("the lang cookie does not win over Accept-Language")
	}
	if p := b.get("/lang?to=en&next=https://evil.example/"); p.Location != "/drivers" {
		t.Errorf("/lang follows a foreign next: %q", p.Location)
	}
}

func TestNotFoundAndForbiddenPages(t *testing.T) {
	srv := apitest.New(t)
	b := adminBrowser(t, srv)
	if p := b.get("/drivers/nosuch"); p.Status != http.StatusNotFound || !strings.Contains(p.Body, `driver &#34;nosuch&#34; not found`) {
		t.Errorf("unknown driver: %d %s", p.Status, snippet(p.Body))
	}
	viewer, pw := newUser(t, srv, "vera", driverhub.RoleViewer)
	v := newBrowser(t, srv)
	v.login(viewer, pw)
	if p := v.get("/users"); p.Status != http.StatusForbidden {
		t.Errorf("viewer on /users: %d", p.Status)
	}
	if p := v.post("/instances", url.Values{"name": {"gw"}}); p.Status != http.StatusForbidden || !strings.Contains(p.Body, "developer") {
		t.Errorf("viewer creating an instance: %d %s", p.Status, snippet(p.Body))
	}
	if p := v.mustGet("/drivers"); strings.Contains(p.Body, `href="/users"`) {
		t.Error("the users page is offered to a viewer")
	}
}
