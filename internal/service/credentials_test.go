package service_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/driverhub/driverhub"
)

// from is a request context from a client address.
func from(addr string) context.Context {
	return driverhub.WithClientAddr(context.Background(), addr)
}

// wantThrottled checks that err is a 429 that asks to wait about wait.
func wantThrottled(t testing.TB, err error, wait time.Duration) {
	t.Helper()
	wantErr(t, err, driverhub.ETooManyRequests, "")
	got, ok := driverhub.RetryAfterOf(err)
	if !ok || got < wait-time.Second || got > wait+time.Second {
		t.Fatalf("%v asks to wait %v, want about %v", err, got, wait)
	}
}

// TestLoginThrottledPerUserName plays the attacker who guesses a user's
// password from many addresses: after LoginFailuresPerUser failures the
// user name is refused, even with the right password, until a try has
// refilled; other user names are not affected.
func TestLoginThrottledPerUserName(t *testing.T) {
	t.Parallel()
	ts := newTestService(t)
	for k := range driverhub.LoginFailuresPerUser {
		_, err := ts.Login(from(fmt.Sprintf("192.0.2.%d", k)), "admin", "wrong-password")
		wantErr(t, err, driverhub.EUnauthenticated, "")
	}
	_, err := ts.Login(from("198.51.100.1"), "admin", adminPassword)
	wantThrottled(t, err, driverhub.LoginUserRefill)
	_, err = ts.Login(from("198.51.100.1"), "default/admin", adminPassword)
	wantThrottled(t, err, driverhub.LoginUserRefill)

	ts.userCtx(t, ts.admin, "other", driverhub.RoleViewer) // another name signs in meanwhile

	ts.clock.Advance(driverhub.LoginUserRefill)
	must(ts.Login(from("198.51.100.1"), "admin", adminPassword))(t)
	_, err = ts.Login(from("198.51.100.1"), "admin", "wrong-again")
	wantErr(t, err, driverhub.EUnauthenticated, "")
	_, err = ts.Login(from("198.51.100.1"), "admin", adminPassword)
	wantThrottled(t, err, driverhub.LoginUserRefill)
}

// TestLoginThrottledPerAddress plays the attacker who tries many user
// names from one address: after LoginFailuresPerAddress failures the address
// is refused; other addresses still sign in.
func TestLoginThrottledPerAddress(t *testing.T) {
	t.Parallel()
	ts := newTestService(t)
	users := driverhub.LoginFailuresPerAddress / driverhub.LoginFailuresPerUser
	for u := range users {
		ts.userCtx(t, ts.admin, fmt.Sprint("user", u), driverhub.RoleViewer)
	}
	for k := range driverhub.LoginFailuresPerAddress {
		_, err := ts.Login(from("2001:db8::1"), fmt.Sprint("user", k%users), "wrong-password")
		wantErr(t, err, driverhub.EUnauthenticated, "")
	}
	// The same /64 is the same client.
	_, err := ts.Login(from("2001:db8::2"), "admin", adminPassword)
	wantThrottled(t, err, driverhub.LoginAddressRefill)
	must(ts.Login(from("2001:db8:1::1"), "admin", adminPassword))(t)
	ts.clock.Advance(driverhub.LoginAddressRefill)
	must(ts.Login(from("2001:db8::2"), "admin", adminPassword))(t)
}

// TestGatewayAuthThrottledPerAddress plays the attacker who guesses
// gateway secrets: after GatewayAuthFailuresPerAddress failures the
// address is refused; gateways elsewhere are not.
func TestGatewayAuthThrottledPerAddress(t *testing.T) {
	t.Parallel()
	ts := newTestService(t)
	i := ts.newInstance(t, ts.admin, "edge")
	for k := range driverhub.GatewayAuthFailuresPerAddress {
		_, err := ts.AuthenticateGateway(from("203.0.113.7"), fmt.Sprintf("dhg_%064x", k))
		wantErr(t, err, driverhub.EUnauthenticated, "")
	}
	_, err := ts.AuthenticateGateway(from("203.0.113.7"), i.GatewaySecret)
	wantThrottled(t, err, driverhub.GatewayAuthAddressRefill)
	must(ts.AuthenticateGateway(from("203.0.113.8"), i.GatewaySecret))(t)
	ts.clock.Advance(driverhub.GatewayAuthAddressRefill)
	must(ts.AuthenticateGateway(from("203.0.113.7"), i.GatewaySecret))(t)
}

