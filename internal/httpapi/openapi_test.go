package httpapi_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/driverhub/driverhub/internal/httpapi"
)

// servedDirectly are the documented operations that the server's mux answers
// without Server.handle, so they are not in Server.Routes().
var servedDirectly = []string{
	"GET /api/v1/openapi.json",
	"GET /healthz",
	"GET /metrics",
	"GET /readyz",
}

// httpMethods are the keys of an OpenAPI path item that are operations.
var httpMethods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

// openAPIDoc parses the embedded document, failing the test on malformed
// JSON or duplicate object keys (which encoding/json would silently merge).
func openAPIDoc(t *testing.T) map[string]any {
	t.Helper()
	if err := checkDuplicateKeys(httpapi.OpenAPI); err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	var doc map[string]any
	if err := json.Unmarshal(httpapi.OpenAPI, &doc); err != nil {
		t.Fatalf("openapi.json is not valid JSON: %v", err)
	}
	return doc
}

func TestOpenAPIDocument(t *testing.T) {
	doc := openAPIDoc(t)
	v, _ := doc["openapi"].(string)
	if !strings.HasPrefix(v, "3.") {
		t.Errorf(`openapi = %q, want "3.x.y"`, v)
	}
	info, _ := doc["info"].(map[string]any)
	if info["title"] == nil || info["version"] == nil {
		t.Errorf("info must have a title and a version, got %v", info)
	}
	if _, ok := doc["paths"].(map[string]any); !ok {
		t.Fatalf("paths is missing or not an object")
	}
}

// TestOpenAPIRoutesDocumented checks that every registered route is
// documented with its method.
func TestOpenAPIRoutesDocumented(t *testing.T) {
	documented := documentedOps(openAPIDoc(t))
	var missing []string
	for _, op := range registeredOps(httpapi.New(httpapi.Config{})) {
		if !slices.Contains(documented, op) {
			missing = append(missing, op)
		}
	}
	if diff := cmp.Diff([]string(nil), missing); diff != "" {
		t.Errorf("routes registered in routes.go but not documented in openapi.json (-want +got):\n%s", diff)
	}
}

