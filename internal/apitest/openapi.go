package apitest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"

	"github.com/driverhub/driverhub/internal/httpapi"
)

// openAPI is the served document and a router to its operations.
type openAPI struct {
	doc    *openapi3.T
	router routers.Router
}

// loadOpenAPI loads the document once for every suite of the process;
// legacy.NewRouter also validates it.
var loadOpenAPI = sync.OnceValues(func() (*openAPI, error) {
	doc, err := openapi3.NewLoader().LoadFromData(httpapi.OpenAPI)
	if err != nil {
		return nil, fmt.Errorf("load openapi.json: %w", err)
	}
	router, err := legacy.NewRouter(doc)
	if err != nil {
		return nil, err
	}
	return &openAPI{doc: doc, router: router}, nil
})

// CheckOpenAPI fails the test when an answer of the API differs from what
// openapi.json documents for its operation, so the document cannot drift
// from the server the suites exercise. Do checks every answer; tests that
// send their own requests call it with the answer and its body. After a
// followed redirect it checks the API's redirect, not the object store's
// answer.
func CheckOpenAPI(t testing.TB, resp *http.Response, body []byte) {
	t.Helper()
	for resp.Request.Response != nil { // resp answers a redirect: go back to the API's answer
		resp, body = resp.Request.Response, nil
	}
	req := resp.Request
	if err := matchOpenAPI(req, resp.StatusCode, resp.Header, body); err != nil {
		t.Errorf("%s %s: the %d answer does not match openapi.json: %v", req.Method, req.URL.RequestURI(), resp.StatusCode, err)
	}
}

func matchOpenAPI(req *http.Request, status int, header http.Header, body []byte) error {
	api, err := loadOpenAPI()
	if err != nil {
		return err
	}
	// The document's server is "/": match the path alone, not the test
	// server's address.
	find := req.Clone(req.Context())
	find.URL = &url.URL{Path: req.URL.Path, RawPath: req.URL.RawPath, RawQuery: req.URL.RawQuery}
	if req.Method == http.MethodHead { // the mux answers HEAD with the GET handler
		find.Method = http.MethodGet
	}
	route, params, err := api.router.FindRoute(find)
	if err != nil {
		return api.unroutedAnswer(req, status, header, body, err)
	}
	ref := route.Operation.Responses.Status(status)
	if ref == nil {
		ref = route.Operation.Responses.Default()
	}
	if ref == nil || ref.Value == nil {
		return fmt.Errorf("status %d is not among the operation's responses", status)
	}
	// kin-openapi validates neither HEAD, 304 nor 307 answers: check their
	// headers here.
	if req.Method == http.MethodHead || status == http.StatusNotModified || status == http.StatusTemporaryRedirect {
		return matchHeaders(ref.Value, header)
	}
	isJSON := isJSON(header)
	input := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: find, PathParams: params, Route: route},
		Status:                 status,
		Header:                 header,
		Body:                   io.NopCloser(bytes.NewReader(body)),
		Options:                &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true, ExcludeResponseBody: !isJSON},
	}
	if err := openapi3filter.ValidateResponse(context.Background(), input); err != nil {
		return err
	}
	return matchMediaType(ref.Value, header, body)
}

// unroutedAnswer accepts an answer to a request the document has no
// operation for when it is a console page, or the API's documented Error
// refusing an unknown path or method (the API answers both 404).
func (api *openAPI) unroutedAnswer(req *http.Request, status int, header http.Header, body []byte, err error) error {
	if !strings.HasPrefix(req.URL.Path, "/api/v1/") {
		return nil // console pages and files are not part of the API
	}
	var re *routers.RouteError
	known := errors.As(err, &re) && (re.Reason == routers.ErrPathNotFound.Error() || re.Reason == routers.ErrMethodNotAllowed.Error())
	if !known || (status != http.StatusNotFound && status != http.StatusMethodNotAllowed) {
		return fmt.Errorf("no documented operation: %v", err)
	}
	if !isJSON(header) {
		return fmt.Errorf("refused with Content-Type %q, not the documented Error", header.Get("Content-Type"))
	}
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		return fmt.Errorf("refused with a body that is not JSON: %w", err)
	}
	if err := api.doc.Components.Schemas["Error"].Value.VisitJSON(v); err != nil {
		return fmt.Errorf("refusal doesn't match schema #/components/schemas/Error: %w", err)
	}
	return nil
}

// matchHeaders checks the documented headers of a response: present when
// required, matching their schema when present.
func matchHeaders(resp *openapi3.Response, header http.Header) error {
	var errs []error
	for name, ref := range resp.Headers {
		h := ref.Value
		v, ok := header[http.CanonicalHeaderKey(name)]
		switch {
		case !ok && h.Required:
			errs = append(errs, fmt.Errorf("response header %q missing", name))
		case ok && h.Schema != nil:
			if err := h.Schema.Value.VisitJSON(v[0]); err != nil {
				errs = append(errs, fmt.Errorf("response header %q doesn't match schema: %w", name, err))
			}
		}
	}
	return errors.Join(errs...)
}

// matchMediaType checks that a body kin-openapi does not decode has a
// documented media type, and that a response documented without a body has
// none.
func matchMediaType(resp *openapi3.Response, header http.Header, body []byte) error {
	ct := header.Get("Content-Type")
	switch {
	case len(resp.Content) == 0 && len(body) > 0:
		return fmt.Errorf("a %d-byte %q body where none is documented", len(body), ct)
	case len(resp.Content) > 0 && resp.Content.Get(ct) == nil:
		return fmt.Errorf("response Content-Type %q is not documented", ct)
	}
	return nil
}

func isJSON(header http.Header) bool {
	mt, _, _ := mime.ParseMediaType(header.Get("Content-Type"))
	return mt == "application/json" || strings.HasSuffix(mt, "+json")
}
