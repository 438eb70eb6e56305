package console_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/driverhub/driverhub"
	"github.com/driverhub/driverhub/internal/apitest"
	"github.com/driverhub/driverhub/internal/tuftest"
)

// between returns the text of page s from the element with id on, for a
// few hundred bytes.
func between(s, id string) string {
	i := strings.Index(s, `id="`+id+`"`)
	if i < 0 {
		return ""
	}
	return s[i:min(len(s), i+600)]
}

// TestSignatures: the driver page lists signed (with their key) and
// revoked versions; each published version's page says which it is.
func TestSignatures(t *testing.T) {
	srv := apitest.New(t)
	b := adminBrowser(t, srv)
	if p := b.postMultipart("/drivers/new", meterForm(t, "meter", pythonPackage(t))...); p.Status != http.StatusSeeOther {
		t.Fatalf("driver: %d %s", p.Status, snippet(p.Body))
	}
	for _, v := range []string{"1.1.0", "1.2.0"} {
		if p := b.postMultipart("/drivers/meter/versions/new", append(replace(meterForm(t, "", nil)[1:], "version", v), part{Name: "package", Filename: "m.zip", Data: pythonPackage(t)})...); p.Status != http.StatusSeeOther {
			t.Fatalf("version %s: %d %s", v, p.Status, snippet(p.Body))
		}
	}
	for _, v := range []string{"1.0.0", "1.1.0", "1.2.0"} {
		b.post("/drivers/meter/versions/"+v+"/publish", nil)
	}
	for _, lang := range []string{"en", "zh-CN"} {
		b.lang = lang
		if s := between(b.mustGet("/drivers/meter").Body, "signatures"); s == "" || !strings.Contains(s, "driverhub trust init") {
			t.Errorf("%s: before trust init the driver page says %q", lang, s)
		}
	}
	b.lang = "en"

	p, err := srv.Service.Authenticate(context.Background(), srv.AdminToken)
	if err != nil {
		t.Fatal(err)
	}
	ctx := driverhub.WithPrincipal(context.Background(), p)
	owner := tuftest.Init(t, srv.Service, ctx, time.Now())
	for _, v := range []string{"1.0.0", "1.1.0"} {
		ver, err := srv.Service.GetVersion(ctx, "meter", v)
		if err != nil {
			t.Fatal(err)
		}
		if err := owner.Sign(t, "default", ver, "python3"); err != nil {
			t.Fatal(err)
		}
	}
	if err := owner.Unsign(t, "default/meter/1.0.0"); err != nil {
		t.Fatal(err)
	}
	keyID := tuftest.KeyID(t, owner.Targets)

	page := b.mustGet("/drivers/meter").Body
	if s := between(page, "sig-signed"); !strings.Contains(s, "1.1.0") || !strings.Contains(s, keyID[:8]) || strings.Contains(s, "1.2.0") {
		t.Errorf("signed versions on the driver page: %q, want 1.1.0 by %s", s, keyID[:8])
	}
	if s := between(page, "sig-revoked"); !strings.Contains(s, "1.0.0") || strings.Contains(s, "1.1.0") {
		t.Errorf("revoked versions on the driver page: %q, want 1.0.0", s)
	}
	for v, want := range map[string]string{"1.0.0": "Revoked", "1.1.0": "Signed", "1.2.0": "Not signed"} {
		s := between(b.mustGet("/drivers/meter/versions/"+v).Body, "sig-state")
		if !strings.Contains(s, ">"+want+"<") {
			t.Errorf("version %s page: %q, want %q", v, s, want)
		}
	}
	if s := between(b.mustGet("/drivers/meter/versions/1.1.0").Body, "signature"); !strings.Contains(s, keyID[:8]) {
		t.Errorf("version 1.1.0 page does not name its key %s: %q", keyID[:8], s)
	}
	b.lang = "zh-CN"
	if s := between(b.mustGet("/drivers/meter/versions/1.0.0").Body, "sig-state"); !strings.Contains(s, "已吊销") {
		t.Errorf("zh-CN version page: %q", s)
	}
}
