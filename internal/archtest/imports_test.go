// Package archtest holds the project's own rules as tests: which package
// may import which (the layers of the house rules), and how long files and
// functions may grow. It has no code of its own.
package archtest

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"maps"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/driverhub/driverhub"

// pkg is one package of `go list -deps -json`, production files only.
type pkg struct {
	ImportPath string
	Standard   bool
	Imports    []string
}

// packages lists the module's packages and everything they import, by
// import path.
func packages(t *testing.T) map[string]*pkg {
	t.Helper()
	cmd := exec.Command("go", "list", "-deps", "-json=ImportPath,Standard,Imports", module+"/...")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v: %s", err, stderr.Bytes())
	}
	pkgs := map[string]*pkg{}
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		p := &pkg{}
		if err := dec.Decode(p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("go list output: %v", err)
		}
		pkgs[p.ImportPath] = p
	}
	return pkgs
}

// short names a package of the module by its path inside it.
func short(path string) string {
	if path == module {
		return "driverhub (the root package)"
	}
	return strings.TrimPrefix(path, module+"/")
}

// within matches a package and the packages below it.
func within(paths ...string) func(string) bool {
	return func(p string) bool {
		for _, path := range paths {
			if p == path || strings.HasPrefix(p, path+"/") {
				return true
			}
		}
		return false
	}
}

// inModule returns the import paths of the module's packages given by
// their path inside it.
func inModule(names ...string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = module + "/" + n
	}
	return out
}

var (
	client = module + "/internal/httpapi/client"
	// apierror is the API's error wire format, on the standard library and
	// the domain alone: the client, the agent and the console share it.
	apierror = module + "/internal/httpapi/apierror"
	adapters = inModule("internal/sqlstore", "internal/sqlite", "internal/postgres", "internal/fsblob", "internal/s3blob")
	handlers = inModule("internal/httpapi", "internal/console", "internal/server")
	// serverSide is what only the control plane runs on: its storage,
	// service, handlers and their heavy dependencies.
	serverSide = within(slices.Concat(adapters, handlers, inModule("internal/service"),
		[]string{"modernc.org/sqlite", "github.com/jackc/pgx", "github.com/prometheus"})...)
)

// forbidden finds the packages that from reaches, directly or not, and
// that bad matches, with the chain of imports leading to each. The search
// stops at a bad package (what it imports is its own rule's business) and
// at the standard library.
func forbidden(pkgs map[string]*pkg, from string, bad func(string) bool) map[string][]string {
	found := map[string][]string{}
	chain := map[string][]string{from: {from}}
	queue := []string{from}
	for len(queue) > 0 {
		p := pkgs[queue[0]]
		queue = queue[1:]
		if p == nil {
			continue
		}
		for _, imp := range p.Imports {
			if _, seen := chain[imp]; seen {
				continue
			}
			chain[imp] = append(slices.Clone(chain[p.ImportPath]), imp)
			switch {
			case imp != client && imp != apierror && bad(imp):
				found[imp] = chain[imp]
			case pkgs[imp] == nil || !pkgs[imp].Standard:
				queue = append(queue, imp) // the standard library imports only itself
			}
		}
	}
	return found
}

// TestImports checks the layers: the domain on the standard library, the
// service on the domain, adapters and handlers around the service, and an
// agent binary free of the server's weight.
func TestImports(t *testing.T) {
	pkgs := packages(t)
	notStd := func(p string) bool { return pkgs[p] == nil || !pkgs[p].Standard }
	rules := []struct {
		name string
		from []string
		bad  func(string) bool
		why  string
	}{
		{"domain", []string{module}, notStd,
			"the root package holds the domain on the standard library alone"},
		{"agent", []string{module + "/cmd/driverhub-agent"}, serverSide,
			"the edge agent binary carries none of the server's storage, service, console or API server"},
		{"service", inModule("internal/service"), within(slices.Concat(adapters, handlers)...),
			"the service holds the business rules over the domain's interfaces, not over an adapter or handler"},
		{"adapters", adapters, within(slices.Concat(handlers, inModule("internal/service"))...),
			"adapters store; they call neither the service nor a handler"},
		{"console", inModule("internal/console"), within(module + "/internal/httpapi"),
			"the console translates to the services itself, not through the REST API's handlers"},
		{"client", []string{client, apierror}, func(p string) bool { return p != module && notStd(p) },
			"the API client and its error format (shared by the CLI, the agent and the console) need only the standard library and the domain"},
	}
	for _, r := range rules {
		t.Run(r.name, func(t *testing.T) {
			for _, from := range r.from {
				if pkgs[from] == nil {
					t.Errorf("%s: no such package (the rule names a package that moved?)", short(from))
					continue
				}
				found := forbidden(pkgs, from, r.bad)
				for _, imp := range slices.Sorted(maps.Keys(found)) {
					t.Errorf("%s imports %s%s: %s", short(from), short(imp), via(found[imp]), r.why)
				}
			}
		})
	}
}

// via describes an indirect import's chain, " (via a → b)"; "" for a
// direct one.
func via(chain []string) string {
	if len(chain) <= 2 {
		return ""
	}
	names := make([]string, len(chain)-2)
	for i, c := range chain[1 : len(chain)-1] {
		names[i] = short(c)
	}
	return " (via " + strings.Join(names, " → ") + ")"
}
