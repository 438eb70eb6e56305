package httpapi_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/driverhub/driverhub"
	"github.com/driverhub/driverhub/internal/apitest"
)

func TestAPIUnauthenticated(t *testing.T) {
	s := apitest.New(t)
	tests := []struct {
		name   string
		header string // Authorization; none when ""
	}{
		{"no token", ""},
		{"basic scheme", "Basic YWRtaW46c2VjcmV0"},
		{"scheme only", "Bearer"},
		{"no space after Bearer", "Bearer" + s.AdminToken},
		{"token alone", s.AdminToken},
		{"unknown token", "Bearer " + driverhub.TokenPrefix + strings.Repeat("0", 64)},
		{"token without the prefix", "Bearer not-a-driverhub-token"},
		{"admin token with one byte changed", "Bearer " + s.AdminToken[:len(s.AdminToken)-1] + "x"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, path := range []string{"/api/v1/drivers", "/api/v1/users", "/api/v1/tokens"} {
				req := request(t, s, "GET", path, "", nil)
				if tc.header != "" {
					req.Header.Set("Authorization", tc.header)
				}
				r := send(t, s, req)
				wantError(t, r, http.StatusUnauthorized, "unauthenticated", "")
				if got := r.Header.Get("WWW-Authenticate"); !strings.HasPrefix(got, "Bearer") {
					t.Errorf("GET %s: WWW-Authenticate %q, want a Bearer challenge", path, got)
				}
			}
		})
	}
}

func TestAPIRoles(t *testing.T) {
	s := apitest.New(t)
	viewer := s.Token(t, s.AdminToken, driverhub.RoleViewer)
	dev := s.Token(t, s.AdminToken, driverhub.RoleDeveloper)
	driver := func(name string) map[string]any {
		return map[string]any{"name": name, "protocol": "modbus", "runtime": "python3"}
	}
	user := map[string]any{"username": "mallory", "password": "password-1234", "role": "viewer"}
	tests := []struct {
		name         string
		token        string
		method, path string
		body         any
		status       int
		code         string
	}{
		{"viewer lists drivers", viewer, "GET", "/api/v1/drivers", nil, 200, ""},
		{"viewer creates a driver", viewer, "POST", "/api/v1/drivers", driver("ByViewer"), 403, "permission_denied"},
		{"developer creates a driver", dev, "POST", "/api/v1/drivers", driver("ByDeveloper"), 201, ""},
		{"viewer deletes a driver", viewer, "DELETE", driverPath("ByDeveloper"), nil, 403, "permission_denied"},
		{"viewer changes a driver", viewer, "PATCH", driverPath("ByDeveloper"), map[string]any{"description": "x"}, 403, "permission_denied"},
		{"viewer creates a version", viewer, "POST", driverPath("ByDeveloper") + "/versions",
			map[string]any{"version": "1.0", "min_edge_version": "1.0.0"}, 403, "permission_denied"},
		{"developer creates a user", dev, "POST", "/api/v1/users", user, 403, "permission_denied"},
		{"viewer creates a user", viewer, "POST", "/api/v1/users", user, 403, "permission_denied"},
		{"developer lists users", dev, "GET", "/api/v1/users", nil, 403, "permission_denied"},
		{"developer deletes the admin", dev, "DELETE", "/api/v1/users/admin", nil, 403, "permission_denied"},
		{"developer creates an admin token", dev, "POST", "/api/v1/tokens", map[string]any{"name": "up", "role": "admin"}, 403, "permission_denied"},
		{"viewer creates a developer token", viewer, "POST", "/api/v1/tokens", map[string]any{"name": "up", "role": "developer"}, 403, "permission_denied"},
		{"developer creates a developer token", dev, "POST", "/api/v1/tokens", map[string]any{"name": "same", "role": "developer"}, 201, ""},
		{"developer creates a viewer token", dev, "POST", "/api/v1/tokens", map[string]any{"name": "down", "role": "viewer"}, 201, ""},
		{"viewer creates a viewer token", viewer, "POST", "/api/v1/tokens", map[string]any{"name": "same", "role": "viewer"}, 201, ""},
		{"developer creates a tenant", dev, "POST", "/api/v1/tenants", map[string]any{"name": "devtenant"}, 403, "permission_denied"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := s.Do(t, tc.method, tc.path, tc.token, tc.body)
			if tc.code != "" {
				wantError(t, r, tc.status, tc.code, "")
				return
			}
			if r.Status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.Status, tc.status, r.Body)
			}
		})
	}
}

