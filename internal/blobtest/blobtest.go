// Package blobtest is the conformance suite every driverhub.BlobStore must
// pass. Implementations call Run from their own tests.
package blobtest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/driverhub/driverhub"
	"github.com/google/go-cmp/cmp"
)

// Run runs the conformance suite against stores made by newStore (each call
// gives a fresh, empty store). Subtests run in parallel, each with its own
// store.
func Run(t *testing.T, newStore func(t testing.TB) driverhub.BlobStore) {
	t.Helper()
	for _, tc := range []struct {
		name string
		fn   func(t *testing.T, s driverhub.BlobStore)
	}{
		{"PutOpenStat", testPutOpenStat},
		{"EmptyBlob", testEmptyBlob},
		{"PutExisting", testPutExisting},
		{"PutExistingWrongBytes", testPutExistingWrongBytes},
		{"PutDigestMismatch", testPutDigestMismatch},
		{"PutShortReader", testPutShortReader},
		{"PutLongReader", testPutLongReader},
		{"PutNegativeSize", testPutNegativeSize},
		{"PutReaderFails", testPutReaderFails},
		{"InvalidKey", testInvalidKey},
		{"Absent", testAbsent},
		{"OpenSeek", testOpenSeek},
		{"Delete", testDelete},
		{"Large", testLarge},
		{"ConcurrentPut", testConcurrentPut},
		{"Ping", testPing},
		{"CancelledContext", testCancelledContext},
		{"AdoptFile", testAdoptFile},
		{"AdoptFileExisting", testAdoptFileExisting},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, newStore(t))
		})
	}
}

// data returns n deterministic pseudo-random bytes for seed.
func data(seed uint64, n int) []byte {
	b := make([]byte, n)
	_, _ = rand.NewChaCha8(seedOf(seed)).Read(b)
	return b
}

// stream returns a reader of the same n bytes data(seed, n) returns, without
// holding them.
func stream(seed uint64, n int64) io.Reader {
	return io.LimitReader(rand.NewChaCha8(seedOf(seed)), n)
}

func seedOf(seed uint64) (s [32]byte) {
	for i := range 8 {
		s[i] = byte(seed >> (8 * i))
	}
	return s
}

func keyOf(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// put stores b under its digest and fails the test on error.
func put(t *testing.T, s driverhub.BlobStore, b []byte) string {
	t.Helper()
	key := keyOf(b)
	if err := s.Put(t.Context(), key, bytes.NewReader(b), int64(len(b))); err != nil {
		t.Fatalf("Put(%s, %d bytes): %v", key, len(b), err)
	}
	return key
}

// read returns the whole blob under key through Open, checking that Open and
// Stat agree on its size.
func read(t *testing.T, s driverhub.BlobStore, key string) []byte {
	t.Helper()
	rc, size, err := s.Open(t.Context(), key)
	if err != nil {
		t.Fatalf("Open(%s): %v", key, err)
	}
	defer rc.Close()
	got, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("reading %s: %v", key, err)
	}
	if size != int64(len(got)) {
		t.Errorf("Open(%s) size = %d, but read %d bytes", key, size, len(got))
	}
	st, err := s.Stat(t.Context(), key)
	if err != nil {
		t.Fatalf("Stat(%s): %v", key, err)
	}
	if st != size {
		t.Errorf("Stat(%s) = %d, Open size = %d", key, st, size)
	}
	return got
}

// wantContent checks that key holds exactly want.
func wantContent(t *testing.T, s driverhub.BlobStore, key string, want []byte) {
	t.Helper()
	if diff := cmp.Diff(want, read(t, s, key)); diff != "" {
		t.Errorf("content of %s (-want +got):\n%s", key, diff)
	}
}

// wantAbsent checks that nothing is readable under key.
func wantAbsent(t *testing.T, s driverhub.BlobStore, key string) {
	t.Helper()
	if _, err := s.Stat(t.Context(), key); !errors.Is(err, driverhub.ErrNotFound) {
		t.Errorf("Stat(%s) error = %v, want ErrNotFound", key, err)
	}
	rc, _, err := s.Open(t.Context(), key)
	if err == nil {
		rc.Close()
	}
	if !errors.Is(err, driverhub.ErrNotFound) {
		t.Errorf("Open(%s) error = %v, want ErrNotFound", key, err)
	}
}

