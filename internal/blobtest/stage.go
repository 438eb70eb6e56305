package blobtest

import (
	"bytes"
	"context"
	"errors"
	"io"
	"sync"
	"testing"

	"github.com/driverhub/driverhub"
)

func testStageCommitOpen(t *testing.T, s driverhub.BlobStore) {
	for i, n := range []int{1, 1000, 300 << 10} {
		b := data(uint64(i), n)
		sb := stage(t, s, b)
		if sb.Size() != int64(n) || sb.SHA256() != keyOf(b) {
			t.Errorf("staged Size, SHA256 = %d, %s; want %d, %s", sb.Size(), sb.SHA256(), n, keyOf(b))
		}
		if err := sb.Commit(t.Context(), keyOf(b)); err != nil {
			t.Fatalf("Commit(%d bytes): %v", n, err)
		}
		wantContent(t, s, keyOf(b), b)
	}
}

func testEmptyBlob(t *testing.T, s driverhub.BlobStore) {
	key := put(t, s, nil)
	wantContent(t, s, key, []byte{})
}

// A staged blob reads back what was written, in several writes, and is not
// readable under its key until committed.
func testReadAtBeforeCommit(t *testing.T, s driverhub.BlobStore) {
	b := data(1, 100<<10)
	sb := stage(t, s, b[:30000])
	if _, err := sb.Write(b[30000:]); err != nil {
		t.Fatal(err)
	}
	if sb.Size() != int64(len(b)) || sb.SHA256() != keyOf(b) {
		t.Errorf("Size, SHA256 = %d, %s; want %d, %s", sb.Size(), sb.SHA256(), len(b), keyOf(b))
	}
	got := make([]byte, 20000)
	if n, err := sb.ReadAt(got, 25000); n != len(got) || err != nil {
		t.Fatalf("ReadAt(20000 bytes at 25000) = %d, %v", n, err)
	}
	if !bytes.Equal(got, b[25000:45000]) {
		t.Error("ReadAt(20000 bytes at 25000) differs from what was written")
	}
	if n, err := sb.ReadAt(got, int64(len(b))-100); n != 100 || err != io.EOF {
		t.Errorf("ReadAt across the end = %d, %v; want 100, EOF", n, err)
	}
	wantAbsent(t, s, keyOf(b))
	if err := sb.Commit(t.Context(), keyOf(b)); err != nil {
		t.Fatal(err)
	}
	wantContent(t, s, keyOf(b), b)
}

func testCommitDigestMismatch(t *testing.T, s driverhub.BlobStore) {
	key := keyOf(data(1, 4000))
	other := data(2, 4000)
	err := stage(t, s, other).Commit(t.Context(), key)
	if !errors.Is(err, driverhub.ErrBlobCheck) {
		t.Errorf("Commit(wrong bytes) error = %v, want ErrBlobCheck", err)
	}
	wantAbsent(t, s, key)
	wantAbsent(t, s, keyOf(other))
}

// A discarded stage stores nothing and can be neither written nor
// committed; Discard may be repeated.
func testDiscard(t *testing.T, s driverhub.BlobStore) {
	b := data(1, 300<<10)
	sb := stage(t, s, b)
	sb.Discard()
	sb.Discard()
	if _, err := sb.Write([]byte("more")); err == nil {
		t.Error("Write after Discard succeeded")
	}
	if err := sb.Commit(t.Context(), keyOf(b)); err == nil {
		t.Error("Commit after Discard succeeded")
	}
	wantAbsent(t, s, keyOf(b))
}

// After Commit, Discard leaves the blob stored, and the stage takes no
// more writes or commits.
func testCommitEndsStage(t *testing.T, s driverhub.BlobStore) {
	b := data(1, 5000)
	sb := stage(t, s, b)
	if err := sb.Commit(t.Context(), keyOf(b)); err != nil {
		t.Fatal(err)
	}
	sb.Discard()
	if _, err := sb.Write([]byte("more")); err == nil {
		t.Error("Write after Commit succeeded")
	}
	if err := sb.Commit(t.Context(), keyOf(b)); err == nil {
		t.Error("second Commit succeeded")
	}
	wantContent(t, s, keyOf(b), b)
}

func testCommitExisting(t *testing.T, s driverhub.BlobStore) {
	b := data(1, 5000)
	key := put(t, s, b)
	if put(t, s, b) != key {
		t.Fatal("key changed")
	}
	wantContent(t, s, key, b)
}

// Stages of the same content, committed at the same time, all succeed.
func testConcurrentStages(t *testing.T, s driverhub.BlobStore) {
	b := data(1, 1<<20)
	key := keyOf(b)
	const n = 8
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		sb := stage(t, s, b)
		wg.Go(func() {
			<-start
			errs[i] = sb.Commit(t.Context(), key)
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("Commit #%d: %v", i, err)
		}
	}
	wantContent(t, s, key, b)
}

func testCancelledContext(t *testing.T, s driverhub.BlobStore) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if sb, err := s.Stage(ctx); err == nil {
		sb.Discard()
		t.Error("Stage with a cancelled context succeeded")
	}
	b := data(1, 1000)
	err := stage(t, s, b).Commit(ctx, keyOf(b))
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Commit with a cancelled context: error = %v, want context.Canceled", err)
	}
	wantAbsent(t, s, keyOf(b))
}
