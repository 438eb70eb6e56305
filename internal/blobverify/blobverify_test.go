package blobverify_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"testing"

	"github.com/driverhub/driverhub"
	"github.com/driverhub/driverhub/internal/blobverify"
)

type nopCloser struct{ *bytes.Reader }

func (nopCloser) Close() error { return nil }

func digest(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func open(stored []byte, size int64, good []byte, verified *bool) *blobverify.Reader {
	return blobverify.New(nopCloser{bytes.NewReader(stored)}, size, digest(good), func() { *verified = true })
}

func TestReaderWhole(t *testing.T) {
	good := bytes.Repeat([]byte("driverhub "), 10000)
	var verified bool
	got, err := io.ReadAll(open(good, int64(len(good)), good, &verified))
	if err != nil || !bytes.Equal(got, good) || !verified {
		t.Fatalf("ReadAll of a good blob: %d bytes, %v, verified %v", len(got), err, verified)
	}
}

func TestReaderCorrupt(t *testing.T) {
	good := bytes.Repeat([]byte("driverhub "), 10000)
	for _, at := range []int{0, 50000, len(good) - 1} {
		bad := bytes.Clone(good)
		bad[at] ^= 1
		var verified bool
		r := open(bad, int64(len(good)), good, &verified)
		got, err := io.ReadAll(r)
		if !errors.Is(err, driverhub.ErrBlobCheck) || verified || !r.Failed() {
			t.Errorf("flip at %d: ReadAll error %v, verified %v, want ErrBlobCheck", at, err, verified)
		}
		if len(got) >= len(good) {
			t.Errorf("flip at %d: %d bytes handed out, want fewer than %d", at, len(got), len(good))
		}
	}
}

func TestReaderRange(t *testing.T) {
	good := bytes.Repeat([]byte("0123456789"), 10000)
	bad := bytes.Clone(good)
	bad[99999] ^= 1 // past the range read below
	for name, stored := range map[string][]byte{"good": good, "corrupt": bad} {
		var verified bool
		r := open(stored, int64(len(good)), good, &verified)
		if _, err := r.Seek(100, io.SeekStart); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 10)
		n, err := io.ReadFull(r, buf)
		if name == "good" {
			if err != nil || string(buf[:n]) != "0123456789" || !verified {
				t.Errorf("good: range read %q, %v, verified %v", buf[:n], err, verified)
			}
			continue
		}
		if !errors.Is(err, driverhub.ErrBlobCheck) || n != 0 {
			t.Errorf("corrupt: range read %d bytes, %v, want none and ErrBlobCheck", n, err)
		}
	}
}

func TestReaderTruncated(t *testing.T) {
	good := []byte("hello, world")
	var verified bool
	_, err := io.ReadAll(open(good[:5], int64(len(good)), good, &verified))
	if !errors.Is(err, driverhub.ErrBlobCheck) {
		t.Errorf("short blob: %v, want ErrBlobCheck", err)
	}
}

func TestReaderEmpty(t *testing.T) {
	var verified bool
	got, err := io.ReadAll(open(nil, 0, nil, &verified))
	if err != nil || len(got) != 0 || !verified {
		t.Errorf("empty blob: %q, %v, verified %v", got, err, verified)
	}
	_, err = io.ReadAll(open(nil, 0, []byte("x"), &verified))
	if !errors.Is(err, driverhub.ErrBlobCheck) {
		t.Errorf("empty blob with another digest: %v, want ErrBlobCheck", err)
	}
}
