package httpapi_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/driverhub/driverhub/internal/apitest"
	"github.com/driverhub/driverhub/internal/httpapi"
)

// presigner is the test's Presigner: the blob store's own when it has one
// (an S3 store, under DRIVERHUB_TEST_BLOBS), else one making fake URLs.
// It records what it was asked.
type presigner struct {
	mu    sync.Mutex
	real  httpapi.Presigner
	asked []string
	fail  bool
}

func (p *presigner) PresignGet(ctx context.Context, key, filename string, ttl time.Duration) (string, error) {
	p.mu.Lock()
	p.asked = append(p.asked, key+" "+filename+" "+ttl.String())
	fail := p.fail
	p.mu.Unlock()
	if fail {
		return "", errors.New("object store down")
	}
	if p.real != nil {
		return p.real.PresignGet(ctx, key, filename, ttl)
	}
	return "https://objects.example/" + key + "?filename=" + url.QueryEscape(filename), nil
}

// noFollow sends a request without following redirects.
func noFollow(t testing.TB, req *http.Request) *http.Response {
	t.Helper()
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	apitest.CheckOpenAPI(t, resp, nil)
	return resp
}

// TestPresignedDownloads checks that, with a Presigner, package and
// gateway blob downloads answer 307 to the presigned URL after the usual
// checks, and that the URL serves the bytes when the store is real.
func TestPresignedDownloads(t *testing.T) {
	p := &presigner{}
	s := apitest.New(t, apitest.Options{Presigner: p})
	if real, ok := s.Blobs.(httpapi.Presigner); ok {
		p.real = real
	}
	a := s.AdminToken
	pkg := gwPublishedPython(t, s, a, "meter", "1.0.0", nil)
	g := gwNewInstance(t, s, a, "gw1")
	gwBind(t, s, a, "gw1", "meter", nil)
	gwDeploy(t, s, a, "gw1", "deploy")

	for _, tc := range []struct {
		name, path, token string
	}{
		{"package", versionPath("meter", "1.0.0") + "/package", a},
		{"gateway blob", "/api/v1/gateway/blobs/" + sha256Hex(pkg), g.secret},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := noFollow(t, request(t, s, "GET", tc.path, tc.token, nil))
			if resp.StatusCode != http.StatusTemporaryRedirect {
				t.Fatalf("GET %s: status %d, want 307", tc.path, resp.StatusCode)
			}
			loc := resp.Header.Get("Location")
			if p.real == nil {
				if want := "https://objects.example/" + sha256Hex(pkg) + "?filename="; !strings.HasPrefix(loc, want) {
					t.Errorf("Location = %q, want %s…", loc, want)
				}
				return
			}
			// The presigned URL serves the bytes, with no credentials, ranges included.
			req, _ := http.NewRequest("GET", loc, nil)
			req.Header.Set("Range", "bytes=10-")
			got, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(got.Body)
			got.Body.Close()
			if got.StatusCode != http.StatusPartialContent || !bytes.Equal(body, pkg[10:]) {
				t.Errorf("GET presigned URL with Range: status %d, %d bytes", got.StatusCode, len(body))
			}
		})
	}
	p.mu.Lock()
	asked := p.asked
	p.mu.Unlock()
	if len(asked) != 2 || asked[0] != sha256Hex(pkg)+" meter-1.0.0.zip 5m0s" {
		t.Errorf("presigner asked %q", asked)
	}

	// The checks come first: no URL for what the caller may not fetch.
	other := gwNewInstance(t, s, a, "gw2")
	if r := other.do(t, "GET", "/api/v1/gateway/blobs/"+sha256Hex(pkg), nil); r.Status != http.StatusNotFound {
		t.Errorf("another gateway's blob: status %d, want 404", r.Status)
	}
	if r := s.Do(t, "GET", versionPath("meter", "1.0.0")+"/package", "", nil); r.Status != http.StatusUnauthorized {
		t.Errorf("package without a token: status %d, want 401", r.Status)
	}
	p.mu.Lock()
	n := len(p.asked)
	p.fail = true
	p.mu.Unlock()
	if n != 2 {
		t.Errorf("presigner asked %d times after refused requests, want 2", n)
	}
	// A presigner that fails is an internal error, not a redirect.
	wantError(t, s.Do(t, "GET", versionPath("meter", "1.0.0")+"/package", a, nil), http.StatusInternalServerError, "internal", "")
}
