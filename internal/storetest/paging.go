package storetest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/driverhub/driverhub"
	"github.com/google/go-cmp/cmp"
)

// pageAll lists every page, following NextCursor from the first page until
// it is "", and returns the pages.
func pageAll[T any](t testing.TB, limit int, list func(driverhub.Page) (driverhub.List[T], error)) [][]T {
	t.Helper()
	var pages [][]T
	seen := map[string]bool{}
	p := driverhub.Page{Limit: limit}
	for {
		l, err := list(p)
		if err != nil {
			t.Fatalf("page %d (limit %d, cursor %q): %v", len(pages)+1, limit, p.Cursor, err)
		}
		if l.Items == nil {
			t.Errorf("page %d: Items is nil, want a slice even when empty", len(pages)+1)
		}
		pages = append(pages, l.Items)
		if l.NextCursor == "" {
			return pages
		}
		if seen[l.NextCursor] || len(pages) > 1000 {
			t.Fatalf("page %d: NextCursor %q was given before: the pages loop", len(pages), l.NextCursor)
		}
		seen[l.NextCursor] = true
		p.Cursor = l.NextCursor
	}
}

// flatten returns the items of all pages, in order.
func flatten[T any](pages [][]T) []T {
	out := []T{}
	for _, p := range pages {
		out = append(out, p...)
	}
	return out
}

func sizes[T any](pages [][]T) []int {
	out := make([]int, len(pages))
	for i, p := range pages {
		out[i] = len(p)
	}
	return out
}

func toAny[T any](items []T) []any {
	out := make([]any, len(items))
	for i, it := range items {
		out[i] = it
	}
	return out
}

// anyList turns a typed list into one of any, for the tables below.
func anyList[T any](l driverhub.List[T], err error) (driverhub.List[any], error) {
	out := driverhub.List[any]{NextCursor: l.NextCursor}
	if l.Items != nil {
		out.Items = toAny(l.Items)
	}
	return out, err
}

// shuffled returns 0..n-1 in a fixed random order, so that items are
// created in another order than the one they are listed in.
func shuffled(n int) []int {
	return rand.New(rand.NewPCG(uint64(n), 42)).Perm(n)
}

type listFunc func(ctx context.Context, tx driverhub.Tx, p driverhub.Page) (driverhub.List[any], error)

// A lister is one list method of Tx. seed fills an empty store with n items
// the list shows, interleaved with items it must not show, and returns the
// former in the documented order with the function that lists them.
type lister struct {
	name string
	seed func(t testing.TB, s driverhub.Store, n int) (want []any, list listFunc)
}

var listers = []lister{
	{"ListUsers by username", func(t testing.TB, s driverhub.Store, n int) ([]any, listFunc) {
		tn, other := newTenant("acme"), newTenant("globex")
		users := make([]*driverhub.User, n)
		items := []any{tn, other}
		for _, i := range shuffled(n) {
			name := fmt.Sprintf("user%02d", i)
			users[i] = newUser(tn, name, driverhub.RoleViewer)
			items = append(items, users[i], newUser(other, name, driverhub.RoleAdmin))
		}
		create(t, s, items...)
		return toAny(users), func(ctx context.Context, tx driverhub.Tx, p driverhub.Page) (driverhub.List[any], error) {
			return anyList(tx.ListUsers(ctx, tn.ID, p))
		}
	}},
	{"ListTokens newest first", func(t testing.TB, s driverhub.Store, n int) ([]any, listFunc) {
		tn, other := newTenant("acme"), newTenant("globex")
		alice, bob := newUser(tn, "alice", driverhub.RoleAdmin), newUser(other, "bob", driverhub.RoleAdmin)
		items := []any{tn, other, alice, bob}
		base := now().Add(-time.Hour)
		var tokens []*driverhub.Token
		for i := range n {
			k := newToken(alice, fmt.Sprintf("token %d", i))
			k.CreatedAt = base.Add(time.Duration(i) * time.Second)
			tokens = append(tokens, k)
			items = append(items, k, newToken(bob, k.Name))
		}
		create(t, s, items...)
		slices.Reverse(tokens)
		return toAny(tokens), func(ctx context.Context, tx driverhub.Tx, p driverhub.Page) (driverhub.List[any], error) {
			return anyList(tx.ListTokens(ctx, tn.ID, "", p))
		}
	}},
	{"ListDrivers by name", func(t testing.TB, s driverhub.Store, n int) ([]any, listFunc) {
		tn, other := newTenant("acme"), newTenant("globex")
		drivers := make([]*driverhub.Driver, n)
		items := []any{tn, other}
		for _, i := range shuffled(n) {
			name := fmt.Sprintf("drv%02d", i)
			drivers[i] = newDriver(tn, name)
			items = append(items, drivers[i], newDriver(other, name))
		}
		create(t, s, items...)
		return toAny(drivers), func(ctx context.Context, tx driverhub.Tx, p driverhub.Page) (driverhub.List[any], error) {
			return anyList(tx.ListDrivers(ctx, tn.ID, driverhub.DriverFilter{}, p))
		}
	}},
	{"ListDrivers filtered", func(t testing.TB, s driverhub.Store, n int) ([]any, listFunc) {
		tn := newTenant("acme")
		drivers := make([]*driverhub.Driver, n)
		items := []any{tn}
		for _, i := range shuffled(n) {
			d := newDriver(tn, fmt.Sprintf("drv%02d", i))
			d.Runtime, d.Description = driverhub.RuntimeNodeJS, "keep me"
			drivers[i] = d
			wrongRuntime := newDriver(tn, fmt.Sprintf("drv%02dpy", i))
			wrongRuntime.Description = "keep me"
			wrongQ := newDriver(tn, fmt.Sprintf("drv%02djs", i))
			wrongQ.Runtime, wrongQ.Description = driverhub.RuntimeNodeJS, "drop me"
			items = append(items, wrongRuntime, d, wrongQ)
		}
		create(t, s, items...)
		f := driverhub.DriverFilter{Runtime: driverhub.RuntimeNodeJS, Q: "KEEP"}
		return toAny(drivers), func(ctx context.Context, tx driverhub.Tx, p driverhub.Page) (driverhub.List[any], error) {
			return anyList(tx.ListDrivers(ctx, tn.ID, f, p))
		}
	}},
	{"ListVersions newest first", func(t testing.TB, s driverhub.Store, n int) ([]any, listFunc) {
		tn := newTenant("acme")
		d, other := newDriver(tn, "modbus"), newDriver(tn, "opcua")
		items := []any{tn, d, other}
		base := now().Add(-time.Hour)
		var versions []*driverhub.DriverVersion
		for i := range n {
			v := newVersion(d, fmt.Sprintf("1.0.%d", i))
			v.CreatedAt = base.Add(time.Duration(i) * time.Second)
			v.UpdatedAt = v.CreatedAt
			versions = append(versions, v)
			items = append(items, v, newVersion(other, v.Version))
		}
		create(t, s, items...)
		slices.Reverse(versions)
		return toAny(versions), func(ctx context.Context, tx driverhub.Tx, p driverhub.Page) (driverhub.List[any], error) {
			return anyList(tx.ListVersions(ctx, d.ID, "", p))
		}
	}},
	{"ListVersions published", func(t testing.TB, s driverhub.Store, n int) ([]any, listFunc) {
		tn := newTenant("acme")
		d := newDriver(tn, "modbus")
		items := []any{tn, d}
		base := now().Add(-time.Hour)
		var versions []*driverhub.DriverVersion
		for i := range n {
			v := publish(newVersion(d, fmt.Sprintf("2.0.%d", i)), base.Add(time.Duration(i)*time.Minute))
			versions = append(versions, v)
			items = append(items, newVersion(d, fmt.Sprintf("2.0.%d-draft", i)), v)
		}
		create(t, s, items...)
		slices.Reverse(versions)
		return toAny(versions), func(ctx context.Context, tx driverhub.Tx, p driverhub.Page) (driverhub.List[any], error) {
			return anyList(tx.ListVersions(ctx, d.ID, driverhub.StatusPublished, p))
		}
	}},
}

