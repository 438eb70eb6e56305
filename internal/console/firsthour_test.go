package console_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/driverhub/driverhub"
	"github.com/driverhub/driverhub/internal/apitest"
)

// The browser asks for /favicon.ico on every site; it is there signed out too.
func TestFavicon(t *testing.T) {
	srv := apitest.New(t)
	b := newBrowser(t, srv)
	for path, typ := range map[string]string{"/favicon.ico": "image/", "/static/favicon.svg": "image/svg+xml"} {
		p := b.get(path)
		if p.Status != http.StatusOK || !strings.HasPrefix(p.Header.Get("Content-Type"), typ) || len(p.Body) == 0 {
			t.Errorf("GET %s: %d %q, %d bytes", path, p.Status, p.Header.Get("Content-Type"), len(p.Body))
		}
	}
	if p := b.get("/favicon.ico"); !strings.HasPrefix(p.Body, "\x00\x00\x01\x00") {
		t.Error("/favicon.ico is not an icon file")
	}
}

// Without JavaScript, "Remove" leads to a page that asks, and only its form removes.
func TestUnbindAsksFirst(t *testing.T) {
	srv := apitest.New(t)
	publishMeter(t, srv)
	b := adminBrowser(t, srv)
	createInstance(t, b, "gw1")
	b.post("/instances/gw1/bind", url.Values{"choice": {"|meter|"}})
	inst := b.mustGet("/instances/gw1").Body
	if !strings.Contains(inst, `href="/instances/gw1/drivers/meter/unbind" class="danger-link act-unbind" data-dialog="dlg-unbind-0"`) {
		t.Error("Remove is not a link to the question, with a dialog for JavaScript")
	}
	ask := b.mustGet("/instances/gw1/drivers/meter/unbind").Body
	if !strings.Contains(ask, `action="/instances/gw1/drivers/meter/unbind"`) || !strings.Contains(ask, "Remove driver meter from this instance?") {
		t.Errorf("the question page: %s", snippet(ask))
	}
	if r := srv.Do(t, "GET", "/api/v1/instances/gw1/drivers/meter", srv.AdminToken, nil); r.Status != http.StatusOK {
		t.Fatalf("asking removed the driver: %d", r.Status)
	}
	if p := b.post("/instances/gw1/drivers/meter/unbind", nil); p.Status != http.StatusSeeOther {
		t.Fatalf("remove: %d %s", p.Status, snippet(p.Body))
	}
	if r := srv.Do(t, "GET", "/api/v1/instances/gw1/drivers/meter", srv.AdminToken, nil); r.Status != http.StatusNotFound {
		t.Errorf("after removing: %d", r.Status)
	}
	if p := b.get("/instances/gw1/drivers/nosuch/unbind"); p.Status != http.StatusNotFound {
		t.Errorf("asking about a driver that is not there: %d", p.Status)
	}
}

// Another edge version typed beside the list is used; a bad one is refused
// beside the field and kept for correction.
func TestEdgeVersionTypedBesideTheList(t *testing.T) {
	srv := apitest.New(t)
	b := adminBrowser(t, srv)
	form := b.mustGet("/drivers/new").Body
	if !strings.Contains(form, `<option value="`+driverhub.Version+`" selected>`) || !strings.Contains(form, `<option value="other">`) ||
		!strings.Contains(form, `id="min-edge-other" data-show-when="min_edge_version=other">`) {
		t.Error("the edge version is not a list with this server's version chosen and another one to type (shown without JavaScript)")
	}
	bad := append(meterForm(t, "meter", nil), field("min_edge_version_other", "1.2"))
	p := b.postMultipart("/drivers/new", bad...)
	if p.Status != http.StatusBadRequest || !strings.Contains(p.Body, `id="err-min_edge_version"`) ||
		!strings.Contains(p.Body, `name="min_edge_version_other" value="1.2"`) || !strings.Contains(p.Body, `<option value="other" selected>`) {
		t.Errorf("a bad typed version: %d %s", p.Status, snippet(p.Body))
	}
	empty := append(replace(meterForm(t, "meter", nil), "min_edge_version", "other"), field("min_edge_version_other", ""))
	if p := b.postMultipart("/drivers/new", empty...); p.Status != http.StatusBadRequest || !strings.Contains(p.Body, `<option value="other" selected>`) ||
		!strings.Contains(p.Body, `id="err-min_edge_version"`) {
		t.Errorf("another version chosen but not typed: %d %s", p.Status, snippet(p.Body))
	}
	good := append(meterForm(t, "meter", nil), field("min_edge_version_other", "2.3.4"))
	if p := b.postMultipart("/drivers/new", good...); p.Status != http.StatusSeeOther {
		t.Fatalf("a typed version: %d %s", p.Status, snippet(p.Body))
	}
	var v driverhub.DriverVersion
	srv.Must(t, http.StatusOK, "GET", "/api/v1/drivers/meter/versions/1.0.0", srv.AdminToken, nil).Decode(t, &v)
	if v.MinEdgeVersion != "2.3.4" {
		t.Errorf("saved edge version %q, want the typed 2.3.4", v.MinEdgeVersion)
	}
	// The new version's form offers the saved version, the fleet's and this server's.
	secret, _ := createInstance(t, b, "gw1")
	report(t, srv, secret, map[string]any{"edge_version": "1.5.0"})
	nv := b.mustGet("/drivers/meter/versions/new").Body
	i, j, k := strings.Index(nv, `<option value="2.3.4" selected>`), strings.Index(nv, `<option value="1.5.0">`), strings.Index(nv, `<option value="`+driverhub.Version+`">`)
	if i < 0 || j < 0 || k < 0 || !(i < j && j < k) {
		t.Errorf("edge versions of a new version's form, newest first, the newest version's chosen: %d %d %d", i, j, k)
	}
}

// The marketplace filters without JavaScript, keeping the filters on the next page.
func TestMarketplaceSearch(t *testing.T) {
	srv := apitest.New(t)
	publishMeter(t, srv)
	srv.Must(t, http.StatusOK, "PUT", "/api/v1/drivers/meter/listing", srv.AdminToken, map[string]any{"title": "Power meter", "summary": "Modbus kWh"})
	b := adminBrowser(t, srv)
	for query, found := range map[string]bool{"q=KWH": true, "protocol=modbus&runtime=python3": true, "protocol=opcua": false, "q=lora": false} {
		p := b.mustGet("/marketplace?" + query).Body
		if got := strings.Contains(p, `id="listings"`) && strings.Contains(p, "Power meter"); got != found {
			t.Errorf("/marketplace?%s found the meter: %v, want %v", query, got, found)
		}
		if !found && !strings.Contains(p, "No listing matches these filters.") {
			t.Errorf("/marketplace?%s does not say nothing matched", query)
		}
	}
	if p := b.get("/marketplace?protocol=zigbee"); p.Status != http.StatusBadRequest || !strings.Contains(p.Body, "protocol") {
		t.Errorf("an unknown protocol: %d %s", p.Status, snippet(p.Body))
	}
}
