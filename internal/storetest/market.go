package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/driverhub/driverhub"
	"github.com/google/go-cmp/cmp"
)

// RunMarket runs the cases of MarketTx. newStore returns a fresh, empty,
// migrated store for each call; every subtest runs in parallel on its own.
func RunMarket(t *testing.T, newStore func(t testing.TB) driverhub.Store) {
	t.Helper()
	edgeRun(t, newStore, []edgeCase{
		{"Listings", testListings},
		{"ListListings", testListListings},
		{"Acquisitions", testAcquisitions},
	})
}

// edgeListing lists d of publisher pub, with the fields a read fills in
// from d alone (LatestVersion and Acquired are left to the caller).
func edgeListing(pub *driverhub.Tenant, d *driverhub.Driver, title string) *driverhub.Listing {
	return &driverhub.Listing{
		PublisherID: pub.ID, Publisher: pub.Name, DriverID: d.ID, Driver: d.Name,
		Title: title, Summary: "summary of " + title, Protocol: d.Protocol, Runtime: d.Runtime,
		CPUArch: d.CPUArch, Builtin: d.Builtin, ListedAt: now(),
	}
}

// edgeListingInput is what a caller passes to PutListing: the derived fields
// hold junk that the store must ignore.
func edgeListingInput(l *driverhub.Listing) *driverhub.Listing {
	in := *l
	in.PublisherID, in.Publisher, in.Driver, in.Protocol = "ignored", "ignored", "ignored", "ignored"
	in.Runtime, in.CPUArch, in.LatestVersion, in.Builtin, in.Acquired = "ignored", "ignored", "9.9.9", !l.Builtin, true
	return &in
}

func edgeAcquisition(tn, pub *driverhub.Tenant, d *driverhub.Driver) *driverhub.Acquisition {
	return &driverhub.Acquisition{TenantID: tn.ID, DriverID: d.ID, Publisher: pub.Name, Driver: d.Name, AcquiredAt: now()}
}

// listingFixture is what the subtests of testListings share: publishers
// acme and globex, the tenant buyer, acme's drivers with their listings,
// and the time the versions were published from.
type listingFixture struct {
	acme, globex, buyer *driverhub.Tenant
	modbus, gpio        *driverhub.Driver
	lm, lg              *driverhub.Listing
	base                time.Time
}

func testListings(t *testing.T, s driverhub.Store) {
	acme, globex, buyer := newTenant("acme"), newTenant("globex"), newTenant("initech")
	modbus, gpio, lora := newDriver(acme, "modbus"), newDriver(acme, "gpio"), newDriver(globex, "lora")
	gpio.Runtime, gpio.CPUArch, gpio.Protocol, gpio.Builtin = driverhub.RuntimeC, "armv7-hf", "custom", true
	base := now().Add(-time.Hour)
	create(t, s, acme, globex, buyer, modbus, gpio, lora,
		publish(newVersion(modbus, "1.0.0"), base),
		publish(newVersion(modbus, "1.1.0"), base.Add(2*time.Minute)),
		publish(newVersion(modbus, "0.9.0"), base.Add(time.Minute)), // created later, published earlier
		newVersion(modbus, "2.0.0-draft"),
		publish(newVersion(gpio, "3.0.0"), base),
		newVersion(lora, "0.1.0"))

	lm, lg, ll := edgeListing(acme, modbus, "Modbus"), edgeListing(acme, gpio, "GPIO — 通用"), edgeListing(globex, lora, "LoRa")
	lm.LatestVersion, lg.LatestVersion = "1.1.0", "3.0.0" // lora has no published version
	f := &listingFixture{acme: acme, globex: globex, buyer: buyer, modbus: modbus, gpio: gpio, lm: lm, lg: lg, base: base}
	for _, tc := range []struct {
		name string
		want *driverhub.Listing
	}{
		{"newest published version", lm},
		{"c driver, built in", lg},
		{"no published version", ll},
	} {
		t.Run(tc.name, func(t *testing.T) {
			create(t, s, edgeListingInput(tc.want))
			edgeWant(t, s, "ListingOf", tc.want, func(ctx context.Context, tx driverhub.Tx) (*driverhub.Listing, error) {
				return tx.ListingOf(ctx, tc.want.DriverID)
			})
		})
	}

	t.Run("PutListing again", func(t *testing.T) {
		want := *lm
		want.Title, want.Summary, want.ListedAt = "Modbus TCP/RTU", "", lm.ListedAt.Add(time.Minute)
		create(t, s, edgeListingInput(&want))
		edgeWant(t, s, "ListingOf", &want, func(ctx context.Context, tx driverhub.Tx) (*driverhub.Listing, error) {
			return tx.ListingOf(ctx, modbus.ID)
		})
		*lm = want
	})

	t.Run("newly published version", func(t *testing.T) {
		create(t, s, publish(newVersion(lora, "0.2.0"), now()))
		ll.LatestVersion = "0.2.0"
		edgeWant(t, s, "ListingOf", ll, func(ctx context.Context, tx driverhub.Tx) (*driverhub.Listing, error) {
			return tx.ListingOf(ctx, lora.ID)
		})
	})

	t.Run("ListingByName", func(t *testing.T) { checkListingByName(t, s, f) })

	checkListingsAbsent(t, s, f)

	t.Run("DeleteListing", func(t *testing.T) { checkDeleteListing(t, s, f) })
}

