package service_test

import (
	"testing"

	"github.com/driverhub/driverhub"
)

func TestDriverSummariesTellNewestVersionAndListing(t *testing.T) {
	t.Parallel()
	ts := newTestService(t)
	ts.ready(t, ts.admin, driverIn("Listed", "python3"))
	must(ts.PutListing(ts.admin, "Listed", driverhub.ListingInput{Title: "Listed"}))(t)
	ts.ready(t, ts.admin, driverIn("Newer", "python3"))
	ts.newVersion(t, ts.admin, "Newer", "2")
	ts.newDriver(t, ts.admin, driverIn("Empty", "nodejs"))

	l := must(ts.ListDriverSummaries(ts.userCtx(t, ts.admin, "vic", driverhub.RoleViewer), driverhub.DriverFilter{}, driverhub.Page{}))(t)
	got := map[string]*driverhub.DriverSummary{}
	for _, s := range l.Items {
		got[s.Name] = s
	}
	type want struct {
		latest, status, published string
		listed                    bool
	}
	for name, w := range map[string]want{
		"Listed": {"1", driverhub.StatusPublished, "1", true},
		"Newer":  {"2", driverhub.StatusDraft, "1", false},
		"Empty":  {"", "", "", false},
	} {
		s := got[name]
		if s == nil {
			t.Errorf("%s is not in the summaries", name)
			continue
		}
		var latest, status string
		if s.Latest != nil {
			latest, status = s.Latest.Version, s.Latest.Status
		}
		if latest != w.latest || status != w.status || s.LatestPublished != w.published || s.Listed != w.listed {
			t.Errorf("%s: newest %q (%s), newest published %q, listed %v; want %+v", name, latest, status, s.LatestPublished, s.Listed, w)
		}
	}
	// The filters are ListDrivers'.
	l = must(ts.ListDriverSummaries(ts.admin, driverhub.DriverFilter{Runtime: "nodejs"}, driverhub.Page{}))(t)
	if len(l.Items) != 1 || l.Items[0].Name != "Empty" {
		t.Errorf("nodejs drivers: %+v", l.Items)
	}
	_, err := ts.ListDriverSummaries(ts.admin, driverhub.DriverFilter{Protocol: "zigbee"}, driverhub.Page{})
	wantErr(t, err, driverhub.EInvalid, "protocol")
}
