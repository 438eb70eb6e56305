package driverhub_test

import (
	"context"
	"testing"

	"github.com/driverhub/driverhub"
)

func TestValidateUsername(t *testing.T) {
	for _, tt := range []struct {
		name, username string
		ok             bool
	}{
		{"one letter", "a", true},
		{"one digit", "7", true},
		{"admin", "admin", true},
		{"email", "ops.team@example.com", true},
		{"symbols", "A-b_c.d", true},
		{"leading digit", "1abc", true},
		{"64 chars", "u" + rep("x", 63), true},
		{"65 chars", "u" + rep("x", 64), false},
		{"empty", "", false},
		{"leading underscore", "_a", false},
		{"leading dot", ".a", false},
		{"leading at", "@a", false},
		{"leading dash", "-a", false},
		{"space", "a b", false},
		{"slash", "a/b", false},
		{"colon", "a:b", false},
		{"chinese", "用户", false},
		{"trailing newline", "admin\n", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			field := "username"
			if tt.ok {
				field = ""
			}
			checkField(t, driverhub.ValidateUsername(tt.username), field)
		})
	}
}

func TestValidatePassword(t *testing.T) {
	for _, tt := range []struct {
		name, pw string
		ok       bool
	}{
		{"7 bytes", rep("p", 7), false},
		{"8 bytes", rep("p", 8), true},
		{"72 bytes", rep("p", 72), true},
		{"73 bytes", rep("p", 73), false},
		{"empty", "", false},
		{"72 bytes multi-byte", rep("密", 24), true},
		{"25 chars 75 bytes", rep("密", 25), false},
		{"3 chars 9 bytes", rep("密", 3), true},
		{"spaces count", "        ", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			field := "password"
			if tt.ok {
				field = ""
			}
			checkField(t, driverhub.ValidatePassword(tt.pw), field)
		})
	}
}

func TestValidateTenantName(t *testing.T) {
	for _, tt := range []struct {
		name, tenant string
		ok           bool
	}{
		{"default", "default", true},
		{"one char", "a", true},
		{"dash and digit", "acme-1", true},
		{"leading digit", "1acme", true},
		{"40 chars", rep("t", 40), true},
		{"41 chars", rep("t", 41), false},
		{"empty", "", false},
		{"upper case", "Acme", false},
		{"leading dash", "-acme", false},
		{"underscore", "a_b", false},
		{"dot", "a.b", false},
		{"space", "a b", false},
		{"accent", "acmé", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			field := "name"
			if tt.ok {
				field = ""
			}
			checkField(t, driverhub.ValidateTenantName(tt.tenant), field)
		})
	}
}

func TestValidateTokenName(t *testing.T) {
	checkField(t, driverhub.ValidateTokenName("ci"), "")
	checkField(t, driverhub.ValidateTokenName(rep("n", 64)), "")
	checkField(t, driverhub.ValidateTokenName(rep("n", 65)), "name")
	checkField(t, driverhub.ValidateTokenName(""), "name")
}

func TestValidateRole(t *testing.T) {
	for _, r := range []driverhub.Role{driverhub.RoleViewer, driverhub.RoleDeveloper, driverhub.RoleAdmin} {
		checkField(t, driverhub.ValidateRole("role", r), "")
	}
	for _, r := range []driverhub.Role{"", "Admin", "owner", "root"} {
		checkField(t, driverhub.ValidateRole("role", r), "role")
	}
}

func TestRoleAtLeast(t *testing.T) {
	roles := []driverhub.Role{driverhub.RoleViewer, driverhub.RoleDeveloper, driverhub.RoleAdmin}
	for i, r := range roles {
		if !r.Valid() {
			t.Errorf("%q.Valid() = false", r)
		}
		for j, min := range roles {
			if got, want := r.AtLeast(min), i >= j; got != want {
				t.Errorf("%q.AtLeast(%q) = %v, want %v", r, min, got, want)
			}
		}
	}
	for _, bad := range []driverhub.Role{"", "ADMIN", "superuser"} {
		if bad.Valid() {
			t.Errorf("%q.Valid() = true", bad)
		}
		for _, min := range roles {
			if bad.AtLeast(min) {
				t.Errorf("%q.AtLeast(%q) = true, want false", bad, min)
			}
		}
	}
}

func TestPrincipalContext(t *testing.T) {
	ctx := context.Background()
	if p := driverhub.PrincipalFrom(ctx); p != nil {
		t.Fatalf("PrincipalFrom(empty) = %+v, want nil", p)
	}
	want := &driverhub.Principal{TenantID: "t", Username: "u", Role: driverhub.RoleAdmin}
	if got := driverhub.PrincipalFrom(driverhub.WithPrincipal(ctx, want)); got != want {
		t.Fatalf("PrincipalFrom = %+v, want %+v", got, want)
	}
}