func testPutOpenStat(t *testing.T, s driverhub.BlobStore) {
	for i, n := range []int{1, 1000, 300 << 10} {
		b := data(uint64(i), n)
		key := put(t, s, b)
		wantContent(t, s, key, b)
	}
}

func testEmptyBlob(t *testing.T, s driverhub.BlobStore) {
	key := put(t, s, nil)
	wantContent(t, s, key, []byte{})
}

func testPutExisting(t *testing.T, s driverhub.BlobStore) {
	b := data(1, 5000)
	key := put(t, s, b)
	if put(t, s, b) != key {
		t.Fatal("key changed")
	}
	wantContent(t, s, key, b)
}

// A Put of an existing key may skip reading, or read and reject the bytes;
// either way the stored blob stays as it was.
func testPutExistingWrongBytes(t *testing.T, s driverhub.BlobStore) {
	b := data(1, 5000)
	key := put(t, s, b)
	other := data(2, len(b))
	err := s.Put(t.Context(), key, bytes.NewReader(other), int64(len(other)))
	if err != nil && !errors.Is(err, driverhub.ErrBlobCheck) {
		t.Errorf("Put(existing key, wrong bytes) error = %v, want nil or ErrBlobCheck", err)
	}
	wantContent(t, s, key, b)
}

func testPutDigestMismatch(t *testing.T, s driverhub.BlobStore) {
	key := keyOf(data(1, 4000))
	other := data(2, 4000)
	err := s.Put(t.Context(), key, bytes.NewReader(other), int64(len(other)))
	if !errors.Is(err, driverhub.ErrBlobCheck) {
		t.Errorf("Put(wrong bytes) error = %v, want ErrBlobCheck", err)
	}
	wantAbsent(t, s, key)
	wantAbsent(t, s, keyOf(other))
}

// The reader ends before size: the bytes read hash to the key, but the Put
// must still fail.
func testPutShortReader(t *testing.T, s driverhub.BlobStore) {
	b := data(1, 4000)
	key := keyOf(b)
	if err := s.Put(t.Context(), key, bytes.NewReader(b), int64(len(b))+1); err == nil {
		t.Error("Put(reader shorter than size) succeeded")
	}
	wantAbsent(t, s, key)
}

// The reader yields more than size bytes; the first size bytes hash to the
// key, but the Put must still fail.
func testPutLongReader(t *testing.T, s driverhub.BlobStore) {
	b := data(1, 4000)
	key := keyOf(b[:len(b)-1])
	if err := s.Put(t.Context(), key, bytes.NewReader(b), int64(len(b))-1); err == nil {
		t.Error("Put(reader longer than size) succeeded")
	}
	wantAbsent(t, s, key)
}

func testPutNegativeSize(t *testing.T, s driverhub.BlobStore) {
	key := keyOf(nil)
	if err := s.Put(t.Context(), key, strings.NewReader(""), -1); err == nil {
		t.Error("Put(size -1) succeeded")
	}
	wantAbsent(t, s, key)
}

// failingReader yields the first n bytes of b, then fails.
type failingReader struct {
	b []byte
	n int
}

var errReader = errors.New("blobtest: reader failed")

func (r *failingReader) Read(p []byte) (int, error) {
	if r.n == 0 {
		return 0, errReader
	}
	k := copy(p[:min(len(p), r.n)], r.b)
	r.b, r.n = r.b[k:], r.n-k
	return k, nil
}

func testPutReaderFails(t *testing.T, s driverhub.BlobStore) {
	b := data(1, 600<<10)
	key := keyOf(b)
	r := &failingReader{b: b, n: 300 << 10}
	err := s.Put(t.Context(), key, r, int64(len(b)))
	if err == nil {
		t.Fatal("Put(failing reader) succeeded")
	}
	if !errors.Is(err, errReader) {
		t.Logf("Put(failing reader) error = %v, does not wrap the reader's error", err)
	}
	wantAbsent(t, s, key)
}