// checkListingByName reads modbus's listing as a tenant that acquired it,
// as another one and as nobody.
func checkListingByName(t *testing.T, s driverhub.Store, f *listingFixture) {
	acme, globex, buyer, modbus, lm := f.acme, f.globex, f.buyer, f.modbus, f.lm
	create(t, s, edgeAcquisition(buyer, acme, modbus))
	acquired := *lm
	acquired.Acquired = true
	for _, tc := range []struct {
		name     string
		acquirer string
		want     *driverhub.Listing
	}{
		{"acquired", buyer.ID, &acquired},
		{"acquired by another tenant", globex.ID, lm},
		{"no acquirer", "", lm},
	} {
		edgeWant(t, s, "ListingByName "+tc.name, tc.want, func(ctx context.Context, tx driverhub.Tx) (*driverhub.Listing, error) {
			return tx.ListingByName(ctx, acme.Name, modbus.Name, tc.acquirer)
		})
	}
	edgeWant(t, s, "ListingOf is not marked acquired", lm, func(ctx context.Context, tx driverhub.Tx) (*driverhub.Listing, error) {
		return tx.ListingOf(ctx, modbus.ID)
	})
}

// checkListingsAbsent puts, reads and deletes listings that are not there,
// each in its own subtest.
func checkListingsAbsent(t *testing.T, s driverhub.Store, f *listingFixture) {
	acme, globex, buyer, modbus, base := f.acme, f.globex, f.buyer, f.modbus, f.base
	unlisted := newDriver(acme, "unlisted")
	create(t, s, unlisted, publish(newVersion(unlisted, "1.0.0"), base))
	missing := driverhub.NewID()
	for _, tc := range []absentCase{
		{"PutListing of an unknown driver", true, func(ctx context.Context, tx driverhub.Tx) error {
			return tx.PutListing(ctx, &driverhub.Listing{DriverID: missing, Title: "x", ListedAt: now()})
		}},
		{"ListingOf an unlisted driver", false, func(ctx context.Context, tx driverhub.Tx) error {
			_, err := tx.ListingOf(ctx, unlisted.ID)
			return err
		}},
		{"ListingOf an unknown driver", false, func(ctx context.Context, tx driverhub.Tx) error {
			_, err := tx.ListingOf(ctx, missing)
			return err
		}},
		{"ListingByName of an unlisted driver", false, func(ctx context.Context, tx driverhub.Tx) error {
			_, err := tx.ListingByName(ctx, acme.Name, unlisted.Name, buyer.ID)
			return err
		}},
		{"ListingByName with another publisher", false, func(ctx context.Context, tx driverhub.Tx) error {
			_, err := tx.ListingByName(ctx, globex.Name, modbus.Name, buyer.ID)
			return err
		}},
		{"ListingByName of an unknown publisher", false, func(ctx context.Context, tx driverhub.Tx) error {
			_, err := tx.ListingByName(ctx, "nobody", modbus.Name, buyer.ID)
			return err
		}},
		{"DeleteListing of an unlisted driver", true, func(ctx context.Context, tx driverhub.Tx) error {
			return tx.DeleteListing(ctx, unlisted.ID)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) { edgeWantErr(t, s, tc.name, tc.write, driverhub.ErrNotFound, tc.fn) })
	}
}

