// Package blobtest is the conformance suite every driverhub.BlobStore must
// pass. Implementations call Run from their own tests.
package blobtest

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/driverhub/driverhub"
	"github.com/google/go-cmp/cmp"
)

// Store is a blob store under test, with a look behind it.
type Store struct {
	driverhub.BlobStore
	// Leftovers lists the temporary files or objects the store holds: once
	// every stage has been committed or discarded, there must be none.
	Leftovers func(t testing.TB) []string
	// Corrupt changes one byte of the stored blob under key, where the
	// store keeps it, keeping its size: what a failing disk or a stray
	// write does.
	Corrupt func(t testing.TB, key string)
}

// Run runs the conformance suite against stores made by newStore (each call
// gives a fresh, empty store). Subtests run in parallel, each with its own
// store, and each ends by checking that the store keeps no leftovers.
func Run(t *testing.T, newStore func(t testing.TB) Store) {
	t.Helper()
	for _, tc := range []struct {
		name string
		fn   func(t *testing.T, s driverhub.BlobStore)
	}{
		{"StageCommitOpen", testStageCommitOpen},
		{"EmptyBlob", testEmptyBlob},
		{"ReadAtBeforeCommit", testReadAtBeforeCommit},
		{"CommitDigestMismatch", testCommitDigestMismatch},
		{"Discard", testDiscard},
		{"CommitEndsStage", testCommitEndsStage},
		{"CommitExisting", testCommitExisting},
		{"InvalidKey", testInvalidKey},
		{"Absent", testAbsent},
		{"OpenSeek", testOpenSeek},
		{"Delete", testDelete},
		{"Large", testLarge},
		{"ConcurrentStages", testConcurrentStages},
		{"Ping", testPing},
		{"CancelledContext", testCancelledContext},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := newStore(t)
			tc.fn(t, s.BlobStore)
			if left := s.Leftovers(t); len(left) > 0 {
				t.Errorf("temporary files or objects left behind: %q", left)
			}
		})
	}
	for _, tc := range behind {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := newStore(t)
			tc.fn(t, s)
			if left := s.Leftovers(t); len(left) > 0 {
				t.Errorf("temporary files or objects left behind: %q", left)
			}
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

// stage writes b to a new staged blob, which the test discards at its end.
func stage(t *testing.T, s driverhub.BlobStore, b []byte) driverhub.StagedBlob {
	t.Helper()
	sb, err := s.Stage(t.Context())
	if err != nil {
		t.Fatalf("Stage: %v", err)
	}
	t.Cleanup(sb.Discard)
	if n, err := sb.Write(b); err != nil || n != len(b) {
		t.Fatalf("Write(%d bytes) = %d, %v", len(b), n, err)
	}
	return sb
}

// put stages b and commits it under its digest, failing the test on error.
func put(t *testing.T, s driverhub.BlobStore, b []byte) string {
	t.Helper()
	key := keyOf(b)
	if err := stage(t, s, b).Commit(t.Context(), key); err != nil {
		t.Fatalf("Commit(%s, %d bytes): %v", key, len(b), err)
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
		if err := stage(t, s, b).Commit(t.Context(), bad); err == nil {
			t.Errorf("Commit(%q) succeeded", bad)
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
	sb, err := s.Stage(t.Context())
	if err != nil {
		t.Fatalf("Stage: %v", err)
	}
	defer sb.Discard()
	if _, err := io.Copy(sb, stream(seed, size)); err != nil {
		t.Fatalf("writing %d bytes: %v", size, err)
	}
	if sb.Size() != size || sb.SHA256() != key {
		t.Errorf("staged Size, SHA256 = %d, %s; want %d, %s", sb.Size(), sb.SHA256(), size, key)
	}
	tail := make([]byte, 1000)
	if _, err := sb.ReadAt(tail, size-1000); err != nil {
		t.Fatalf("ReadAt(the last 1000 bytes): %v", err)
	}
	if want := data(seed, size)[size-1000:]; !bytes.Equal(tail, want) {
		t.Error("ReadAt(the last 1000 bytes) before Commit differs from what was written")
	}
	if err := sb.Commit(t.Context(), key); err != nil {
		t.Fatalf("Commit(%d bytes): %v", size, err)
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

func testPing(t *testing.T, s driverhub.BlobStore) {
	if err := s.Ping(t.Context()); err != nil {
		t.Errorf("Ping: %v", err)
	}
}
