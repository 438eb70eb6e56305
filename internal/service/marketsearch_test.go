package service_test

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/driverhub/driverhub"
)

// listed makes tenant ctx list a published driver of the runtime and protocol.
func (ts *testService) listed(t *testing.T, ctx context.Context, name string, runtime driverhub.Runtime, protocol, title, summary string) {
	t.Helper()
	in := driverIn(name, runtime)
	in.Protocol = &protocol
	ts.ready(t, ctx, in)
	must(ts.PutListing(ctx, name, driverhub.ListingInput{Title: title, Summary: summary}))(t)
}

func names(ls []*driverhub.Listing) []string {
	var out []string
	for _, l := range ls {
		out = append(out, l.Publisher+"/"+l.Driver)
	}
	return out
}

func TestSearchMarketNarrowsByTextProtocolAndRuntime(t *testing.T) {
	t.Parallel()
	ts := newTestService(t)
	acme, globex := ts.tenantCtx(t, "acme"), ts.tenantCtx(t, "globex")
	ts.listed(t, acme, "PowerMeter", "python3", "modbus", "Power meter", "Reads kWh registers")
	ts.listed(t, acme, "Opc", "nodejs", "opcua", "OPC UA bridge", "Browses a server")
	ts.listed(t, globex, "Lora", "python3", "lorawan", "LoRa gateway", "Uplinks from meters")
	ts.ready(t, globex, driverIn("Unlisted", "python3"))

	for _, tt := range []struct {
		name string
		f    driverhub.DriverFilter
		want []string
	}{
		{"nothing asked", driverhub.DriverFilter{}, []string{"acme/Opc", "acme/PowerMeter", "globex/Lora"}},
		{"text in a summary, any case", driverhub.DriverFilter{Q: "METER"}, []string{"acme/PowerMeter", "globex/Lora"}},
		{"text in a publisher", driverhub.DriverFilter{Q: "glob"}, []string{"globex/Lora"}},
		{"protocol", driverhub.DriverFilter{Protocol: "opcua"}, []string{"acme/Opc"}},
		{"runtime and text", driverhub.DriverFilter{Runtime: "python3", Q: "kwh"}, []string{"acme/PowerMeter"}},
		{"no match", driverhub.DriverFilter{Q: "unlisted"}, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			l, err := ts.SearchMarket(ts.admin, tt.f, driverhub.Page{})
			if err != nil {
				t.Fatal(err)
			}
			if got := names(l.Items); !slices.Equal(got, tt.want) || l.NextCursor != "" {
				t.Errorf("SearchMarket(%+v) = %q (next %q), want %q", tt.f, got, l.NextCursor, tt.want)
			}
		})
	}
	_, err := ts.SearchMarket(ts.admin, driverhub.DriverFilter{Protocol: "zigbee"}, driverhub.Page{})
	wantErr(t, err, driverhub.EInvalid, "protocol")
	_, err = ts.SearchMarket(ts.admin, driverhub.DriverFilter{Runtime: "rust"}, driverhub.Page{})
	wantErr(t, err, driverhub.EInvalid, "runtime")
	_, err = ts.SearchMarket(context.Background(), driverhub.DriverFilter{}, driverhub.Page{})
	wantErr(t, err, driverhub.EUnauthenticated, "")
}

// Paging through a search returns every match once, in order, whatever
// the limit, though matches and others alternate.
func TestSearchMarketPagesResumeAfterTheLastMatch(t *testing.T) {
	t.Parallel()
	ts := newTestService(t)
	acme := ts.tenantCtx(t, "acme")
	var want []string
	for i := range 7 {
		summary := "other"
		if i%2 == 0 {
			summary = "match"
			want = append(want, fmt.Sprintf("acme/D%d", i))
		}
		ts.listed(t, acme, fmt.Sprintf("D%d", i), "python3", "modbus", fmt.Sprintf("Driver %d", i), summary)
	}
	for _, limit := range []int{1, 2, 3} {
		var got []string
		page := driverhub.Page{Limit: limit}
		for n := 0; ; n++ {
			l := must(ts.SearchMarket(ts.admin, driverhub.DriverFilter{Q: "match"}, page))(t)
			if len(l.Items) > limit {
				t.Fatalf("limit %d: a page of %d", limit, len(l.Items))
			}
			got = append(got, names(l.Items)...)
			if l.NextCursor == "" || n > 10 {
				break
			}
			page.Cursor = l.NextCursor
		}
		if !slices.Equal(got, want) {
			t.Errorf("limit %d: pages gave %q, want %q", limit, got, want)
		}
	}
}