// checkDeleteListing unlists modbus, twice: its acquisition stays, and so
// does another listing.
func checkDeleteListing(t *testing.T, s driverhub.Store, f *listingFixture) {
	buyer, modbus, gpio, lg := f.buyer, f.modbus, f.gpio, f.lg
	update(t, s, func(ctx context.Context, tx driverhub.Tx) error { return tx.DeleteListing(ctx, modbus.ID) })
	edgeWantErr(t, s, "ListingOf after DeleteListing", false, driverhub.ErrNotFound, func(ctx context.Context, tx driverhub.Tx) error {
		_, err := tx.ListingOf(ctx, modbus.ID)
		return err
	})
	edgeWantErr(t, s, "DeleteListing twice", true, driverhub.ErrNotFound, func(ctx context.Context, tx driverhub.Tx) error {
		return tx.DeleteListing(ctx, modbus.ID)
	})
	// Unlisting stops new acquisitions, not existing ones.
	edgeWant(t, s, "AcquisitionOf after DeleteListing", modbus.ID, func(ctx context.Context, tx driverhub.Tx) (string, error) {
		a, err := tx.AcquisitionOf(ctx, buyer.ID, modbus.ID)
		if err != nil {
			return "", err
		}
		return a.DriverID, nil
	})
	edgeWant(t, s, "ListingOf another listing", lg, func(ctx context.Context, tx driverhub.Tx) (*driverhub.Listing, error) {
		return tx.ListingOf(ctx, gpio.ID)
	})
}

func testListListings(t *testing.T, s driverhub.Store) {
	buyer := newTenant("buyer")
	items := []any{buyer}
	var want []*driverhub.Listing
	base := now().Add(-time.Hour)
	// Publishers and drivers are created in another order than listed;
	// every name has the same length, so that the order is the same under
	// any collation.
	pubs := make([]*driverhub.Tenant, 3)
	for _, p := range shuffled(len(pubs)) {
		pubs[p] = newTenant(fmt.Sprintf("pub%02d", p))
		items = append(items, pubs[p])
	}
	for p, pub := range pubs {
		for _, n := range shuffled(4) {
			d := newDriver(pub, fmt.Sprintf("drv%02d", n))
			items = append(items, d)
			if n == 3 {
				continue // never listed
			}
			l := edgeListing(pub, d, fmt.Sprintf("listing %d/%d", p, n))
			if n != 1 {
				l.LatestVersion = fmt.Sprintf("1.%d.0", n)
				items = append(items, publish(newVersion(d, l.LatestVersion), base))
			}
			if (p+n)%2 == 0 {
				l.Acquired = true
				items = append(items, edgeAcquisition(buyer, pub, d))
			}
			want = append(want, l)
			items = append(items, edgeListingInput(l))
		}
	}
	create(t, s, items...)
	// The shuffled creation order is not the listing order.
	byKey := map[string]*driverhub.Listing{}
	for _, l := range want {
		byKey[l.Publisher+"/"+l.Driver] = l
	}
	want = want[:0]
	for p := range pubs {
		for n := range 3 {
			want = append(want, byKey[fmt.Sprintf("pub%02d/drv%02d", p, n)])
		}
	}
	for _, limit := range []int{1, 2, 4, 9, 0} {
		pages := pageAll(t, limit, func(p driverhub.Page) (driverhub.List[*driverhub.Listing], error) {
			var l driverhub.List[*driverhub.Listing]
			err := viewErr(t, s, func(ctx context.Context, tx driverhub.Tx) error {
				var err error
				l, err = tx.ListListings(ctx, buyer.ID, p)
				return err
			})
			return l, err
		})
		if diff := cmp.Diff(want, flatten(pages)); diff != "" {
			t.Errorf("limit %d: listings of all pages (-want +got):\n%s", limit, diff)
		}
	}
	// Another tenant sees the same listings, none acquired.
	var unmarked []*driverhub.Listing
	for _, l := range want {
		c := *l
		c.Acquired = false
		unmarked = append(unmarked, &c)
	}
	edgeWant(t, s, "ListListings of another tenant", unmarked, func(ctx context.Context, tx driverhub.Tx) ([]*driverhub.Listing, error) {
		l, err := tx.ListListings(ctx, pubs[0].ID, driverhub.Page{})
		return l.Items, err
	})
	err := viewErr(t, s, func(ctx context.Context, tx driverhub.Tx) error {
		_, err := tx.ListListings(ctx, buyer.ID, driverhub.Page{Cursor: "%%%"})
		return err
	})
	wantInvalid(t, "ListListings with a bad cursor", err, "cursor")
}

