package driverhub_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/driverhub/driverhub"
)

// checkField asserts the outcome of a validation: field == "" means err must be
// nil; otherwise err must be a *driverhub.Error with code invalid_argument
// naming exactly that field, with a message a person can act on.
func checkField(t testing.TB, err error, field string) {
	t.Helper()
	if field == "" {
		if err != nil {
			t.Fatalf("err = %v, want nil", err)
		}
		return
	}
	wantInvalid(t, err, field)
}

// wantInvalid asserts err is an invalid_argument *driverhub.Error on field.
func wantInvalid(t testing.TB, err error, field string) *driverhub.Error {
	t.Helper()
	if err == nil {
		t.Fatalf("err = nil, want invalid_argument on field %q", field)
	}
	var e *driverhub.Error
	if !errors.As(err, &e) {
		t.Fatalf("err = %v (%T), want *driverhub.Error", err, err)
	}
	if e.Code != driverhub.EInvalid || e.Field != field {
		t.Fatalf("err = %v: code %q field %q, want code %q field %q", err, e.Code, e.Field, driverhub.EInvalid, field)
	}
	if strings.TrimSpace(e.Message) == "" {
		t.Fatalf("err = %v: empty message", err)
	}
	return e
}

// wantInvalidUnder asserts err is an invalid_argument *driverhub.Error whose
// field is prefix or below it (prefix.x, prefix[i]...). Used by fuzz targets.
func wantInvalidUnder(t testing.TB, err error, prefix string) {
	t.Helper()
	var e *driverhub.Error
	if !errors.As(err, &e) {
		t.Fatalf("err = %v (%T), want *driverhub.Error", err, err)
	}
	if e.Code != driverhub.EInvalid {
		t.Fatalf("err = %v: code %q, want %q", err, e.Code, driverhub.EInvalid)
	}
	if e.Field != prefix && !strings.HasPrefix(e.Field, prefix+".") && !strings.HasPrefix(e.Field, prefix+"[") {
		t.Fatalf("err = %v: field %q is not under %q", err, e.Field, prefix)
	}
}

// readTestdata returns the contents of testdata/name.
func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// rep repeats s n times; it keeps the tables short.
func rep(s string, n int) string { return strings.Repeat(s, n) }

// Strings exactly at, and one past, the byte limits, in ASCII and in
// multi-byte text. "中" is 3 bytes, "é" is 2.
var (
	bytes256   = rep("a", 256)
	bytes257   = rep("a", 257)
	cjk256     = rep("中", 85) + "a"         // 86 characters, 256 bytes
	cjk258     = rep("中", 86)               // 86 characters, 258 bytes
	accent1024 = rep("é", 512)              // 512 characters, 1024 bytes
	accent1026 = rep("é", 513)              // 513 characters, 1026 bytes
	validSHA   = rep("0123456789abcdef", 4) // 64 lower-case hex digits
)
