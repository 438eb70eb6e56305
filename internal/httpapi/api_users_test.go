package httpapi_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/driverhub/driverhub"
	"github.com/driverhub/driverhub/internal/apitest"
)

func TestAPIUsersCreate(t *testing.T) {
	s := apitest.New(t)
	r := s.Must(t, http.StatusCreated, "POST", "/api/v1/users", s.AdminToken,
		map[string]any{"username": "bob", "password": "correct horse", "role": "developer"})
	u := object(t, r)
	diff(t, "user", []any{"bob", "developer"}, []any{u["username"], u["role"]})
	if id, _ := u["id"].(string); id == "" {
		t.Errorf("user without id: %s", r.Body)
	}
	wantTimestamp(t, "created_at", u["created_at"])
	if strings.Contains(strings.ToLower(string(r.Body)), "password") || strings.Contains(string(r.Body), "$2") {
		t.Errorf("user answer shows the password or its hash: %s", r.Body)
	}
	got := object(t, s.Must(t, http.StatusOK, "GET", "/api/v1/users/bob", s.AdminToken, nil))
	diff(t, "GET user", u, got)

	tests := []struct {
		name   string
		body   map[string]any
		status int
		code   string
		field  string
	}{
		{"duplicate username", map[string]any{"username": "bob", "password": "another pw", "role": "viewer"}, 409, "conflict", ""},
		{"missing username", map[string]any{"password": "password1", "role": "viewer"}, 400, "invalid_argument", "username"},
		{"missing password", map[string]any{"username": "carol", "role": "viewer"}, 400, "invalid_argument", "password"},
		{"missing role", map[string]any{"username": "carol", "password": "password1"}, 400, "invalid_argument", "role"},
		{"unknown role", map[string]any{"username": "carol", "password": "password1", "role": "root"}, 400, "invalid_argument", "role"},
		{"short password", map[string]any{"username": "carol", "password": "short", "role": "viewer"}, 400, "invalid_argument", "password"},
		{"bad username", map[string]any{"username": "has space", "password": "password1", "role": "viewer"}, 400, "invalid_argument", "username"},
		{"unknown field", map[string]any{"username": "carol", "password": "password1", "role": "viewer", "email": "c@x"}, 400, "invalid_argument", "email"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			wantError(t, s.Do(t, "POST", "/api/v1/users", s.AdminToken, tc.body), tc.status, tc.code, tc.field)
		})
	}
}

func TestAPIUsersRoles(t *testing.T) {
	s := apitest.New(t)
	dev := newUser(t, s, s.AdminToken, "dana", driverhub.RoleDeveloper)

	r := s.Must(t, http.StatusOK, "PATCH", "/api/v1/users/dana", s.AdminToken, map[string]any{"role": "viewer"})
	diff(t, "role after PATCH", "viewer", object(t, r)["role"])
	diff(t, "role after GET", "viewer", object(t, s.Must(t, http.StatusOK, "GET", "/api/v1/users/dana", s.AdminToken, nil))["role"])
	// Her developer token now acts as a viewer.
	wantError(t, s.Do(t, "POST", "/api/v1/drivers", dev, map[string]any{"name": "Demoted", "protocol": "modbus", "runtime": "python3"}),
		http.StatusForbidden, "permission_denied", "")
	// She may still read herself, not others.
	s.Must(t, http.StatusOK, "GET", "/api/v1/users/dana", dev, nil)
	wantError(t, s.Do(t, "GET", "/api/v1/users/admin", dev, nil), http.StatusForbidden, "permission_denied", "")
	// And may not raise her own role.
	wantError(t, s.Do(t, "PATCH", "/api/v1/users/dana", dev, map[string]any{"role": "admin"}), http.StatusForbidden, "permission_denied", "")

	t.Run("last admin", func(t *testing.T) {
		for _, tc := range []struct {
			name   string
			method string
			body   any
		}{
			{"demote to developer", "PATCH", map[string]any{"role": "developer"}},
			{"demote to viewer", "PATCH", map[string]any{"role": "viewer"}},
			{"delete", "DELETE", nil},
		} {
			t.Run(tc.name, func(t *testing.T) {
				wantError(t, s.Do(t, tc.method, "/api/v1/users/admin", s.AdminToken, tc.body), http.StatusConflict, "conflict", "")
				diff(t, "admin's role", "admin", object(t, s.Must(t, http.StatusOK, "GET", "/api/v1/users/admin", s.AdminToken, nil))["role"])
			})
		}
	})

	t.Run("second admin", func(t *testing.T) {
		boss := newUser(t, s, s.AdminToken, "boss", driverhub.RoleAdmin)
		// With two admins, one may go; then the other is the last again.
		s.Must(t, http.StatusOK, "PATCH", "/api/v1/users/boss", s.AdminToken, map[string]any{"role": "developer"})
		wantError(t, s.Do(t, "PATCH", "/api/v1/users/admin", s.AdminToken, map[string]any{"role": "viewer"}), http.StatusConflict, "conflict", "")
		// boss's admin token is now held to developer.
		wantError(t, s.Do(t, "GET", "/api/v1/users", boss, nil), http.StatusForbidden, "permission_denied", "")
	})

	t.Run("not found", func(t *testing.T) {
		wantError(t, s.Do(t, "PATCH", "/api/v1/users/nobody", s.AdminToken, map[string]any{"role": "viewer"}), http.StatusNotFound, "not_found", "")
		wantError(t, s.Do(t, "DELETE", "/api/v1/users/nobody", s.AdminToken, nil), http.StatusNotFound, "not_found", "")
		wantError(t, s.Do(t, "GET", "/api/v1/users/nobody", s.AdminToken, nil), http.StatusNotFound, "not_found", "")
	})
	t.Run("bad role", func(t *testing.T) {
		wantError(t, s.Do(t, "PATCH", "/api/v1/users/dana", s.AdminToken, map[string]any{"role": "owner"}), http.StatusBadRequest, "invalid_argument", "role")
	})
}