func testAcquisitions(t *testing.T, s driverhub.Store) {
	acme, globex, buyer, other := newTenant("acme"), newTenant("globex"), newTenant("buyer"), newTenant("other")
	modbus, opcua, lora := newDriver(acme, "modbus"), newDriver(acme, "opcua"), newDriver(globex, "lora")
	create(t, s, acme, globex, buyer, other, modbus, opcua, lora)

	am, ao, al := edgeAcquisition(buyer, acme, modbus), edgeAcquisition(buyer, acme, opcua), edgeAcquisition(buyer, globex, lora)
	for _, a := range []*driverhub.Acquisition{al, am, ao} {
		in := *a
		in.Publisher, in.Driver = "ignored", "ignored"
		create(t, s, &in)
		edgeWant(t, s, "AcquisitionOf", a, func(ctx context.Context, tx driverhub.Tx) (*driverhub.Acquisition, error) {
			return tx.AcquisitionOf(ctx, buyer.ID, a.DriverID)
		})
	}
	oa := edgeAcquisition(other, acme, modbus)
	create(t, s, oa)

	edgeWantErr(t, s, "CreateAcquisition twice", true, driverhub.ErrConflict, func(ctx context.Context, tx driverhub.Tx) error {
		return tx.CreateAcquisition(ctx, edgeAcquisition(buyer, acme, modbus))
	})
	edgeWantErr(t, s, "CreateAcquisition of an unknown driver", true, driverhub.ErrNotFound, func(ctx context.Context, tx driverhub.Tx) error {
		return tx.CreateAcquisition(ctx, &driverhub.Acquisition{TenantID: buyer.ID, DriverID: driverhub.NewID(), AcquiredAt: now()})
	})
	edgeWantErr(t, s, "AcquisitionOf by a tenant that did not acquire", false, driverhub.ErrNotFound, func(ctx context.Context, tx driverhub.Tx) error {
		_, err := tx.AcquisitionOf(ctx, other.ID, lora.ID)
		return err
	})
	edgeWantErr(t, s, "AcquisitionOf an unknown driver", false, driverhub.ErrNotFound, func(ctx context.Context, tx driverhub.Tx) error {
		_, err := tx.AcquisitionOf(ctx, buyer.ID, driverhub.NewID())
		return err
	})
	edgeWant(t, s, "original after a conflict", am, func(ctx context.Context, tx driverhub.Tx) (*driverhub.Acquisition, error) {
		return tx.AcquisitionOf(ctx, buyer.ID, modbus.ID)
	})

	for _, tc := range []struct {
		tenant *driverhub.Tenant
		want   []*driverhub.Acquisition
	}{
		{buyer, []*driverhub.Acquisition{am, ao, al}}, // by publisher, then driver
		{other, []*driverhub.Acquisition{oa}},
		{acme, []*driverhub.Acquisition{}},
	} {
		for _, limit := range []int{1, 2, 0} {
			pages := pageAll(t, limit, func(p driverhub.Page) (driverhub.List[*driverhub.Acquisition], error) {
				var l driverhub.List[*driverhub.Acquisition]
				err := viewErr(t, s, func(ctx context.Context, tx driverhub.Tx) error {
					var err error
					l, err = tx.ListAcquisitions(ctx, tc.tenant.ID, p)
					return err
				})
				return l, err
			})
			if diff := cmp.Diff(tc.want, flatten(pages)); diff != "" {
				t.Errorf("ListAcquisitions of %s, limit %d (-want +got):\n%s", tc.tenant.Name, limit, diff)
			}
		}
	}
}
