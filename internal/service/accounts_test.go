package service_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/driverhub/driverhub"
)

func TestBootstrapOnlyOnAnEmptyDatabase(t *testing.T) {
	t.Parallel()
	ts := openTestService(t)
	ctx := context.Background()
	_, err := ts.Bootstrap(ctx, "short", "")
	wantErr(t, err, driverhub.EInvalid, "password")

	first := must(ts.Bootstrap(ctx, "", ""))(t)
	if len(first.Password) < driverhub.MinPasswordLen || first.Username != "admin" {
		t.Errorf("generated credentials %+v: want admin with a password of at least %d bytes", first, driverhub.MinPasswordLen)
	}
	p := driverhub.PrincipalFrom(ts.tokenCtx(t, first.Token))
	if p.TenantName != "default" || p.Role != driverhub.RoleAdmin || !p.SystemAdmin {
		t.Errorf("bootstrap token is %+v, want the system admin of tenant default", p)
	}

	again, err := ts.Bootstrap(ctx, "another-password", "")
	if err != nil || again != nil {
		t.Fatalf("second Bootstrap = %+v, %v; want nothing made", again, err)
	}
	if _, err := ts.Login(ctx, "admin", "another-password"); err == nil {
		t.Error("the second bootstrap's password signs in")
	}
	must(ts.Login(ctx, "admin", first.Password))(t)
}

func TestLogin(t *testing.T) {
	t.Parallel()
	ts := newTestService(t)
	acme := must(ts.CreateTenant(ts.admin, "acme"))(t)
	tests := []struct {
		name, username, password string
		tenant                   string // "" when refused
	}{
		{"name alone is tenant default", "admin", adminPassword, "default"},
		{"tenant/name", "default/admin", adminPassword, "default"},
		{"other tenant", "acme/admin", acme.Admin.Password, "acme"},
		{"wrong password", "admin", "wrong-password", ""},
		{"other tenant's password", "acme/admin", adminPassword, ""},
		{"unknown user", "nobody", adminPassword, ""},
		{"unknown tenant", "nowhere/admin", adminPassword, ""},
		{"empty", "", "", ""},
	}
	var refusal string
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := ts.Login(context.Background(), tt.username, tt.password)
			if tt.tenant != "" {
				if err != nil {
					t.Fatal(err)
				}
				if p.TenantName != tt.tenant || p.Username != "admin" || p.Role != driverhub.RoleAdmin {
					t.Errorf("signed in as %+v, want admin of %s", p, tt.tenant)
				}
				return
			}
			wantErr(t, err, driverhub.EUnauthenticated, "")
			// Every refusal reads the same, so that names do not leak.
			if refusal == "" {
				refusal = err.Error()
			} else if err.Error() != refusal {
				t.Errorf("refusal %q differs from %q", err, refusal)
			}
		})
	}
}

