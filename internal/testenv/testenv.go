// Package testenv decides what a test does when this machine lacks
// something it needs (PostgreSQL, an S3 server, runc, Chromium, root, a
// language runtime): skip with a one-line reason on a developer's machine,
// fail under CI=true, where .ci/run installs everything and a missing part
// is a broken CI rather than a reason to test less.
package testenv

import (
	"os"
	"os/exec"
	"testing"
)

// CI reports whether the tests run in CI (CI=true).
func CI() bool { return os.Getenv("CI") == "true" }

// Require stops the test because what it requires is missing: why says
// what, in one line. It skips, or fails under CI=true.
func Require(t testing.TB, why string) {
	t.Helper()
	if CI() {
		t.Fatalf("CI=true and this test's requirement is missing: %s", why)
	}
	t.Skip(why)
}

// Command returns the path of the named command, or stops the test with
// Require when it is not on PATH.
func Command(t testing.TB, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		Require(t, name+" not found on PATH")
	}
	return path
}

// Root stops the test with Require unless it runs as root.
func Root(t testing.TB, why string) {
	t.Helper()
	if os.Geteuid() != 0 {
		Require(t, "needs root: "+why)
	}
}