// listPages pages through list with the given limit, each page in its own View.
func listPages(t testing.TB, s driverhub.Store, limit int, list listFunc) [][]any {
	t.Helper()
	return pageAll(t, limit, func(p driverhub.Page) (driverhub.List[any], error) {
		var l driverhub.List[any]
		err := viewErr(t, s, func(ctx context.Context, tx driverhub.Tx) error {
			var err error
			l, err = list(ctx, tx, p)
			return err
		})
		return l, err
	})
}

func testPagination(t *testing.T, newStore func(testing.TB) driverhub.Store) {
	for _, l := range listers {
		t.Run(l.name, func(t *testing.T) {
			for _, tc := range []struct {
				name  string
				items int
				limit int
				pages []int
			}{
				{"pages of 3", 7, 3, []int{3, 3, 1}},
				{"full last page", 6, 3, []int{3, 3}},
				{"limit 1", 3, 1, []int{1, 1, 1}},
				{"limit 500", 7, 500, []int{7}},
				{"limit 0 means 50", 51, 0, []int{50, 1}},
				{"empty", 0, 3, []int{0}},
			} {
				t.Run(tc.name, func(t *testing.T) {
					t.Parallel()
					s := newStore(t)
					want, list := l.seed(t, s, tc.items)
					pages := listPages(t, s, tc.limit, list)
					if diff := cmp.Diff(tc.pages, sizes(pages)); diff != "" {
						t.Errorf("page sizes (-want +got):\n%s", diff)
					}
					if diff := cmp.Diff(want, flatten(pages)); diff != "" {
						t.Errorf("items of all pages (-want +got):\n%s", diff)
					}
				})
			}
		})
	}
}

func testPageRefused(t *testing.T, newStore func(testing.TB) driverhub.Store) {
	for _, l := range listers {
		t.Run(l.name, func(t *testing.T) {
			t.Parallel()
			s := newStore(t)
			_, list := l.seed(t, s, 2)
			for _, tc := range []struct {
				name  string
				page  driverhub.Page
				field string
			}{
				{"limit 501", driverhub.Page{Limit: driverhub.MaxPageLimit + 1}, "limit"},
				{"limit -1", driverhub.Page{Limit: -1}, "limit"},
				{"cursor not base64", driverhub.Page{Limit: 1, Cursor: "!not a cursor!"}, "cursor"},
				{"cursor with percent", driverhub.Page{Cursor: "%%%"}, "cursor"},
			} {
				t.Run(tc.name, func(t *testing.T) {
					err := viewErr(t, s, func(ctx context.Context, tx driverhub.Tx) error {
						_, err := list(ctx, tx, tc.page)
						return err
					})
					wantInvalid(t, fmt.Sprintf("list with %+v", tc.page), err, tc.field)
				})
			}
		})
	}
}
