package httpapi_test

import (
	"bytes"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/driverhub/driverhub/internal/apitest"
)

func TestGWBlobs(t *testing.T) {
	s := apitest.New(t)
	a := s.AdminToken
	ga := gwNewInstance(t, s, a, "A")
	gb := gwNewInstance(t, s, a, "B")
	pa := gwPublishedPython(t, s, a, "ForA", "1.0", pyPackage(t, "print('A')\n"+strings.Repeat("#", 100)+"\n"))
	pb := gwPublishedPython(t, s, a, "ForB", "1.0", nil)
	never := gwPublishedPython(t, s, a, "Never", "1.0", nil)
	gwBind(t, s, a, "A", "ForA", nil)
	gwBind(t, s, a, "B", "ForB", nil)
	blob := func(sha string) string { return "/api/v1/gateway/blobs/" + sha }

	// Bound is not enough: the blob must be in one of its deployments.
	wantError(t, ga.do(t, "GET", blob(sha256Hex(pa)), nil), http.StatusNotFound, "not_found", "")
	gwDeploy(t, s, a, "A", "deploy")
	gwDeploy(t, s, a, "B", "deploy")

	r := ga.do(t, "GET", blob(sha256Hex(pa)), nil)
	if r.Status != http.StatusOK || !bytes.Equal(r.Body, pa) {
		t.Fatalf("GET own package: %d, %d bytes (want %d)", r.Status, len(r.Body), len(pa))
	}
	diff(t, "ETag", `"`+sha256Hex(pa)+`"`, r.Header.Get("ETag"))

	r = ga.do(t, "GET", blob(sha256Hex(pa)), nil, "Range", "bytes=10-29")
	if r.Status != http.StatusPartialContent || !bytes.Equal(r.Body, pa[10:30]) {
		t.Errorf("Range: %d, %q", r.Status, r.Body)
	}
	diff(t, "Content-Range", fmt.Sprintf("bytes 10-29/%d", len(pa)), r.Header.Get("Content-Range"))
	r = ga.do(t, "GET", blob(sha256Hex(pa)), nil, "Range", fmt.Sprintf("bytes=%d-", len(pa)-5))
	if r.Status != http.StatusPartialContent || !bytes.Equal(r.Body, pa[len(pa)-5:]) {
		t.Errorf("resuming the last 5 bytes: %d, %q", r.Status, r.Body)
	}

	// B's package, a package in no deployment, unknown and malformed digests.
	for name, sha := range map[string]string{
		"another instance's": sha256Hex(pb),
		"never deployed":     sha256Hex(never),
		"unknown":            strings.Repeat("0", 64),
		"upper case":         strings.ToUpper(sha256Hex(pa)),
		"short":              sha256Hex(pa)[:63],
		"not hex":            strings.Repeat("z", 64),
		"path":               "..%2F..%2Fetc%2Fpasswd",
	} {
		t.Run(name, func(t *testing.T) {
			wantError(t, ga.do(t, "GET", blob(sha), nil), http.StatusNotFound, "not_found", "")
		})
	}
	r = gb.do(t, "GET", blob(sha256Hex(pb)), nil)
	if r.Status != http.StatusOK || !bytes.Equal(r.Body, pb) {
		t.Errorf("B's own package: %d", r.Status)
	}

	// A reset keeps what earlier deployments named reachable (for rollbacks).
	gwDeploy(t, s, a, "A", "reset")
	if r := ga.do(t, "GET", blob(sha256Hex(pa)), nil); r.Status != http.StatusOK {
		t.Errorf("after a reset: %d", r.Status)
	}
}

// gwLogLines makes n lines "line <from+i>".
func gwLogLines(from, n int) []map[string]any {
	out := make([]map[string]any, n)
	for i := range out {
		out[i] = map[string]any{"time": "2030-01-02T03:04:05Z", "stream": "stdout", "text": fmt.Sprintf("line %04d", from+i)}
	}
	return out
}

// gwTailTexts reads the tail of a driver's log and returns the texts.
func gwTailTexts(t testing.TB, s *apitest.Server, a, inst, driver, query string) []string {
	t.Helper()
	var out struct {
		Lines []struct {
			Time   string `json:"time"`
			Stream string `json:"stream"`
			Text   string `json:"text"`
		} `json:"lines"`
	}
	s.Must(t, http.StatusOK, "GET", gwBindingPath(inst, driver)+"/logs"+query, a, nil).Decode(t, &out)
	texts := []string{}
	for _, l := range out.Lines {
		texts = append(texts, l.Text)
	}
	return texts
}

