package blobtest

import (
	"errors"
	"io"
	"maps"
	"slices"
	"testing"

	"github.com/driverhub/driverhub"
)

// The tests that look behind the store: a blob changed where it is kept,
// and the store's listing.
var behind = []struct {
	name string
	fn   func(t *testing.T, s Store)
}{
	{"CorruptNeverServed", testCorruptNeverServed},
	{"CorruptRangeNeverServed", testCorruptRangeNeverServed},
	{"RecommitRepairs", testRecommitRepairs},
	{"List", testList},
}

// testCorruptNeverServed reads a blob whole (so the store may remember it
// verified), changes one byte where it is kept, and reads it again: the
// read must fail with ErrBlobCheck before the last byte.
func testCorruptNeverServed(t *testing.T, s Store) {
	b := data(1, 300<<10)
	key := put(t, s, b)
	wantContent(t, s, key, b)
	s.Corrupt(t, key)
	rc, size, err := s.Open(t.Context(), key)
	if err != nil {
		t.Fatalf("Open of a corrupt blob: %v", err)
	}
	defer rc.Close()
	got, err := io.ReadAll(rc)
	if !errors.Is(err, driverhub.ErrBlobCheck) {
		t.Errorf("reading a corrupt blob: %d bytes, error %v; want ErrBlobCheck", len(got), err)
	}
	if int64(len(got)) >= size {
		t.Errorf("a corrupt blob of %d bytes handed out %d bytes", size, len(got))
	}
}

// testCorruptRangeNeverServed reads a range of a corrupt blob, away from
// the changed byte: that too must fail.
func testCorruptRangeNeverServed(t *testing.T, s Store) {
	b := data(2, 300<<10)
	key := put(t, s, b)
	wantContent(t, s, key, b)
	s.Corrupt(t, key)
	rc, _, err := s.Open(t.Context(), key)
	if err != nil {
		t.Fatalf("Open of a corrupt blob: %v", err)
	}
	defer rc.Close()
	if _, err := rc.Seek(10, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 100)
	n, err := io.ReadFull(rc, buf)
	if !errors.Is(err, driverhub.ErrBlobCheck) || n != 0 {
		t.Errorf("range of a corrupt blob: %d bytes, error %v; want none and ErrBlobCheck", n, err)
	}
}

// testRecommitRepairs commits the same bytes over a corrupt blob.
func testRecommitRepairs(t *testing.T, s Store) {
	b := data(3, 200<<10)
	key := put(t, s, b)
	wantContent(t, s, key, b)
	s.Corrupt(t, key)
	put(t, s, b)
	wantContent(t, s, key, b)
}

func testList(t *testing.T, s Store) {
	want := map[string]int64{}
	for i := range 5 {
		b := data(uint64(10+i), 1000*(i+1))
		want[put(t, s, b)] = int64(len(b))
	}
	pending := stage(t, s, data(99, 100)) // not committed: not listed
	defer pending.Discard()
	got := map[string]int64{}
	err := s.List(t.Context(), func(bi driverhub.BlobInfo) error {
		got[bi.Key] = bi.Size
		if bi.Modified.IsZero() {
			t.Errorf("blob %s listed without a modification time", bi.Key)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	if len(got) != len(want) {
		t.Errorf("List gave %d blobs, want %d: %v", len(got), len(want), slices.Collect(maps.Keys(got)))
	}
	for k, n := range want {
		if got[k] != n {
			t.Errorf("List: blob %s has size %d, want %d", k, got[k], n)
		}
	}
	stop := errors.New("stop")
	calls := 0
	if err := s.List(t.Context(), func(driverhub.BlobInfo) error { calls++; return stop }); !errors.Is(err, stop) || calls != 1 {
		t.Errorf("List with a failing fn: %d calls, error %v; want 1 call and that error", calls, err)
	}
}