// TestOpenAPIOnlyRegisteredRoutes checks that every operation documented
// under /api/v1/ is a registered route, and that the others are served by
// the mux under exactly the documented pattern.
func TestOpenAPIOnlyRegisteredRoutes(t *testing.T) {
	srv := httpapi.New(httpapi.Config{})
	registered := registeredOps(srv)
	documented := documentedOps(openAPIDoc(t))

	var extra, direct []string
	for _, op := range documented {
		switch {
		case slices.Contains(servedDirectly, op):
			direct = append(direct, op)
		case strings.HasPrefix(strings.SplitN(op, " ", 2)[1], "/api/v1/") && !slices.Contains(registered, op):
			extra = append(extra, op)
		}
	}
	if diff := cmp.Diff([]string(nil), extra); diff != "" {
		t.Errorf("operations documented in openapi.json but not registered in routes.go (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(servedDirectly, direct); diff != "" {
		t.Errorf("operations served directly by the mux, documented (-want +got):\n%s", diff)
	}

	// Everything documented outside Routes() must reach its own handler,
	// not a catch-all.
	for _, op := range documented {
		if slices.Contains(registered, op) {
			continue
		}
		method, path, _ := strings.Cut(op, " ")
		req := httptest.NewRequest(method, fillPath(path), nil)
		if _, pattern := srv.Mux().Handler(req); pattern != op {
			t.Errorf("%s is documented but the mux answers it with pattern %q", op, pattern)
		}
	}
}

// TestOpenAPIRefsResolve checks that every $ref points at an existing
// component.
func TestOpenAPIRefsResolve(t *testing.T) {
	doc := openAPIDoc(t)
	var bad []string
	walk(doc, "#", func(at string, m map[string]any) {
		r, ok := m["$ref"]
		if !ok {
			return
		}
		s, _ := r.(string)
		if !strings.HasPrefix(s, "#/components/") {
			bad = append(bad, fmt.Sprintf("%s: $ref %v does not point into #/components/", at, r))
			return
		}
		if _, ok := resolvePointer(doc, s); !ok {
			bad = append(bad, fmt.Sprintf("%s: $ref %s does not resolve", at, s))
		}
	})
	slices.Sort(bad)
	if diff := cmp.Diff([]string(nil), bad); diff != "" {
		t.Errorf("unresolved $refs (-want +got):\n%s", diff)
	}
}

var pathParam = regexp.MustCompile(`\{([^}]*)\}`)

// TestOpenAPIOperations checks that operationIds are present and unique,
// that every path parameter is declared (and nothing else is declared in
// path), that every operation has a summary and responses, and that every
// security requirement names a declared scheme, with one on every
// operation under /api/v1/ but the document itself.
func TestOpenAPIOperations(t *testing.T) {
	doc := openAPIDoc(t)
	paths, _ := doc["paths"].(map[string]any)
	components, _ := doc["components"].(map[string]any)
	schemes, _ := components["securitySchemes"].(map[string]any)
	globalSecurity, _ := doc["security"].([]any)

	var problems []string
	opIDs := map[string]string{}
	for _, path := range sortedKeys(paths) {
		item, _ := paths[path].(map[string]any)
		var want []string
		for _, m := range pathParam.FindAllStringSubmatch(path, -1) {
			want = append(want, m[1])
		}
		slices.Sort(want)
		itemParams := pathParams(t, doc, item["parameters"])
		for _, method := range httpMethods {
			o, ok := item[method].(map[string]any)
			if !ok {
				continue
			}
			op := strings.ToUpper(method) + " " + path

			id, _ := o["operationId"].(string)
			switch {
			case id == "":
				problems = append(problems, op+": no operationId")
			case opIDs[id] != "":
				problems = append(problems, fmt.Sprintf("%s: operationId %q is also used by %s", op, id, opIDs[id]))
			default:
				opIDs[id] = op
			}
			if s, _ := o["summary"].(string); s == "" {
				problems = append(problems, op+": no summary")
			}
			if r, _ := o["responses"].(map[string]any); len(r) == 0 {
				problems = append(problems, op+": no responses")
			}

			declared := map[string]bool{}
			for name := range itemParams {
				declared[name] = true
			}
			for name := range pathParams(t, doc, o["parameters"]) {
				declared[name] = true
			}
			got := sortedKeys(declared)
			if !slices.Equal(want, got) {
				problems = append(problems, fmt.Sprintf("%s: path parameters declared %v, want %v (each in: path, required: true)", op, got, want))
			}

			security, hasOwn := o["security"].([]any)
			if !hasOwn {
				security = globalSecurity
			}
			for _, req := range security {
				for name := range req.(map[string]any) {
					if schemes[name] == nil {
						problems = append(problems, fmt.Sprintf("%s: security scheme %q is not in components.securitySchemes", op, name))
					}
				}
			}
			if strings.HasPrefix(path, "/api/v1/") && path != "/api/v1/openapi.json" && len(security) == 0 {
				problems = append(problems, op+": no security requirement")
			}
		}
	}
	if diff := cmp.Diff([]string(nil), problems); diff != "" {
		t.Errorf("operation problems (-want +got):\n%s", diff)
	}
}

// TestOpenAPIServed checks that the server answers the embedded document.
func TestOpenAPIServed(t *testing.T) {
	ts := httptest.NewServer(httpapi.New(httpapi.Config{}))
	defer ts.Close()
	resp, err := http.Get(ts.URL + "/api/v1/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET /api/v1/openapi.json: status %d, want 200", resp.StatusCode)
	}
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt != "application/json" {
		t.Errorf("GET /api/v1/openapi.json: Content-Type %q, want application/json", resp.Header.Get("Content-Type"))
	}
	if !bytes.Equal(body, httpapi.OpenAPI) {
		t.Errorf("GET /api/v1/openapi.json answered %d bytes that differ from the embedded %d", len(body), len(httpapi.OpenAPI))
	}
}