func testInvalidKey(t *testing.T, s driverhub.BlobStore) {
	b := data(1, 100)
	key := keyOf(b)
	for _, bad := range []string{
		"",
		key[:63],
		key + "0",
		strings.ToUpper(key),
		"g" + key[1:],
		"../" + key[3:],
		key[:2] + "/" + key[3:],
		" " + key[1:],
	} {
		if err := s.Put(t.Context(), bad, bytes.NewReader(b), int64(len(b))); err == nil {
			t.Errorf("Put(%q) succeeded", bad)
		}
		if _, err := s.Stat(t.Context(), bad); err == nil {
			t.Errorf("Stat(%q) succeeded", bad)
		}
		if rc, _, err := s.Open(t.Context(), bad); err == nil {
			rc.Close()
			t.Errorf("Open(%q) succeeded", bad)
		}
		if err := s.Delete(t.Context(), bad); err == nil {
			t.Errorf("Delete(%q) succeeded", bad)
		}
	}
	wantAbsent(t, s, key)
}

func testAbsent(t *testing.T, s driverhub.BlobStore) {
	wantAbsent(t, s, keyOf([]byte("absent")))
	put(t, s, []byte("present"))
	wantAbsent(t, s, keyOf([]byte("absent")))
}

func testOpenSeek(t *testing.T, s driverhub.BlobStore) {
	b := data(1, 10000)
	key := put(t, s, b)
	rc, size, err := s.Open(t.Context(), key)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	if size != int64(len(b)) {
		t.Errorf("size = %d, want %d", size, len(b))
	}
	readAt := func(off int64, whence, n int, want []byte) {
		t.Helper()
		if _, err := rc.Seek(off, whence); err != nil {
			t.Fatalf("Seek(%d, %d): %v", off, whence, err)
		}
		got := make([]byte, n)
		if _, err := io.ReadFull(rc, got); err != nil {
			t.Fatalf("read after Seek(%d, %d): %v", off, whence, err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("bytes after Seek(%d, %d) (-want +got):\n%s", off, whence, diff)
		}
	}
	readAt(3000, io.SeekStart, 2000, b[3000:5000])
	readAt(100, io.SeekCurrent, 50, b[5100:5150])
	readAt(-100, io.SeekEnd, 100, b[len(b)-100:])
	readAt(0, io.SeekStart, 10, b[:10])
	if end, err := rc.Seek(0, io.SeekEnd); err != nil || end != int64(len(b)) {
		t.Errorf("Seek(0, SeekEnd) = %d, %v; want %d", end, err, len(b))
	}
	if n, err := rc.Read(make([]byte, 10)); n != 0 || err != io.EOF {
		t.Errorf("Read at end = %d, %v; want 0, EOF", n, err)
	}
}

func testDelete(t *testing.T, s driverhub.BlobStore) {
	b, keep := data(1, 1000), data(2, 1000)
	key, keepKey := put(t, s, b), put(t, s, keep)
	if err := s.Delete(t.Context(), key); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	wantAbsent(t, s, key)
	wantContent(t, s, keepKey, keep)
	if err := s.Delete(t.Context(), key); err != nil {
		t.Errorf("Delete(deleted key): %v", err)
	}
	if err := s.Delete(t.Context(), keyOf([]byte("never stored"))); err != nil {
		t.Errorf("Delete(absent key): %v", err)
	}
	put(t, s, b) // a deleted key can be stored again
	wantContent(t, s, key, b)
}

func testLarge(t *testing.T, s driverhub.BlobStore) {
	const seed, size = 7, 8 << 20
	h := sha256.New()
	if _, err := io.Copy(h, stream(seed, size)); err != nil {
		t.Fatal(err)
	}
	key := hex.EncodeToString(h.Sum(nil))
	if err := s.Put(t.Context(), key, stream(seed, size), size); err != nil {
		t.Fatalf("Put(%d bytes): %v", size, err)
	}
	if n, err := s.Stat(t.Context(), key); err != nil || n != size {
		t.Fatalf("Stat = %d, %v; want %d", n, err, size)
	}
	rc, n, err := s.Open(t.Context(), key)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer rc.Close()
	if n != size {
		t.Errorf("Open size = %d, want %d", n, size)
	}
	// Compare chunk by chunk, to report where the content first differs.
	want := stream(seed, size)
	gotBuf, wantBuf := make([]byte, 64<<10), make([]byte, 64<<10)
	for off := int64(0); off < size; off += int64(len(gotBuf)) {
		if _, err := io.ReadFull(rc, gotBuf); err != nil {
			t.Fatalf("reading at %d: %v", off, err)
		}
		if _, err := io.ReadFull(want, wantBuf); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(gotBuf, wantBuf) {
			t.Fatalf("content differs in the 64 KiB chunk at offset %d", off)
		}
	}
	if n, err := rc.Read(gotBuf); n != 0 || err != io.EOF {
		t.Errorf("Read past %d bytes = %d, %v; want 0, EOF", size, n, err)
	}
}

func testConcurrentPut(t *testing.T, s driverhub.BlobStore) {
	b := data(1, 1<<20)
	key := keyOf(b)
	const n = 8
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			errs[i] = s.Put(t.Context(), key, bytes.NewReader(b), int64(len(b)))
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("Put #%d: %v", i, err)
		}
	}
	wantContent(t, s, key, b)
}