func TestRolesGateActions(t *testing.T) {
	t.Parallel()
	ts := newTestService(t)
	callers := map[string]context.Context{
		"viewer":    ts.userCtx(t, ts.admin, "vic", driverhub.RoleViewer),
		"developer": ts.userCtx(t, ts.admin, "dev", driverhub.RoleDeveloper),
		"admin":     ts.userCtx(t, ts.admin, "ada", driverhub.RoleAdmin),
		"nobody":    context.Background(),
	}
	actions := []struct {
		name  string
		needs driverhub.Role
		do    func(ctx context.Context, caller string) error
	}{
		{"list drivers", driverhub.RoleViewer, func(ctx context.Context, _ string) error {
			_, err := ts.ListDrivers(ctx, driverhub.DriverFilter{}, driverhub.Page{})
			return err
		}},
		{"create token", driverhub.RoleViewer, func(ctx context.Context, c string) error {
			_, err := ts.CreateToken(ctx, "t-"+c, driverhub.RoleViewer)
			return err
		}},
		{"create driver", driverhub.RoleDeveloper, func(ctx context.Context, c string) error {
			_, err := ts.CreateDriver(ctx, driverIn("D_"+c, "python3"))
			return err
		}},
		{"create instance", driverhub.RoleDeveloper, func(ctx context.Context, c string) error {
			_, err := ts.CreateInstance(ctx, driverhub.InstanceInput{Name: ptr("i-" + c)})
			return err
		}},
		{"create device", driverhub.RoleDeveloper, func(ctx context.Context, c string) error {
			_, err := ts.CreateDevice(ctx, driverhub.DeviceInput{Product: "p", Name: c})
			return err
		}},
		{"list users", driverhub.RoleAdmin, func(ctx context.Context, _ string) error {
			_, err := ts.ListUsers(ctx, driverhub.Page{})
			return err
		}},
		{"create user", driverhub.RoleAdmin, func(ctx context.Context, c string) error {
			_, err := ts.CreateUser(ctx, driverhub.UserInput{Username: ptr("u-" + c), Password: ptr("password"), Role: ptr(driverhub.RoleViewer)})
			return err
		}},
		{"delete user", driverhub.RoleAdmin, func(ctx context.Context, c string) error {
			return ts.DeleteUser(ctx, "u-"+c)
		}},
	}
	for _, a := range actions {
		for caller, ctx := range callers {
			t.Run(a.name+"/"+caller, func(t *testing.T) {
				err := a.do(ctx, caller)
				switch p := driverhub.PrincipalFrom(ctx); {
				case p == nil:
					wantErr(t, err, driverhub.EUnauthenticated, "")
				case !p.Role.AtLeast(a.needs):
					wantErr(t, err, driverhub.EPermissionDenied, "")
				case err != nil:
					t.Fatalf("a %s may %s: %v", p.Role, a.name, err)
				}
			})
		}
	}
}

