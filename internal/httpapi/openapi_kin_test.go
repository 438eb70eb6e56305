package httpapi_test

import (
	"context"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/driverhub/driverhub/internal/httpapi"
)

// TestOpenAPIValidByKinOpenAPI loads the served document with kin-openapi,
// the library the API suites validate every response with, and checks it
// against the OpenAPI 3 rules (schemas, examples, defaults, $refs).
func TestOpenAPIValidByKinOpenAPI(t *testing.T) {
	doc, err := openapi3.NewLoader().LoadFromData(httpapi.OpenAPI)
	if err != nil {
		t.Fatalf("kin-openapi cannot load openapi.json: %v", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("openapi.json is not a valid OpenAPI document (kin-openapi): %v", err)
	}
}
