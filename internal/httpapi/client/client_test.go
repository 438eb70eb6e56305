package client_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/driverhub/driverhub"
	"github.com/driverhub/driverhub/internal/httpapi/apierror"
	"github.com/driverhub/driverhub/internal/httpapi/client"
)

// answers is what the test server sends for /code/<code>: the server's own
// error JSON, with the status the table gives the code.
var answers = []*driverhub.Error{
	driverhub.Invalid("container.memory_limit_mb", "must be from 8 to 4096, got 5"),
	{Code: driverhub.EUnauthenticated, Message: "missing or invalid credential"},
	{Code: driverhub.EPermissionDenied, Message: "developers may not manage users"},
	driverhub.NotFound("driver", "modbus"),
	{Code: driverhub.EConflict, Field: "name", Message: "a driver named \"modbus\" exists already"},
	{Code: driverhub.EVersionPublished, Message: "version 1.0.0 of modbus is published"},
	{Code: driverhub.ETooLarge, Field: "package", Message: "the package is 60 MiB; the limit is 50 MiB"},
	{Code: driverhub.EFailedPrecondition, Message: "instance gw1 cannot be deployed: 2 problems", Problems: []driverhub.Problem{
		{Resource: "driver modbus", Code: driverhub.ProblemPackageMissing, Message: "version 1.0 has no package"},
		{Resource: "device_config meter/m1", Code: driverhub.ProblemDeviceConfigMissing, Message: "device meter/m1 has none"},
	}},
	{Code: driverhub.EInternal, Message: "internal error"},
}

func newServer(t *testing.T) *client.Client {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("/code/{code}", func(w http.ResponseWriter, r *http.Request) {
		for _, e := range answers {
			if e.Code == r.PathValue("code") {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(apierror.Status(e.Code))
				json.NewEncoder(w).Encode(apierror.BodyOf(e))
				return
			}
		}
		http.NotFound(w, r)
	})
	// What a proxy in front of the server may answer: not driverhub's JSON.
	mux.HandleFunc("/proxy/{status}", func(w http.ResponseWriter, r *http.Request) {
		status, _ := strconv.Atoi(r.PathValue("status"))
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(status)
		w.Write([]byte(r.URL.Query().Get("body")))
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	c, err := client.New(srv.URL, "token", srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestClientReturnsTheServersError(t *testing.T) {
	c := newServer(t)
	for _, want := range answers {
		t.Run(want.Code, func(t *testing.T) {
			path := "/code/" + want.Code
			err := c.JSON(context.Background(), http.MethodPost, path, map[string]string{"x": "y"}, nil)
			var got *driverhub.Error
			if !errors.As(err, &got) {
				t.Fatalf("err = %T %v, want a *driverhub.Error inside", err, err)
			}
			// Format and Args stay on the server: the wire carries the message.
			if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(driverhub.Error{}, "Format", "Args")); diff != "" {
				t.Errorf("error (-want +got):\n%s", diff)
			}
			if !errors.Is(err, &driverhub.Error{Code: want.Code}) {
				t.Errorf("errors.Is(err, code %s) = false", want.Code)
			}
			var call *client.CallError
			if !errors.As(err, &call) {
				t.Fatalf("err = %T, want a *client.CallError", err)
			}
			if call.Method != http.MethodPost || call.Path != path || call.Status != apierror.Status(want.Code) {
				t.Errorf("call = %s %s %d, want POST %s %d", call.Method, call.Path, call.Status, path, apierror.Status(want.Code))
			}
			if msg := err.Error(); !strings.HasPrefix(msg, "POST "+path+": "+want.Code) || !strings.Contains(msg, want.Message) {
				t.Errorf("err.Error() = %q, want the call, the code and the message", msg)
			}
		})
	}
}

func TestClientNamesAnAnswerThatIsNotDriverhubs(t *testing.T) {
	c := newServer(t)
	long := strings.Repeat("é", 2000)
	for _, tt := range []struct {
		name, status, body string
		code               string
		msg                []string
	}{
		{"bad gateway page", "502", "<html><body>\n  <h1>502 Bad Gateway</h1>\n</body></html>", driverhub.EInternal,
			[]string{"502 Bad Gateway: <html><body> <h1>502 Bad Gateway</h1> </body></html>"}},
		{"empty not found", "404", "", driverhub.ENotFound, []string{"404 Not Found"}},
		{"unknown client error", "405", "method not allowed", driverhub.EInvalid, []string{"405 Method Not Allowed: method not allowed"}},
		{"JSON of another API", "403", `{"message":"forbidden"}`, driverhub.EPermissionDenied, []string{`403 Forbidden: {"message":"forbidden"}`}},
		{"huge page", "503", long, driverhub.EInternal, []string{"503 Service Unavailable: éé", "é…"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			path := "/proxy/" + tt.status
			err := c.JSON(context.Background(), http.MethodGet, path+"?body="+url.QueryEscape(tt.body), nil, nil)
			e, ok := driverhub.AsError(err)
			if !ok {
				t.Fatalf("err = %T %v, want a *driverhub.Error inside", err, err)
			}
			if e.Code != tt.code {
				t.Errorf("code = %q, want %q", e.Code, tt.code)
			}
			for _, m := range tt.msg {
				if !strings.Contains(e.Message, m) {
					t.Errorf("message %q does not hold %q", e.Message, m)
				}
			}
			if len(e.Message) > 600 {
				t.Errorf("message is %d bytes: a page should be cut", len(e.Message))
			}
			if !strings.Contains(err.Error(), "GET "+path+": ") {
				t.Errorf("err.Error() = %q, want the method and path", err)
			}
		})
	}
}

// A failed download reports the server's error like any other call.
func TestDownloadReturnsTheServersError(t *testing.T) {
	c := newServer(t)
	var buf bytes.Buffer
	_, err := c.Download(context.Background(), "/code/"+driverhub.ENotFound, 0, &buf)
	if e, ok := driverhub.AsError(err); !ok || e.Code != driverhub.ENotFound || e.Message != answers[3].Message {
		t.Fatalf("Download err = %v, want the server's not_found", err)
	}
	if buf.Len() != 0 {
		t.Errorf("Download wrote %q from an error answer", buf.String())
	}
}