func TestGWDriverLogs(t *testing.T) {
	s := apitest.New(t)
	a := s.AdminToken
	g := gwDeployable(t, s, a, "logs")
	post := func(lines any) *apitest.Response {
		return g.do(t, "POST", "/api/v1/gateway/logs", map[string]any{"driver": "Drv", "lines": lines})
	}

	diff(t, "no lines yet", []string{}, gwTailTexts(t, s, a, "logs", "Drv", ""))
	g.do(t, "POST", "/api/v1/gateway/logs", map[string]any{"driver": "Drv", "lines": []any{
		map[string]any{"time": "2030-01-02T03:04:05Z", "stream": "stderr", "text": "boot"}}})
	var one struct {
		Lines []map[string]any `json:"lines"`
	}
	s.Must(t, http.StatusOK, "GET", gwBindingPath("logs", "Drv")+"/logs?tail=1", a, nil).Decode(t, &one)
	diff(t, "a line as posted", []map[string]any{{"time": "2030-01-02T03:04:05Z", "stream": "stderr", "text": "boot"}}, one.Lines)

	for _, batch := range [][2]int{{1, 1000}, {1001, 1000}, {2001, 100}} {
		if r := post(gwLogLines(batch[0], batch[1])); r.Status != http.StatusNoContent {
			t.Fatalf("POST %d lines: %d %s", batch[1], r.Status, r.Body)
		}
	}
	want := func(from, to int) []string {
		var out []string
		for i := from; i <= to; i++ {
			out = append(out, fmt.Sprintf("line %04d", i))
		}
		return out
	}
	diff(t, "tail=3", want(2098, 2100), gwTailTexts(t, s, a, "logs", "Drv", "?tail=3"))
	diff(t, "tail=1000", want(1101, 2100), gwTailTexts(t, s, a, "logs", "Drv", "?tail=1000"))
	got := gwTailTexts(t, s, a, "logs", "Drv", "?tail=2000")
	if n := len(got); n < 1000 || n > 2000 {
		t.Fatalf("tail=2000: %d lines, want 1000-2000", n)
	}
	diff(t, "tail=2000: the newest lines in order", want(2100-len(got)+1, 2100), got)
	def := gwTailTexts(t, s, a, "logs", "Drv", "")
	if len(def) == 0 || def[len(def)-1] != "line 2100" {
		t.Errorf("default tail ends %v", def[max(0, len(def)-2):])
	}
	diff(t, "tail=0 is the default", def, gwTailTexts(t, s, a, "logs", "Drv", "?tail=0"))

	for _, bad := range []string{"2001", "-1", "x"} {
		wantError(t, s.Do(t, "GET", gwBindingPath("logs", "Drv")+"/logs?tail="+bad, a, nil), http.StatusBadRequest, "invalid_argument", "tail")
	}
	wantError(t, post(gwLogLines(0, 1001)), http.StatusBadRequest, "invalid_argument", "lines")
	wantError(t, g.do(t, "POST", "/api/v1/gateway/logs", map[string]any{"driver": "Other", "lines": gwLogLines(0, 1)}), http.StatusNotFound, "not_found", "")
	wantError(t, s.Do(t, "GET", gwBindingPath("logs", "Other")+"/logs", a, nil), http.StatusNotFound, "not_found", "")

	// A line without time or stream gets the server's; an overlong one is cut.
	if r := post([]any{map[string]any{"text": strings.Repeat("x", 10000)}}); r.Status != http.StatusNoContent {
		t.Fatalf("POST a long line: %d %s", r.Status, r.Body)
	}
	s.Must(t, http.StatusOK, "GET", gwBindingPath("logs", "Drv")+"/logs?tail=1", a, nil).Decode(t, &one)
	l := one.Lines[0]
	if n := len(gwStr(l, "text")); n > 8192+4 || n < 8000 {
		t.Errorf("a 10000-byte line is kept as %d bytes", n)
	}
	if gwStr(l, "stream") != "stdout" || gwStr(l, "time") == "" {
		t.Errorf("defaults: %v %v", l["stream"], l["time"])
	}
}

func TestGWDriverRuntime(t *testing.T) {
	s, clock := gwServer(t, 0)
	a := s.AdminToken
	g := gwDeployable(t, s, a, "rt")
	diff(t, "no report yet", nil, object(t, s.Must(t, http.StatusOK, "GET", gwBindingPath("rt", "Drv"), a, nil))["runtime"])

	for _, state := range []string{"starting", "running", "restarting", "crashloop", "stopped", "failed"} {
		clock.Advance(time.Second)
		g.report(t, map[string]any{"drivers": []any{map[string]any{"name": "Drv", "version": "1.0", "state": state,
			"restarts": 3, "last_exit": "exit status 2", "memory_bytes": 123456}, map[string]any{"name": "Gone", "state": "running"}}})
		got := object(t, s.Must(t, http.StatusOK, "GET", gwBindingPath("rt", "Drv"), a, nil))["runtime"]
		diff(t, "runtime "+state, map[string]any{"state": state, "version": "1.0", "restarts": 3.0, "last_exit": "exit status 2",
			"memory_bytes": 123456.0, "reported_at": clock.Now().Format(time.RFC3339), "stale": false}, got)
	}
	before := object(t, s.Must(t, http.StatusOK, "GET", gwBindingPath("rt", "Drv"), a, nil))["runtime"]
	for _, bad := range []string{"", "RUNNING", "dead"} {
		r := g.do(t, "POST", "/api/v1/gateway/report", map[string]any{"drivers": []any{map[string]any{"name": "Drv", "state": bad}}})
		wantError(t, r, http.StatusBadRequest, "invalid_argument", "drivers[0].state")
	}
	diff(t, "unchanged after refusals", before, object(t, s.Must(t, http.StatusOK, "GET", gwBindingPath("rt", "Drv"), a, nil))["runtime"])
}