func TestTokenRoleNoHigherThanItsCreator(t *testing.T) {
	t.Parallel()
	ts := newTestService(t)
	roles := []driverhub.Role{driverhub.RoleViewer, driverhub.RoleDeveloper, driverhub.RoleAdmin}
	for _, creator := range roles {
		ctx := ts.userCtx(t, ts.admin, "by-"+string(creator), creator)
		for _, role := range roles {
			t.Run(string(creator)+" makes "+string(role), func(t *testing.T) {
				k, err := ts.CreateToken(ctx, "token", role)
				if !creator.AtLeast(role) {
					wantErr(t, err, driverhub.EPermissionDenied, "")
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				if got := driverhub.PrincipalFrom(ts.tokenCtx(t, k.Token)).Role; got != role {
					t.Errorf("token authenticates as %s, want %s", got, role)
				}
			})
		}
	}
	_, err := ts.CreateToken(ts.admin, "token", "root")
	wantErr(t, err, driverhub.EInvalid, "role")
	_, err = ts.CreateToken(ts.admin, "", driverhub.RoleViewer)
	wantErr(t, err, driverhub.EInvalid, "name")
}

func TestTokenStoredAsHashAndRevoked(t *testing.T) {
	t.Parallel()
	ts := newTestService(t)
	dev := ts.userCtx(t, ts.admin, "dev", driverhub.RoleDeveloper)
	viewer := ts.userCtx(t, ts.admin, "vic", driverhub.RoleViewer)
	k := must(ts.CreateToken(dev, "ci", driverhub.RoleDeveloper))(t)
	if k.Hash != sha256Hex([]byte(k.Token)) {
		t.Errorf("stored hash %q is not the SHA-256 of the secret", k.Hash)
	}
	ok(t, ts.store.View(context.Background(), func(tx driverhub.Tx) error {
		stored, err := tx.TokenByHash(context.Background(), sha256Hex([]byte(k.Token)))
		if err == nil && (stored.ID != k.ID || stored.Token != "") {
			t.Errorf("stored token %+v holds its secret or another id", stored)
		}
		return err
	}))
	for _, who := range []context.Context{dev, ts.admin} {
		list := must(ts.ListTokens(who, driverhub.Page{}))(t)
		found := false
		for _, l := range list.Items {
			found = found || l.ID == k.ID
			if l.Token != "" {
				t.Errorf("a listed token shows its secret: %+v", l)
			}
		}
		if !found {
			t.Errorf("%s does not see token %s", driverhub.PrincipalFrom(who).Username, k.Name)
		}
	}
	for _, l := range must(ts.ListTokens(viewer, driverhub.Page{}))(t).Items {
		if l.ID == k.ID {
			t.Error("a viewer lists another user's token")
		}
	}

	// Another non-admin cannot even see it to revoke it.
	wantErr(t, ts.RevokeToken(viewer, k.ID), driverhub.ENotFound, "")
	ts.tokenCtx(t, k.Token)

	for _, wrong := range []string{"", strings.TrimPrefix(k.Token, driverhub.TokenPrefix), k.Hash} {
		_, err := ts.Authenticate(context.Background(), wrong)
		wantErr(t, err, driverhub.EUnauthenticated, "")
	}
	ok(t, ts.RevokeToken(dev, k.ID))
	_, err := ts.Authenticate(context.Background(), k.Token)
	wantErr(t, err, driverhub.EUnauthenticated, "")
	wantErr(t, ts.RevokeToken(dev, k.ID), driverhub.ENotFound, "")

	// An admin revokes anyone's.
	k2 := must(ts.CreateToken(dev, "ci2", driverhub.RoleViewer))(t)
	ok(t, ts.RevokeToken(ts.admin, k2.ID))
	_, err = ts.Authenticate(context.Background(), k2.Token)
	wantErr(t, err, driverhub.EUnauthenticated, "")
}

func TestTokenRoleFollowsItsUser(t *testing.T) {
	t.Parallel()
	ts := newTestService(t)
	bob := ts.userCtx(t, ts.admin, "bob", driverhub.RoleAdmin)
	k := must(ts.CreateToken(bob, "mine", driverhub.RoleAdmin))(t)
	must(ts.UpdateUser(ts.admin, "bob", driverhub.UserInput{Role: ptr(driverhub.RoleViewer)}))(t)
	if p := driverhub.PrincipalFrom(ts.tokenCtx(t, k.Token)); p.Role != driverhub.RoleViewer {
		t.Errorf("admin token of a demoted user acts as %s, want viewer", p.Role)
	}
	ok(t, ts.DeleteUser(ts.admin, "bob"))
	_, err := ts.Authenticate(context.Background(), k.Token)
	wantErr(t, err, driverhub.EUnauthenticated, "")
}

func TestSessionsExpire(t *testing.T) {
	t.Parallel()
	ts := newTestService(t)
	const ttl = 8 * time.Hour
	s := must(ts.CreateSession(ts.userCtx(t, ts.admin, "vic", driverhub.RoleViewer), ttl))(t)
	if s.ExpiresAt == nil || !s.ExpiresAt.Equal(t0.Add(ttl)) {
		t.Fatalf("session expires at %v, want %v", s.ExpiresAt, t0.Add(ttl))
	}
	tests := []struct {
		after time.Duration
		valid bool
	}{
		{0, true},
		{ttl - time.Microsecond, true},
		{ttl, false},
		{ttl + time.Hour, false},
	}
	for _, tt := range tests {
		t.Run(tt.after.String(), func(t *testing.T) {
			ts.clock.Advance(t0.Add(tt.after).Sub(ts.clock.Now()))
			p, err := ts.Authenticate(context.Background(), s.Token)
			if !tt.valid {
				wantErr(t, err, driverhub.EUnauthenticated, "")
				return
			}
			if err != nil || p.Username != "vic" || p.Role != driverhub.RoleViewer {
				t.Fatalf("Authenticate = %+v, %v; want vic, viewer", p, err)
			}
		})
	}
}

func TestAnotherTenantsThingsAreNotFound(t *testing.T) {
	t.Parallel()
	ts := newTestService(t)
	home := ts.admin
	ts.ready(t, home, driverIn("Pump", "python3"))
	ts.newInstance(t, home, "edge")
	ts.bind(t, home, "edge", "Pump", "")
	d := ts.deploy(t, home, "edge")
	ts.device(t, home, "pump", "p1", "", "", "")
	k := must(ts.CreateToken(home, "home", driverhub.RoleViewer))(t)
	ts.userCtx(t, home, "carol", driverhub.RoleViewer)

	other := ts.tenantCtx(t, "acme")
	ts.newInstance(t, other, "mine")
	tests := map[string]func() error{
		"get driver":      func() error { _, err := ts.GetDriver(other, "Pump"); return err },
		"update driver":   func() error { _, err := ts.UpdateDriver(other, "Pump", driverhub.DriverInput{}); return err },
		"delete driver":   func() error { return ts.DeleteDriver(other, "Pump") },
		"get version":     func() error { _, err := ts.GetVersion(other, "Pump", "1"); return err },
		"open package":    func() error { _, err := ts.OpenPackage(other, "Pump", "1"); return err },
		"get instance":    func() error { _, err := ts.GetInstance(other, "edge"); return err },
		"delete instance": func() error { return ts.DeleteInstance(other, "edge") },
		"rotate secret":   func() error { _, err := ts.RotateGatewaySecret(other, "edge"); return err },
		"get binding":     func() error { _, err := ts.GetBinding(other, "edge", "Pump"); return err },
		"bind own name":   func() error { _, err := ts.Bind(other, "mine", "Pump", driverhub.BindingInput{}); return err },
		"bind by publisher": func() error {
			_, err := ts.Bind(other, "mine", "Pump", driverhub.BindingInput{Publisher: ptr("default")})
			return err
		},
		"get deployment":   func() error { _, err := ts.GetDeployment(other, "edge", d.ID); return err },
		"close deployment": func() error { _, err := ts.CloseDeployment(other, "edge", d.ID); return err },
		"deploy":           func() error { _, err := ts.CreateDeployment(other, "edge", ""); return err },
		"get device":       func() error { _, err := ts.GetDevice(other, "pump", "p1"); return err },
		"delete device":    func() error { return ts.DeleteDevice(other, "pump", "p1") },
		"get user":         func() error { _, err := ts.GetUser(other, "carol"); return err },
		"delete user":      func() error { return ts.DeleteUser(other, "carol") },
		"revoke token":     func() error { return ts.RevokeToken(other, k.ID) },
		"list market pkg":  func() error { _, err := ts.GetMarketDriver(other, "default", "Pump"); return err },
	}
	for name, do := range tests {
		t.Run(name, func(t *testing.T) {
			wantErr(t, do(), driverhub.ENotFound, "")
		})
	}
	// And nothing of the home tenant changed.
	must(ts.GetDriver(home, "Pump"))(t)
	must(ts.GetDevice(home, "pump", "p1"))(t)
	ts.tokenCtx(t, k.Token)
	if got := ts.deployment(t, home, "edge", d.ID).Status; got != driverhub.DeployPending {
		t.Errorf("deployment is %s, want pending", got)
	}
}

func TestATenantKeepsOneAdmin(t *testing.T) {
	t.Parallel()
	ts := newTestService(t)
	toDev := driverhub.UserInput{Role: ptr(driverhub.RoleDeveloper)}
	_, err := ts.UpdateUser(ts.admin, "admin", toDev)
	wantErr(t, err, driverhub.EConflict, "")
	wantErr(t, ts.DeleteUser(ts.admin, "admin"), driverhub.EConflict, "")

	second := ts.userCtx(t, ts.admin, "second", driverhub.RoleAdmin)
	u := must(ts.UpdateUser(ts.admin, "admin", toDev))(t)
	if u.Role != driverhub.RoleDeveloper {
		t.Errorf("role is %s after demotion", u.Role)
	}
	wantErr(t, ts.DeleteUser(second, "second"), driverhub.EConflict, "")
	_, err = ts.UpdateUser(second, "second", driverhub.UserInput{Role: ptr(driverhub.RoleViewer)})
	wantErr(t, err, driverhub.EConflict, "")
	ok(t, ts.DeleteUser(second, "admin")) // a former admin goes freely
}

func TestUserInputNamesTheField(t *testing.T) {
	t.Parallel()
	ts := newTestService(t)
	good := func() driverhub.UserInput {
		return driverhub.UserInput{Username: ptr("erin"), Password: ptr("long-enough"), Role: ptr(driverhub.RoleViewer)}
	}
	tests := []struct {
		name  string
		edit  func(*driverhub.UserInput)
		code  string
		field string
	}{
		{"no username", func(in *driverhub.UserInput) { in.Username = nil }, driverhub.EInvalid, "username"},
		{"no password", func(in *driverhub.UserInput) { in.Password = nil }, driverhub.EInvalid, "password"},
		{"no role", func(in *driverhub.UserInput) { in.Role = nil }, driverhub.EInvalid, "role"},
		{"bad username", func(in *driverhub.UserInput) { in.Username = ptr("-erin") }, driverhub.EInvalid, "username"},
		{"short password", func(in *driverhub.UserInput) { in.Password = ptr("seven77") }, driverhub.EInvalid, "password"},
		{"unknown role", func(in *driverhub.UserInput) { in.Role = ptr(driverhub.Role("owner")) }, driverhub.EInvalid, "role"},
		{"taken username", func(in *driverhub.UserInput) { in.Username = ptr("admin") }, driverhub.EConflict, "username"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := good()
			tt.edit(&in)
			_, err := ts.CreateUser(ts.admin, in)
			wantErr(t, err, tt.code, tt.field)
		})
	}
	must(ts.CreateUser(ts.admin, good()))(t)
	_, err := ts.UpdateUser(ts.admin, "erin", driverhub.UserInput{Username: ptr("erin2")})
	wantErr(t, err, driverhub.EInvalid, "username")
	_, err = ts.UpdateUser(ts.admin, "nobody", driverhub.UserInput{Password: ptr("long-enough")})
	wantErr(t, err, driverhub.ENotFound, "")
}

