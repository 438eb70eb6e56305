package main_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestCLIChangeOwnPassword: changing your own password sends the current
// one, from --current-password or, when the server asks for it, from the
// line of stdin after the new password; an admin changing another user's
// password is not asked for one.
func TestCLIChangeOwnPassword(t *testing.T) {
	t.Parallel()
	c := newCLI(t) // the admin token is user admin's, password crash-test-password
	const initial = "crash-test-password"

	r := c.fails(1, "user", "update", "admin", "--password", "second-password-2")
	mustContain(t, "no current password", r.stderr, "current_password", "is required to change your own password")
	r = c.fails(1, "user", "update", "admin", "--password", "second-password-2", "--current-password", "wrong-password")
	mustContain(t, "wrong current password", r.stderr, "current_password", "is not your current password")
	if !consoleSignIn(t, c, "admin", initial) {
		t.Fatal("a refused change changed the password")
	}

	// Both from stdin: the new password, then the current one.
	if r = c.runIn("second-password-2\n"+initial+"\n", "user", "update", "admin", "--new-password"); r.code != 0 {
		t.Fatalf("user update --new-password with both on stdin: exit %d: %s", r.code, r.stderr)
	}
	if consoleSignIn(t, c, "admin", initial) || !consoleSignIn(t, c, "admin", "second-password-2") {
		t.Fatal("the password did not change to the one on stdin")
	}
	// The new one as a flag, the current one from stdin.
	if r = c.runIn("second-password-2\n", "user", "update", "admin", "--password", "third-password-3"); r.code != 0 {
		t.Fatalf("user update --password, current on stdin: exit %d: %s", r.code, r.stderr)
	}
	c.ok("user", "update", "admin", "--password", "fourth-password-4", "--current-password", "third-password-3")
	if !consoleSignIn(t, c, "admin", "fourth-password-4") {
		t.Fatal("--current-password did not change the password")
	}

	// Another user's password: one line of stdin is enough.
	c.runIn("first-password-1\n", "user", "create", "dora", "--role", "developer")
	if r = c.runIn("other-password-5\n", "user", "update", "dora", "--new-password"); r.code != 0 {
		t.Fatalf("admin changing dora's password: exit %d: %s", r.code, r.stderr)
	}
	if !consoleSignIn(t, c, "dora", "other-password-5") {
		t.Error("dora's password did not change")
	}
	mustContain(t, "user update --help", c.ok("user", "update", "--help"), "--current-password", "first the new password")
}

// consoleSignIn reports whether the console accepts a user's password.
func consoleSignIn(t *testing.T, c *cliEnv, user, password string) bool {
	t.Helper()
	hc := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	req, err := http.NewRequest("POST", c.srv.url+"/login", strings.NewReader(url.Values{"username": {user}, "password": {password}}.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", c.srv.url)
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusSeeOther && resp.Header.Get("Location") == "/drivers"
}