func TestAPIUsersDelete(t *testing.T) {
	s := apitest.New(t)
	tok := newUser(t, s, s.AdminToken, "erin", driverhub.RoleDeveloper)
	// A second token of hers, made through the API.
	var k struct{ Token string }
	s.Must(t, http.StatusCreated, "POST", "/api/v1/tokens", tok, map[string]any{"name": "second", "role": "viewer"}).Decode(t, &k)
	s.Must(t, http.StatusOK, "GET", "/api/v1/drivers", k.Token, nil)

	s.Must(t, http.StatusNoContent, "DELETE", "/api/v1/users/erin", s.AdminToken, nil)
	for name, token := range map[string]string{"first": tok, "second": k.Token} {
		t.Run(name+" token", func(t *testing.T) {
			wantError(t, s.Do(t, "GET", "/api/v1/drivers", token, nil), http.StatusUnauthorized, "unauthenticated", "")
		})
	}
	wantError(t, s.Do(t, "GET", "/api/v1/users/erin", s.AdminToken, nil), http.StatusNotFound, "not_found", "")
	// The name is free again.
	s.Must(t, http.StatusCreated, "POST", "/api/v1/users", s.AdminToken, map[string]any{"username": "erin", "password": "password-2", "role": "viewer"})
	// Her old tokens stay dead for the new erin.
	wantError(t, s.Do(t, "GET", "/api/v1/drivers", tok, nil), http.StatusUnauthorized, "unauthenticated", "")
}

func TestAPIUsersList(t *testing.T) {
	s := apitest.New(t)
	for _, name := range []string{"u3", "u1", "u4", "u2"} {
		s.Must(t, http.StatusCreated, "POST", "/api/v1/users", s.AdminToken, map[string]any{"username": name, "password": "password-" + name, "role": "viewer"})
	}
	got, pages := listAll(t, s, s.AdminToken, "/api/v1/users?limit=2", "username")
	diff(t, "usernames", []string{"admin", "u1", "u2", "u3", "u4"}, got)
	if pages != 3 {
		t.Errorf("%d pages of 2 for 5 users, want 3", pages)
	}
	all, pages := listAll(t, s, s.AdminToken, "/api/v1/users?limit=500", "username")
	diff(t, "one page", got, all)
	if pages != 1 {
		t.Errorf("%d pages of 500 for 5 users, want 1", pages)
	}
	for _, limit := range []string{"0", "501", "-1", "two"} {
		t.Run("limit "+limit, func(t *testing.T) {
			wantError(t, s.Do(t, "GET", "/api/v1/users?limit="+limit, s.AdminToken, nil), http.StatusBadRequest, "invalid_argument", "limit")
		})
	}
	t.Run("bad cursor", func(t *testing.T) {
		wantError(t, s.Do(t, "GET", "/api/v1/users?cursor=%25%25not-a-cursor", s.AdminToken, nil), http.StatusBadRequest, "invalid_argument", "cursor")
	})
}