func TestUsersChangeOnlyThemselves(t *testing.T) {
	t.Parallel()
	ts := newTestService(t)
	dev := ts.userCtx(t, ts.admin, "dev", driverhub.RoleDeveloper)
	ts.userCtx(t, ts.admin, "other", driverhub.RoleViewer)

	must(ts.UpdateUser(dev, "dev", driverhub.UserInput{Password: ptr("new-password"), CurrentPassword: ptr("password-dev")}))(t)
	must(ts.Login(context.Background(), "dev", "new-password"))(t)
	_, err := ts.UpdateUser(dev, "dev", driverhub.UserInput{Password: ptr("short")})
	wantErr(t, err, driverhub.EInvalid, "password")
	_, err = ts.UpdateUser(dev, "dev", driverhub.UserInput{Role: ptr(driverhub.RoleAdmin)})
	wantErr(t, err, driverhub.EPermissionDenied, "")
	_, err = ts.UpdateUser(dev, "other", driverhub.UserInput{Password: ptr("new-password")})
	wantErr(t, err, driverhub.EPermissionDenied, "")

	if u := must(ts.GetUser(dev, "dev"))(t); u.Role != driverhub.RoleDeveloper {
		t.Errorf("dev reads itself as %s", u.Role)
	}
	_, err = ts.GetUser(dev, "other")
	wantErr(t, err, driverhub.EPermissionDenied, "")
	must(ts.GetUser(ts.admin, "other"))(t)
}

func TestSystemAdminCreatesTenants(t *testing.T) {
	t.Parallel()
	ts := newTestService(t)
	nt := must(ts.CreateTenant(ts.admin, "acme"))(t)
	acme := ts.tokenCtx(t, nt.Token)
	p := driverhub.PrincipalFrom(acme)
	if p.TenantName != "acme" || p.Role != driverhub.RoleAdmin || p.SystemAdmin {
		t.Errorf("new tenant's token acts as %+v, want a plain admin of acme", p)
	}
	must(ts.Login(context.Background(), "acme/"+nt.Admin.Username, nt.Admin.Password))(t)

	_, err := ts.CreateTenant(acme, "beta")
	wantErr(t, err, driverhub.EPermissionDenied, "")
	_, err = ts.CreateTenant(ts.userCtx(t, ts.admin, "ada", driverhub.RoleAdmin), "beta")
	wantErr(t, err, driverhub.EPermissionDenied, "")
	_, err = ts.CreateTenant(ts.admin, "acme")
	wantErr(t, err, driverhub.EConflict, "name")
	_, err = ts.CreateTenant(ts.admin, "Acme!")
	wantErr(t, err, driverhub.EInvalid, "name")
}