// registeredOps lists Server.Routes() as sorted "METHOD /path", with Go's
// pattern wildcards {name...} and {$} in OpenAPI's form.
func registeredOps(s *httpapi.Server) []string {
	var out []string
	for _, r := range s.Routes() {
		p := strings.ReplaceAll(r.Path, "{$}", "")
		p = pathParam.ReplaceAllStringFunc(p, func(m string) string { return strings.Replace(m, "...", "", 1) })
		method := r.Method
		if method == "" {
			method = "ANY"
		}
		out = append(out, method+" "+p)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// documentedOps lists the document's operations as sorted "METHOD /path".
func documentedOps(doc map[string]any) []string {
	paths, _ := doc["paths"].(map[string]any)
	var out []string
	for path, item := range paths {
		ops, _ := item.(map[string]any)
		for _, method := range httpMethods {
			if _, ok := ops[method]; ok {
				out = append(out, strings.ToUpper(method)+" "+path)
			}
		}
	}
	slices.Sort(out)
	return out
}

// pathParams returns the names of the in: path parameters of a parameter
// list (resolving $refs), failing on one that is not required.
func pathParams(t *testing.T, doc map[string]any, list any) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	params, _ := list.([]any)
	for _, p := range params {
		m, _ := p.(map[string]any)
		if r, ok := m["$ref"].(string); ok {
			v, _ := resolvePointer(doc, r)
			m, _ = v.(map[string]any)
		}
		if m["in"] != "path" {
			continue
		}
		name, _ := m["name"].(string)
		if m["required"] != true {
			t.Errorf("path parameter %q must have required: true", name)
		}
		out[name] = true
	}
	return out
}

// fillPath replaces each {param} of a path template with a value.
func fillPath(path string) string {
	return pathParam.ReplaceAllString(path, "x")
}

// resolvePointer follows a local JSON pointer ("#/a/b", "#/a/0").
func resolvePointer(doc any, ref string) (any, bool) {
	ptr, ok := strings.CutPrefix(ref, "#")
	if !ok {
		return nil, false
	}
	cur := doc
	for _, tok := range strings.Split(ptr, "/")[1:] {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		switch c := cur.(type) {
		case map[string]any:
			if cur, ok = c[tok]; !ok {
				return nil, false
			}
		case []any:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(c) {
				return nil, false
			}
			cur = c[i]
		default:
			return nil, false
		}
	}
	return cur, true
}

// walk calls f on every object in v, with its JSON pointer.
func walk(v any, at string, f func(at string, m map[string]any)) {
	switch v := v.(type) {
	case map[string]any:
		f(at, v)
		for k, x := range v {
			walk(x, at+"/"+strings.ReplaceAll(strings.ReplaceAll(k, "~", "~0"), "/", "~1"), f)
		}
	case []any:
		for i, x := range v {
			walk(x, fmt.Sprintf("%s/%d", at, i), f)
		}
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// checkDuplicateKeys reports an object that holds a key twice.
func checkDuplicateKeys(data []byte) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	var value func(at string) error
	value = func(at string) error {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		switch tok {
		case json.Delim('{'):
			seen := map[string]bool{}
			for dec.More() {
				k, err := dec.Token()
				if err != nil {
					return err
				}
				key := k.(string)
				if seen[key] {
					return fmt.Errorf("key %q appears twice in %s", key, at)
				}
				seen[key] = true
				if err := value(at + "/" + key); err != nil {
					return err
				}
			}
			_, err = dec.Token()
			return err
		case json.Delim('['):
			for i := 0; dec.More(); i++ {
				if err := value(fmt.Sprintf("%s/%d", at, i)); err != nil {
					return err
				}
			}
			_, err = dec.Token()
			return err
		}
		return nil
	}
	return value("#")
}
