package httpapi_test

import (
	"bytes"
	"net/http"
	"testing"
	"time"

	"github.com/driverhub/driverhub/internal/apitest"
)

func gwMarketPath(publisher, driver string) string {
	return "/api/v1/marketplace/" + publisher + "/" + driver
}

func TestGWMarket(t *testing.T) {
	s, clock := gwServer(t, 0)
	pub := s.NewTenant(t, "pub")
	acq := s.NewTenant(t, "acq")
	third := s.NewTenant(t, "third")

	p10 := gwMarketListed(t, s, pub)
	p11 := gwPublishedPython(t, s, pub, "Shared", "1.1", nil)
	gwMarketBrowse(t, s, acq, p10)
	g := gwMarketAcquireAndBind(t, s, clock, pub, acq)

	// The acquirer's gateway gets the publisher's package.
	gwDeploy(t, s, acq, "edge", "deploy")
	md2 := gwManifestDriver(t, g.manifest(t), "Shared")
	diff(t, "manifest", []any{"pub", "1.1", sha256Hex(p11)}, []any{md2["publisher"], md2["version"], md2["package"].(map[string]any)["sha256"]})
	if r := g.do(t, "GET", "/api/v1/gateway/blobs/"+sha256Hex(p11), nil); r.Status != http.StatusOK || !bytes.Equal(r.Body, p11) {
		t.Errorf("acquirer's gateway blob: %d", r.Status)
	}

	gwMarketUnlist(t, s, pub, acq, third)
}

// gwMarketFind returns pub's listing of Shared as token's tenant browses
// the marketplace, or nil.
func gwMarketFind(t testing.TB, s *apitest.Server, token string) map[string]any {
	t.Helper()
	var out struct {
		Items []map[string]any `json:"items"`
	}
	s.Must(t, http.StatusOK, "GET", "/api/v1/marketplace", token, nil).Decode(t, &out)
	for _, it := range out.Items {
		if it["publisher"] == "pub" && it["driver"] == "Shared" {
			return it
		}
	}
	return nil
}

// gwMarketListed makes Shared with a draft 0.9, a published 1.0 and a
// draft 2.0, lists it, and returns 1.0's package.
func gwMarketListed(t *testing.T, s *apitest.Server, pub string) (p10 []byte) {
	newDriver(t, s, pub, "Shared", "python3")
	newVersion(t, s, pub, "Shared", "0.9")
	listing := map[string]any{"title": "Modbus TCP", "summary": "polls holding registers"}
	wantError(t, s.Do(t, "PUT", driverPath("Shared")+"/listing", pub, listing), http.StatusUnprocessableEntity, "failed_precondition", "")

	p10 = gwPublishedPython(t, s, pub, "Shared", "1.0", nil)
	draft := pyPackage(t, "print('draft')\n")
	newVersion(t, s, pub, "Shared", "2.0")
	gwUploadPackage(t, s, pub, "Shared", "2.0", draft)
	wantError(t, s.Do(t, "PUT", driverPath("Shared")+"/listing", pub, map[string]any{"title": ""}), http.StatusBadRequest, "invalid_argument", "title")
	l := object(t, s.Must(t, http.StatusOK, "PUT", driverPath("Shared")+"/listing", pub, listing))
	diff(t, "listing", []any{"pub", "Shared", "Modbus TCP", "polls holding registers", "1.0", "python3", "modbus"},
		[]any{l["publisher"], l["driver"], l["title"], l["summary"], l["latest_version"], l["runtime"], l["protocol"]})
	wantError(t, s.Do(t, "PUT", driverPath("Nope")+"/listing", pub, listing), http.StatusNotFound, "not_found", "")
	return p10
}

// gwMarketBrowse checks what acq sees of the listing in the marketplace,
// and the package downloads.
func gwMarketBrowse(t *testing.T, s *apitest.Server, acq string, p10 []byte) {
	it := gwMarketFind(t, s, acq)
	if it == nil {
		t.Fatal("another tenant does not see the listing")
	}
	diff(t, "browsed", []any{"Modbus TCP", "1.1", false}, []any{it["title"], it["latest_version"], it["acquired"]})

	md := object(t, s.Must(t, http.StatusOK, "GET", gwMarketPath("pub", "Shared"), acq, nil))
	var versions []string
	for _, v := range md["versions"].([]any) {
		v := v.(map[string]any)
		versions = append(versions, gwStr(v, "version"))
		if v["status"] != "published" {
			t.Errorf("market shows version %v with status %v", v["version"], v["status"])
		}
	}
	diff(t, "published versions only, newest first", []string{"1.1", "1.0"}, versions)
	wantError(t, s.Do(t, "GET", gwMarketPath("pub", "Nope"), acq, nil), http.StatusNotFound, "not_found", "")
	wantError(t, s.Do(t, "GET", gwMarketPath("nobody", "Shared"), acq, nil), http.StatusNotFound, "not_found", "")

	// Packages of published versions download; drafts do not exist here.
	r := s.Must(t, http.StatusOK, "GET", gwMarketPath("pub", "Shared")+"/versions/1.0/package", acq, nil)
	if !bytes.Equal(r.Body, p10) {
		t.Error("market package is not the published one")
	}
	diff(t, "Content-Disposition", `attachment; filename="Shared-1.0.zip"`, r.Header.Get("Content-Disposition"))
	wantError(t, s.Do(t, "GET", gwMarketPath("pub", "Shared")+"/versions/2.0/package", acq, nil), http.StatusNotFound, "not_found", "")
	wantError(t, s.Do(t, "GET", gwMarketPath("pub", "Shared")+"/versions/0.9/package", acq, nil), http.StatusNotFound, "not_found", "")
	wantError(t, s.Do(t, "GET", gwMarketPath("pub", "Shared")+"/versions/7/package", acq, nil), http.StatusNotFound, "not_found", "")
}

