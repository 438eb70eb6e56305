package archtest

import (
	"bytes"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The house rules' sizes for production code: a file longer, or a
// function longer, is doing several things and wants splitting.
const (
	maxFileLines = 500
	maxFuncLines = 80 // from the func line to the closing brace
)

// moduleRoot is the directory of the module's go.mod.
func moduleRoot(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil || len(bytes.TrimSpace(out)) == 0 {
		t.Fatalf("go env GOMOD: %v %q", err, out)
	}
	return filepath.Dir(string(bytes.TrimSpace(out)))
}

// testSupport reports whether a package directory holds code that only
// tests import (storetest, blobtest, apitest, pgtest, s3test, testenv):
// tests in all but file name, exempt like them.
func testSupport(dir string) bool {
	return strings.HasSuffix(dir, "test") || dir == "testenv"
}

// productionFiles lists the module's non-test Go files, relative to root,
// skipping what the go tool skips (testdata, and names starting with . or _).
func productionFiles(t *testing.T, root string) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if path != root && (name == "testdata" || name == "vendor" || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") ||
				testSupport(name)) {
				return filepath.SkipDir
			}
			return nil
		}
		if strings.HasSuffix(name, ".go") && !strings.HasSuffix(name, "_test.go") {
			rel, err := filepath.Rel(root, path)
			files = append(files, rel)
			return err
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// sizeViolations returns, for one file, every way it breaks the sizes.
func sizeViolations(fset *token.FileSet, rel string, src []byte) ([]string, error) {
	var out []string
	lines := bytes.Count(src, []byte("\n"))
	if len(src) > 0 && !bytes.HasSuffix(src, []byte("\n")) {
		lines++ // the last line has no newline
	}
	if lines > maxFileLines {
		out = append(out, fmt.Sprintf("%s: %d lines, more than %d", rel, lines, maxFileLines))
	}
	f, err := parser.ParseFile(fset, rel, src, parser.SkipObjectResolution)
	if err != nil {
		return nil, err
	}
	if ast.IsGenerated(f) {
		return nil, nil
	}
	for _, d := range f.Decls {
		fn, ok := d.(*ast.FuncDecl)
		if !ok || fn.Body == nil {
			continue
		}
		start, end := fset.Position(fn.Pos()).Line, fset.Position(fn.End()).Line
		if n := end - start + 1; n > maxFuncLines {
			out = append(out, fmt.Sprintf("%s:%d: func %s: %d lines, more than %d", rel, start, funcName(fn), n, maxFuncLines))
		}
	}
	return out, nil
}

// funcName is a function's name, with its receiver's type for a method.
func funcName(fn *ast.FuncDecl) string {
	if fn.Recv == nil || len(fn.Recv.List) == 0 {
		return fn.Name.Name
	}
	typ := fn.Recv.List[0].Type
	if star, ok := typ.(*ast.StarExpr); ok {
		typ = star.X
	}
	switch x := typ.(type) {
	case *ast.IndexExpr: // a generic receiver, T[P]
		typ = x.X
	case *ast.IndexListExpr:
		typ = x.X
	}
	if id, ok := typ.(*ast.Ident); ok {
		return "(" + id.Name + ")." + fn.Name.Name
	}
	return fn.Name.Name
}

// TestSizes checks that no production file is over 500 lines and no
// function over 80, listing every offender at once. Tests are exempt:
// a table of cases reads best in one piece.
func TestSizes(t *testing.T) {
	root := moduleRoot(t)
	fset := token.NewFileSet()
	var violations []string
	for _, rel := range productionFiles(t, root) {
		src, err := os.ReadFile(filepath.Join(root, rel))
		if err != nil {
			t.Fatal(err)
		}
		v, err := sizeViolations(fset, rel, src)
		if err != nil {
			t.Fatal(err)
		}
		violations = append(violations, v...)
	}
	if len(violations) > 0 {
		t.Errorf("%d production files or functions are over the house sizes (files ≤ %d lines, functions ≤ %d):\n\t%s",
			len(violations), maxFileLines, maxFuncLines, strings.Join(violations, "\n\t"))
	}
}

// TestSizesCount checks the counting on made-up files: the limits are
// inclusive, a function counts from its func line to its closing brace,
// and a method is named by its receiver.
func TestSizesCount(t *testing.T) {
	body := func(n int) string { // a function of n lines
		return "func f() {\n" + strings.Repeat("\t_ = 0\n", n-2) + "}\n"
	}
	method := "// A doc comment is not counted.\nfunc (s *S[T]) m() {\n" + strings.Repeat("\n", maxFuncLines-1) + "}\n"
	for _, tc := range []struct {
		name, src string
		want      []string
	}{
		{"function at the limit", "package p\n" + body(maxFuncLines), nil},
		{"function over", "package p\n" + body(maxFuncLines+1), []string{"f.go:2: func f: 81 lines, more than 80"}},
		{"method over", "package p\n" + method, []string{"f.go:3: func (S).m: 81 lines, more than 80"}},
		{"file at the limit", "package p\n" + strings.Repeat("\n", maxFileLines-1), nil},
		{"file over, last line unterminated", "package p\n" + strings.Repeat("\n", maxFileLines-1) + "var x = 1",
			[]string{"f.go: 501 lines, more than 500"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := sizeViolations(token.NewFileSet(), "f.go", []byte(tc.src))
			if err != nil {
				t.Fatal(err)
			}
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}
