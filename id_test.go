package driverhub_test

import (
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/driverhub/driverhub"
)

var uuidV7 = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

// idMillis returns the Unix milliseconds of a UUIDv7.
func idMillis(t testing.TB, id string) int64 {
	t.Helper()
	ms, err := strconv.ParseInt(strings.ReplaceAll(id[:13], "-", ""), 16, 64)
	if err != nil {
		t.Fatalf("id %q: %v", id, err)
	}
	return ms
}

func TestNewIDUniqueAndIncreasing(t *testing.T) {
	const n = 100_000
	start := time.Now().UnixMilli()
	seen := make(map[string]bool, n)
	prev := ""
	for i := range n {
		id := driverhub.NewID()
		if !uuidV7.MatchString(id) {
			t.Fatalf("id %d = %q is not a UUIDv7", i, id)
		}
		if seen[id] {
			t.Fatalf("id %d = %q was made before", i, id)
		}
		seen[id] = true
		if id <= prev {
			t.Fatalf("id %d = %q does not sort after %q", i, id, prev)
		}
		prev = id
	}
	// The timestamp is the clock's, give or take the milliseconds borrowed
	// when more than 4096 ids are made in one.
	if ms, now := idMillis(t, prev), time.Now().UnixMilli(); ms < start || ms > now+5000 {
		t.Errorf("last id's time %d is not within [%d, %d]", ms, start, now+5000)
	}
}

func TestNewIDConcurrent(t *testing.T) {
	const workers, each = 8, 5000
	ids := make([][]string, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for range each {
				ids[w] = append(ids[w], driverhub.NewID())
			}
		})
	}
	wg.Wait()
	seen := map[string]bool{}
	for w, list := range ids {
		for i, id := range list {
			if seen[id] {
				t.Fatalf("duplicate id %q", id)
			}
			seen[id] = true
			if i > 0 && id <= list[i-1] {
				t.Fatalf("worker %d: id %q does not sort after %q", w, id, list[i-1])
			}
		}
	}
}

func TestNewSecret(t *testing.T) {
	a, b := driverhub.NewSecret(driverhub.TokenPrefix, 32), driverhub.NewSecret(driverhub.TokenPrefix, 32)
	if a == b {
		t.Fatal("two secrets are equal")
	}
	if !regexp.MustCompile(`^dht_[0-9a-f]{64}$`).MatchString(a) {
		t.Errorf("secret %q: want dht_ and 64 hex digits", a)
	}
}

func TestPageNormalize(t *testing.T) {
	for _, tt := range []struct {
		limit, want int
		ok          bool
	}{
		{0, 50, true},
		{1, 1, true},
		{50, 50, true},
		{500, 500, true},
		{501, 0, false},
		{-1, 0, false},
	} {
		t.Run(strconv.Itoa(tt.limit), func(t *testing.T) {
			got, err := driverhub.Page{Limit: tt.limit, Cursor: "c"}.Normalize()
			if !tt.ok {
				checkField(t, err, "limit")
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Limit != tt.want || got.Cursor != "c" {
				t.Errorf("Normalize() = %+v, want limit %d cursor c", got, tt.want)
			}
		})
	}
}