func TestAPITokens(t *testing.T) {
	s := apitest.New(t)
	r := s.Must(t, http.StatusCreated, "POST", "/api/v1/tokens", s.AdminToken, map[string]any{"name": "ci", "role": "developer"})
	created := object(t, r)
	diff(t, "token answer keys", []string{"created_at", "expires_at", "id", "name", "role", "token"}, keys(created))
	diff(t, "name and role", []any{"ci", "developer"}, []any{created["name"], created["role"]})
	wantTimestamp(t, "created_at", created["created_at"])
	id, _ := created["id"].(string)
	secret, _ := created["token"].(string)
	if id == "" || secret == "" {
		t.Fatalf("token answer without id or token: %s", r.Body)
	}

	// The token works, with its role (a developer may create drivers, not users).
	newDriver(t, s, secret, "ByToken", "python3")
	wantError(t, s.Do(t, "GET", "/api/v1/users", secret, nil), http.StatusForbidden, "permission_denied", "")

	// The secret is shown only once.
	got := object(t, s.Must(t, http.StatusOK, "GET", "/api/v1/tokens/"+id, s.AdminToken, nil))
	if _, ok := got["token"]; ok {
		t.Errorf("GET token shows the secret: %v", got)
	}
	if strings.Contains(string(s.Must(t, http.StatusOK, "GET", "/api/v1/tokens", s.AdminToken, nil).Body), secret) {
		t.Errorf("the token list shows the secret")
	}

	s.Must(t, http.StatusNoContent, "DELETE", "/api/v1/tokens/"+id, s.AdminToken, nil)
	r = s.Do(t, "GET", "/api/v1/drivers", secret, nil)
	wantError(t, r, http.StatusUnauthorized, "unauthenticated", "")
	if r.Header.Get("WWW-Authenticate") == "" {
		t.Errorf("revoked token: no WWW-Authenticate")
	}
	wantError(t, s.Do(t, "DELETE", "/api/v1/tokens/"+id, s.AdminToken, nil), http.StatusNotFound, "not_found", "")
	for _, tc := range []struct {
		name  string
		body  map[string]any
		field string
	}{
		{"no name", map[string]any{"role": "viewer"}, "name"},
		{"name of 65", map[string]any{"name": strings.Repeat("n", 65), "role": "viewer"}, "name"},
		{"no role", map[string]any{"name": "x"}, "role"},
		{"unknown role", map[string]any{"name": "x", "role": "root"}, "role"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantError(t, s.Do(t, "POST", "/api/v1/tokens", s.AdminToken, tc.body), http.StatusBadRequest, "invalid_argument", tc.field)
		})
	}
	wantError(t, s.Do(t, "GET", "/api/v1/tokens/"+id, s.AdminToken, nil), http.StatusNotFound, "not_found", "")
}

func TestAPITenantIsolation(t *testing.T) {
	s := apitest.New(t)
	a := s.AdminToken
	newDriver(t, s, a, "Secret", "python3")
	newVersion(t, s, a, "Secret", "1.0")
	if r := putPackage(t, s, a, "Secret", "1.0", pyPackage(t, "print(1)\n")); r.Status != http.StatusOK {
		t.Fatalf("upload: %d %s", r.Status, r.Body)
	}
	s.Must(t, http.StatusOK, "PUT", versionPath("Secret", "1.0")+"/config-file?name=app.conf", a, "k=v\n")
	newUser(t, s, a, "alice", driverhub.RoleDeveloper)
	var tok struct{ ID string }
	s.Must(t, http.StatusCreated, "POST", "/api/v1/tokens", a, map[string]any{"name": "a-token", "role": "viewer"}).Decode(t, &tok)

	b := s.NewTenant(t, "other")
	tests := []struct {
		name         string
		method, path string
		body         any
	}{
		{"get driver", "GET", driverPath("Secret"), nil},
		{"patch driver", "PATCH", driverPath("Secret"), map[string]any{"description": "mine now"}},
		{"delete driver", "DELETE", driverPath("Secret"), nil},
		{"list versions", "GET", driverPath("Secret") + "/versions", nil},
		{"create version", "POST", driverPath("Secret") + "/versions", map[string]any{"version": "2.0", "min_edge_version": "1.0.0"}},
		{"get version", "GET", versionPath("Secret", "1.0"), nil},
		{"patch version", "PATCH", versionPath("Secret", "1.0"), map[string]any{"description": "x"}},
		{"delete version", "DELETE", versionPath("Secret", "1.0"), nil},
		{"publish version", "POST", versionPath("Secret", "1.0") + "/publish", nil},
		{"download package", "GET", versionPath("Secret", "1.0") + "/package", nil},
		{"upload package", "PUT", versionPath("Secret", "1.0") + "/package", pyPackage(t, "print(2)\n")},
		{"download config file", "GET", versionPath("Secret", "1.0") + "/config-file", nil},
		{"get user", "GET", "/api/v1/users/alice", nil},
		{"patch user", "PATCH", "/api/v1/users/alice", map[string]any{"role": "viewer"}},
		{"delete user", "DELETE", "/api/v1/users/alice", nil},
		{"get token", "GET", "/api/v1/tokens/" + tok.ID, nil},
		{"revoke token", "DELETE", "/api/v1/tokens/" + tok.ID, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			body := tc.body
			if pkg, ok := body.([]byte); ok {
				body = strings.NewReader(string(pkg))
			}
			wantError(t, s.Do(t, tc.method, tc.path, b, body), http.StatusNotFound, "not_found", "")
		})
	}
	t.Run("lists are empty", func(t *testing.T) {
		for _, path := range []string{"/api/v1/drivers?limit=500", "/api/v1/drivers?q=secret"} {
			var l struct{ Items []any }
			s.Must(t, http.StatusOK, "GET", path, b, nil).Decode(t, &l)
			if l.Items == nil || len(l.Items) != 0 {
				t.Errorf("GET %s: items %v, want []", path, l.Items)
			}
		}
		ids, _ := listAll(t, s, b, "/api/v1/tokens?limit=500", "id")
		if slices.Contains(ids, tok.ID) {
			t.Errorf("the other tenant lists the first tenant's token %s", tok.ID)
		}
		users, _ := listAll(t, s, b, "/api/v1/users?limit=500", "username")
		diff(t, "the other tenant's users", []string{"admin"}, users)
	})
	t.Run("names are per tenant", func(t *testing.T) {
		newDriver(t, s, b, "Secret", "nodejs")
		newUser(t, s, b, "alice", driverhub.RoleViewer)
	})
	t.Run("first tenant unchanged", func(t *testing.T) {
		d := object(t, s.Must(t, http.StatusOK, "GET", driverPath("Secret"), a, nil))
		diff(t, "runtime and description", []any{"python3", ""}, []any{d["runtime"], d["description"]})
		v := object(t, s.Must(t, http.StatusOK, "GET", versionPath("Secret", "1.0"), a, nil))
		diff(t, "status", "draft", v["status"])
		s.Must(t, http.StatusOK, "GET", "/api/v1/users/alice", a, nil)
		s.Must(t, http.StatusOK, "GET", "/api/v1/tokens/"+tok.ID, a, nil)
	})
}