// gwMarketAcquireAndBind has acq acquire Shared and bind it to a new
// instance, edge, whose simulated gateway it returns.
func gwMarketAcquireAndBind(t *testing.T, s *apitest.Server, clock *gwClock, pub, acq string) *gwSim {
	// Binding before acquiring is not allowed.
	g := gwNewInstance(t, s, acq, "edge")
	wantError(t, s.Do(t, "PUT", gwBindingPath("edge", "Shared"), acq, map[string]any{"publisher": "pub"}), http.StatusNotFound, "not_found", "")

	a1 := object(t, s.Must(t, http.StatusOK, "POST", gwMarketPath("pub", "Shared")+"/acquire", acq, nil))
	clock.Advance(time.Minute)
	a2 := object(t, s.Must(t, http.StatusOK, "POST", gwMarketPath("pub", "Shared")+"/acquire", acq, nil))
	diff(t, "idempotent acquire", a1, a2)
	diff(t, "acquisition", []any{"pub", "Shared"}, []any{a1["publisher"], a1["driver"]})
	names, _ := listAll(t, s, acq, "/api/v1/acquisitions?limit=10", "driver")
	diff(t, "acquisitions", []string{"Shared"}, names)
	diff(t, "marked acquired", true, gwMarketFind(t, s, acq)["acquired"])
	wantError(t, s.Do(t, "POST", gwMarketPath("pub", "Shared")+"/acquire", pub, nil), http.StatusBadRequest, "invalid_argument", "")

	b := gwBind(t, s, acq, "edge", "Shared", map[string]any{"publisher": "pub"})
	diff(t, "acquired binding", []any{"pub", "1.1"}, []any{b["publisher"], b["version"]})
	wantError(t, s.Do(t, "PUT", gwBindingPath("edge", "Shared"), acq, map[string]any{"publisher": "pub", "version": "2.0"}), http.StatusNotFound, "not_found", "")
	wantError(t, s.Do(t, "PUT", gwBindingPath("edge", "Shared"), acq, map[string]any{"publisher": "pub", "version": "0.9"}), http.StatusNotFound, "not_found", "")
	diff(t, "still 1.1", "1.1", object(t, s.Must(t, http.StatusOK, "GET", gwBindingPath("edge", "Shared"), acq, nil))["version"])
	return g
}

// gwMarketUnlist checks that pub cannot delete Shared, bound by acq, and
// that unlisting it stops new acquisitions but not acq's.
func gwMarketUnlist(t *testing.T, s *apitest.Server, pub, acq, third string) {
	// The publisher cannot delete what is bound elsewhere.
	wantError(t, s.Do(t, "DELETE", driverPath("Shared"), pub, nil), http.StatusConflict, "conflict", "")

	// Unlisting stops new acquisitions, not existing ones.
	s.Must(t, http.StatusNoContent, "DELETE", driverPath("Shared")+"/listing", pub, nil)
	wantError(t, s.Do(t, "DELETE", driverPath("Shared")+"/listing", pub, nil), http.StatusNotFound, "not_found", "")
	if gwMarketFind(t, s, third) != nil {
		t.Error("an unlisted driver is still browsable")
	}
	wantError(t, s.Do(t, "GET", gwMarketPath("pub", "Shared"), third, nil), http.StatusNotFound, "not_found", "")
	wantError(t, s.Do(t, "POST", gwMarketPath("pub", "Shared")+"/acquire", third, nil), http.StatusNotFound, "not_found", "")
	wantError(t, s.Do(t, "GET", gwMarketPath("pub", "Shared")+"/versions/1.0/package", third, nil), http.StatusNotFound, "not_found", "")

	diff(t, "rebind after unlisting", "1.0", gwBind(t, s, acq, "edge", "Shared", map[string]any{"publisher": "pub", "version": "1.0"})["version"])
	gwNewInstance(t, s, acq, "edge2")
	diff(t, "new binding after unlisting", "1.1", gwBind(t, s, acq, "edge2", "Shared", map[string]any{"publisher": "pub"})["version"])
	gwDeploy(t, s, acq, "edge", "deploy") // no acquisition_missing
	s.Must(t, http.StatusOK, "GET", gwMarketPath("pub", "Shared"), acq, nil)
	s.Must(t, http.StatusOK, "GET", gwMarketPath("pub", "Shared")+"/versions/1.1/package", acq, nil)
	s.Must(t, http.StatusOK, "POST", gwMarketPath("pub", "Shared")+"/acquire", acq, nil)
	names, _ := listAll(t, s, acq, "/api/v1/acquisitions?limit=10", "driver")
	diff(t, "acquisition kept", []string{"Shared"}, names)
}