func TestChangingOwnPasswordNeedsTheCurrentOne(t *testing.T) {
	t.Parallel()
	ts := newTestService(t)
	dev := ts.userCtx(t, ts.admin, "dev", driverhub.RoleDeveloper)
	_, err := ts.UpdateUser(dev, "dev", driverhub.UserInput{Password: ptr("stolen-session")})
	wantErr(t, err, driverhub.EInvalid, "current_password")
	_, err = ts.UpdateUser(dev, "dev", driverhub.UserInput{Password: ptr("stolen-session"), CurrentPassword: ptr("a-guess")})
	wantErr(t, err, driverhub.EInvalid, "current_password")
	must(ts.Login(context.Background(), "dev", "password-dev"))(t)

	// An admin changing its own password gives it too; another's, not.
	_, err = ts.UpdateUser(ts.admin, "admin", driverhub.UserInput{Password: ptr("new-admin-password")})
	wantErr(t, err, driverhub.EInvalid, "current_password")
	must(ts.UpdateUser(ts.admin, "dev", driverhub.UserInput{Password: ptr("reset-by-admin")}))(t)
	must(ts.UpdateUser(dev, "dev", driverhub.UserInput{Password: ptr("chosen-by-dev"), CurrentPassword: ptr("reset-by-admin")}))(t)
	must(ts.Login(context.Background(), "dev", "chosen-by-dev"))(t)
}

// TestCurrentPasswordGuessesAreThrottled: a stolen session cannot guess
// the password it would need to take the account over.
func TestCurrentPasswordGuessesAreThrottled(t *testing.T) {
	t.Parallel()
	ts := newTestService(t)
	dev := ts.userCtx(t, ts.admin, "dev", driverhub.RoleDeveloper)
	for k := range driverhub.LoginFailuresPerUser {
		_, err := ts.UpdateUser(dev, "dev", driverhub.UserInput{Password: ptr("taken-over"), CurrentPassword: ptr(fmt.Sprint("guess-", k))})
		wantErr(t, err, driverhub.EInvalid, "current_password")
	}
	_, err := ts.UpdateUser(dev, "dev", driverhub.UserInput{Password: ptr("taken-over"), CurrentPassword: ptr("password-dev")})
	wantThrottled(t, err, driverhub.LoginUserRefill)
	_, err = ts.Login(context.Background(), "dev", "password-dev")
	wantThrottled(t, err, driverhub.LoginUserRefill)
}

// TestPasswordOrRoleChangeEndsSessions: console sessions of a user end
// when an admin changes the user's password or role; the user's API
// tokens stay (their role follows the user's), and a user changing their
// own password keeps the session they did it from.
func TestPasswordOrRoleChangeEndsSessions(t *testing.T) {
	t.Parallel()
	ts := newTestService(t)
	vic := ts.userCtx(t, ts.admin, "vic", driverhub.RoleDeveloper)
	token := must(ts.CreateToken(vic, "ci", driverhub.RoleDeveloper))(t)
	session := func() string { return must(ts.CreateSession(vic, time.Hour))(t).Token }
	valid := func(secret string) bool {
		_, err := ts.Authenticate(context.Background(), secret)
		return err == nil
	}

	s1, s2 := session(), session()
	must(ts.UpdateUser(ts.admin, "vic", driverhub.UserInput{Password: ptr("reset-by-admin")}))(t)
	if valid(s1) || valid(s2) || !valid(token.Token) {
		t.Errorf("after a password reset: sessions valid %v %v, API token valid %v; want false false true", valid(s1), valid(s2), valid(token.Token))
	}

	s3 := session()
	must(ts.UpdateUser(ts.admin, "vic", driverhub.UserInput{Role: ptr(driverhub.RoleDeveloper)}))(t)
	if !valid(s3) {
		t.Error("setting the role a user has already ended its session")
	}
	must(ts.UpdateUser(ts.admin, "vic", driverhub.UserInput{Role: ptr(driverhub.RoleViewer)}))(t)
	if valid(s3) || !valid(token.Token) {
		t.Errorf("after a role change: session valid %v, API token valid %v; want false true", valid(s3), valid(token.Token))
	}

	here, elsewhere := session(), session()
	ctx := ts.tokenCtx(t, here)
	must(ts.UpdateUser(ctx, "vic", driverhub.UserInput{Password: ptr("chosen-by-vic"), CurrentPassword: ptr("reset-by-admin")}))(t)
	if !valid(here) || valid(elsewhere) {
		t.Errorf("after vic's own change: this session valid %v, the other %v; want true false", valid(here), valid(elsewhere))
	}
}

func TestAdminTokenMustBeOneTheServerAccepts(t *testing.T) {
	t.Parallel()
	for _, token := range []string{"changeme", "DHT_" + driverhub.NewSecret("", 32), "dht_short", "dht_" + driverhub.NewSecret("", 32) + " ",
		"dht_" + driverhub.NewSecret("", 32) + "\n"} {
		ts := openTestService(t)
		a, err := ts.Bootstrap(context.Background(), adminPassword, token)
		wantErr(t, err, driverhub.EInvalid, "token")
		if a != nil {
			t.Errorf("Bootstrap with token %q made an admin", token)
		}
	}
	ts := openTestService(t)
	token := "dht_my-own_admin-token-of-32-chars-at-least"
	must(ts.Bootstrap(context.Background(), adminPassword, token))(t)
	ts.tokenCtx(t, token)
	// Checked on every start, not only the first.
	_, err := ts.Bootstrap(context.Background(), adminPassword, "changeme")
	wantErr(t, err, driverhub.EInvalid, "token")
}