func TestAPITenants(t *testing.T) {
	s := apitest.New(t)

	r := s.Must(t, http.StatusCreated, "POST", "/api/v1/tenants", s.AdminToken, map[string]any{"name": "acme"})
	var nt struct {
		Name  string
		Admin struct{ Username, Password string }
		Token string
	}
	r.Decode(t, &nt)
	body := object(t, r)
	for _, k := range []string{"name", "admin", "token"} {
		if _, ok := body[k]; !ok {
			t.Errorf("tenant answer has no %q: %s", k, r.Body)
		}
	}
	if nt.Name != "acme" || nt.Admin.Username != "admin" || nt.Admin.Password == "" || nt.Token == "" {
		t.Fatalf("tenant answer %s: want name acme, admin.username admin, a password and a token", r.Body)
	}
	me := object(t, s.Must(t, http.StatusOK, "GET", "/api/v1/users/admin", nt.Token, nil))
	diff(t, "new tenant's admin", []any{"admin", "admin"}, []any{me["username"], me["role"]})
	newDriver(t, s, nt.Token, "AcmeDriver", "python3")
	if _, err := s.Service.Login(context.Background(), "acme/admin", nt.Admin.Password); err != nil {
		t.Errorf("the new admin's password does not sign in: %v", err)
	}
	var l struct{ Items []struct{ Name string } }
	s.Must(t, http.StatusOK, "GET", "/api/v1/drivers", s.AdminToken, nil).Decode(t, &l)
	if len(l.Items) != 0 {
		t.Errorf("the default tenant sees drivers of acme: %+v", l.Items)
	}

	t.Run("only the system admin", func(t *testing.T) {
		wantError(t, s.Do(t, "POST", "/api/v1/tenants", nt.Token, map[string]any{"name": "sub"}), http.StatusForbidden, "permission_denied", "")
		other := s.Token(t, s.AdminToken, driverhub.RoleAdmin)
		wantError(t, s.Do(t, "POST", "/api/v1/tenants", other, map[string]any{"name": "sub"}), http.StatusForbidden, "permission_denied", "")
		wantError(t, s.Do(t, "POST", "/api/v1/tenants", "", map[string]any{"name": "sub"}), http.StatusUnauthorized, "unauthenticated", "")
	})

	names := []struct {
		name   string
		tenant string
		status int
		code   string
	}{
		{"empty", "", 400, "invalid_argument"},
		{"upper case", "Acme2", 400, "invalid_argument"},
		{"leading dash", "-acme", 400, "invalid_argument"},
		{"space", "ac me", 400, "invalid_argument"},
		{"underscore", "ac_me", 400, "invalid_argument"},
		{"slash", "ac/me", 400, "invalid_argument"},
		{"41 characters", strings.Repeat("a", 41), 400, "invalid_argument"},
		{"duplicate", "acme", 409, "conflict"},
		{"duplicate of default", "default", 409, "conflict"},
		{"40 characters", strings.Repeat("b", 40), 201, ""},
		{"digits and dashes", "0-plant-7", 201, ""},
	}
	for _, tc := range names {
		t.Run("name "+tc.name, func(t *testing.T) {
			r := s.Do(t, "POST", "/api/v1/tenants", s.AdminToken, map[string]any{"name": tc.tenant})
			if tc.code == "" {
				if r.Status != tc.status {
					t.Fatalf("status %d, want %d: %s", r.Status, tc.status, r.Body)
				}
				return
			}
			field := "name"
			if tc.status != 400 {
				field = ""
			}
			wantError(t, r, tc.status, tc.code, field)
		})
	}
}