func testPing(t *testing.T, s driverhub.BlobStore) {
	if err := s.Ping(t.Context()); err != nil {
		t.Errorf("Ping: %v", err)
	}
}

func testCancelledContext(t *testing.T, s driverhub.BlobStore) {
	b := data(1, 1000)
	key := keyOf(b)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	err := s.Put(ctx, key, bytes.NewReader(b), int64(len(b)))
	if err == nil {
		t.Fatal("Put with a cancelled context succeeded")
	}
	if !errors.Is(err, context.Canceled) {
		t.Logf("Put with a cancelled context: error %v does not wrap context.Canceled", err)
	}
	wantAbsent(t, s, key)
}

// adoptable writes b to a new file from which s can adopt: in the store's
// TempDir when it has one (it must be on the same filesystem), else in a
// test directory.
func adoptable(t *testing.T, s driverhub.BlobStore, b []byte) string {
	t.Helper()
	dir := t.TempDir()
	if td, ok := s.(interface{ TempDir() string }); ok {
		dir = td.TempDir()
	}
	f, err := os.CreateTemp(dir, "blobtest-*")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	t.Cleanup(func() { os.Remove(f.Name()) })
	if _, err := f.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return f.Name()
}

func adopter(t *testing.T, s driverhub.BlobStore) driverhub.BlobFileAdopter {
	t.Helper()
	a, ok := s.(driverhub.BlobFileAdopter)
	if !ok {
		t.Skipf("%T does not implement BlobFileAdopter", s)
	}
	return a
}

func wantGone(t *testing.T, path string) {
	t.Helper()
	if _, err := os.Lstat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("after AdoptFile, %s: Lstat error = %v, want not exist", filepath.Base(path), err)
	}
}

func testAdoptFile(t *testing.T, s driverhub.BlobStore) {
	a := adopter(t, s)
	b := data(1, 300<<10)
	key := keyOf(b)
	path := adoptable(t, s, b)
	if err := a.AdoptFile(t.Context(), key, path); err != nil {
		t.Fatalf("AdoptFile: %v", err)
	}
	wantGone(t, path)
	wantContent(t, s, key, b)
}

func testAdoptFileExisting(t *testing.T, s driverhub.BlobStore) {
	a := adopter(t, s)
	b := data(1, 1000)
	key := put(t, s, b)
	path := adoptable(t, s, b)
	if err := a.AdoptFile(t.Context(), key, path); err != nil {
		t.Fatalf("AdoptFile(existing key): %v", err)
	}
	wantGone(t, path)
	wantContent(t, s, key, b)
	if err := a.AdoptFile(t.Context(), keyOf(nil)[:10], adoptable(t, s, nil)); err == nil {
		t.Errorf("AdoptFile(%q) succeeded", keyOf(nil)[:10])
	}
}
