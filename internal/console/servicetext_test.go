package console

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/driverhub/driverhub"
)

// serviceSources are the packages whose messages reach the console: the
// domain, the services and the package checks they run.
var serviceSources = []string{"../..", "../service", "../zippkg"}

// messageSite is a message text found in the sources, and where.
type messageSite struct {
	text, at string
}

// serviceMessageTexts reads the sources and returns every format string
// given to an Errorf/Invalid-style function (one with a "format string"
// parameter followed by "args ...any"), every literal Message of an Error
// or a Problem, and every Word (a NotFound kind, a constant converted to
// or returned as Word). Texts that are not constant are returned as
// problems: the console could not translate them.
func serviceMessageTexts(t *testing.T) (texts []messageSite, problems []string) {
	t.Helper()
	fset := token.NewFileSet()
	var files []*ast.File
	for _, dir := range serviceSources {
		names, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil || len(names) == 0 {
			t.Fatalf("no sources in %s: %v", dir, err)
		}
		for _, name := range names {
			if strings.HasSuffix(name, "_test.go") {
				continue
			}
			f, err := parser.ParseFile(fset, name, nil, parser.SkipObjectResolution)
			if err != nil {
				t.Fatal(err)
			}
			files = append(files, f)
		}
	}
	formatAt, wordAt := messageParams(files)
	for _, f := range files {
		c := &messageCollector{fset: fset, formatAt: formatAt, wordAt: wordAt, imports: importNames(f)}
		ast.Inspect(f, c.visit)
		texts, problems = append(texts, c.texts...), append(problems, c.problems...)
	}
	return texts, problems
}

// messageParams finds the functions (declared, or function literals given
// a name) that take a format, and those that take a Word: their names and
// the index of that parameter.
func messageParams(files []*ast.File) (formatAt, wordAt map[string]int) {
	formatAt, wordAt = map[string]int{}, map[string]int{}
	note := func(name string, ft *ast.FuncType) {
		var params []*ast.Field
		i := 0
		for _, field := range ft.Params.List {
			for range max(1, len(field.Names)) {
				params = append(params, field)
				if isWordType(field.Type) {
					wordAt[name] = i
				}
				i++
			}
		}
		for i, p := range params {
			if len(p.Names) > 0 && slices.ContainsFunc(p.Names, func(n *ast.Ident) bool { return n.Name == "format" }) &&
				i+1 < len(params) && isVariadicAny(params[i+1].Type) {
				formatAt[name] = i
			}
		}
	}
	for _, f := range files {
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.FuncDecl:
				note(n.Name.Name, n.Type)
			case *ast.AssignStmt:
				for i, rhs := range n.Rhs {
					if lit, ok := rhs.(*ast.FuncLit); ok && i < len(n.Lhs) {
						if id, ok := n.Lhs[i].(*ast.Ident); ok {
							note(id.Name, lit.Type)
						}
					}
				}
			}
			return true
		})
	}
	return formatAt, wordAt
}

func isWordType(e ast.Expr) bool {
	switch e := e.(type) {
	case *ast.Ident:
		return e.Name == "Word"
	case *ast.SelectorExpr:
		return e.Sel.Name == "Word"
	}
	return false
}

func isVariadicAny(e ast.Expr) bool {
	el, ok := e.(*ast.Ellipsis)
	if !ok {
		return false
	}
	id, ok := el.Elt.(*ast.Ident)
	return ok && id.Name == "any"
}

// importNames are the names a file calls its imports by.
func importNames(f *ast.File) map[string]bool {
	out := map[string]bool{}
	for _, imp := range f.Imports {
		path, _ := strconv.Unquote(imp.Path.Value)
		name := path[strings.LastIndex(path, "/")+1:]
		if imp.Name != nil {
			name = imp.Name.Name
		}
		out[name] = true
	}
	return out
}

type messageCollector struct {
	fset             *token.FileSet
	formatAt, wordAt map[string]int
	imports          map[string]bool
	texts            []messageSite
	problems         []string
	wordResults      bool // inside a function returning a Word
}

func (c *messageCollector) visit(n ast.Node) bool {
	switch n := n.(type) {
	case *ast.FuncDecl:
		c.wordResults = n.Type.Results != nil && slices.ContainsFunc(n.Type.Results.List, func(f *ast.Field) bool { return isWordType(f.Type) })
	case *ast.ReturnStmt:
		if c.wordResults {
			for _, r := range n.Results {
				if s, ok := constString(r); ok && s != "" {
					c.add(s, r)
				}
			}
		}
	case *ast.CallExpr:
		c.call(n)
	case *ast.CompositeLit:
		c.literal(n)
	}
	return true
}

func (c *messageCollector) call(n *ast.CallExpr) {
	var name string
	switch fn := n.Fun.(type) {
	case *ast.Ident:
		name = fn.Name
	case *ast.SelectorExpr:
		if x, ok := fn.X.(*ast.Ident); ok && c.imports[x.Name] && x.Name != "driverhub" {
			return // fmt.Errorf and the like: not the domain's messages
		}
		name = fn.Sel.Name
	default:
		return
	}
	if name == "Word" && len(n.Args) == 1 {
		c.need(n.Args[0], "a Word conversion")
		return
	}
	if i, ok := c.formatAt[name]; ok && i < len(n.Args) {
		if id, ok := n.Args[i].(*ast.Ident); ok && id.Name == "format" {
			return // a format passed on
		}
		c.need(n.Args[i], "the format of "+name)
	}
	if i, ok := c.wordAt[name]; ok && i < len(n.Args) {
		if _, ok := n.Args[i].(*ast.Ident); ok {
			return // a Word passed on
		}
		c.need(n.Args[i], "the Word argument of "+name)
	}
}

func (c *messageCollector) literal(n *ast.CompositeLit) {
	var typ string
	switch t := n.Type.(type) {
	case *ast.Ident:
		typ = t.Name
	case *ast.SelectorExpr:
		typ = t.Sel.Name
	}
	if typ != "Error" && typ != "Problem" {
		return
	}
	for _, el := range n.Elts {
		kv, ok := el.(*ast.KeyValueExpr)
		if !ok {
			continue
		}
		if k, ok := kv.Key.(*ast.Ident); !ok || k.Name != "Message" {
			continue
		}
		switch v := kv.Value.(type) {
		case *ast.Ident, *ast.SelectorExpr:
			continue // a message copied from another error
		case *ast.CallExpr:
			if passesFormatOn(v) {
				continue // a constructor formatting what it was given
			}
			if sel, ok := v.Fun.(*ast.SelectorExpr); ok && sel.Sel.Name == "Error" {
				continue // another error's text: shown as an internal error
			}
		}
		c.need(kv.Value, "the Message of an "+typ)
	}
}

// passesFormatOn reports fmt.Sprintf(format, ...): a constructor's own.
func passesFormatOn(call *ast.CallExpr) bool {
	sel, ok := call.Fun.(*ast.SelectorExpr)
	if !ok || sel.Sel.Name != "Sprintf" || len(call.Args) == 0 {
		return false
	}
	id, ok := call.Args[0].(*ast.Ident)
	return ok && id.Name == "format"
}

// need collects e as a text when it is constant, or notes a problem.
func (c *messageCollector) need(e ast.Expr, what string) {
	if s, ok := constString(e); ok {
		c.add(s, e)
		return
	}
	c.problems = append(c.problems, fmt.Sprintf("%s: %s is not a constant string: the console cannot translate it", c.fset.Position(e.Pos()), what))
}

func (c *messageCollector) add(s string, e ast.Expr) {
	c.texts = append(c.texts, messageSite{s, c.fset.Position(e.Pos()).String()})
}

// constString evaluates a string literal or a sum of them.
func constString(e ast.Expr) (string, bool) {
	switch e := e.(type) {
	case *ast.BasicLit:
		if e.Kind != token.STRING {
			return "", false
		}
		s, err := strconv.Unquote(e.Value)
		return s, err == nil
	case *ast.BinaryExpr:
		if e.Op != token.ADD {
			return "", false
		}
		a, ok1 := constString(e.X)
		b, ok2 := constString(e.Y)
		return a + b, ok1 && ok2
	case *ast.ParenExpr:
		return constString(e.X)
	}
	return "", false
}

// TestEveryServiceMessageIsTranslated fails for a message of the services
// that the Chinese console cannot show in Chinese: one missing from the
// catalogue (servicemessages.go), or one built so that it cannot be looked
// up. Set DUMP_SERVICE_MESSAGES=1 to print the missing ones as Go source.
func TestEveryServiceMessageIsTranslated(t *testing.T) {
	texts, problems := serviceMessageTexts(t)
	for _, p := range problems {
		t.Error(p)
	}
	if len(texts) < 150 {
		t.Fatalf("found %d messages in %v: the scan is broken", len(texts), serviceSources)
	}
	seen := map[string]bool{}
	for _, m := range texts {
		if _, ok := serviceMessages[m.text]; ok || seen[m.text] {
			continue
		}
		seen[m.text] = true
		if os.Getenv("DUMP_SERVICE_MESSAGES") != "" {
			fmt.Printf("\t%q: \"\",\n", m.text)
			continue
		}
		t.Errorf("%s: %q has no Chinese translation in serviceMessages", m.at, m.text)
	}
}

var verb = regexp.MustCompile(`%(\[\d+\])?[-+# 0]*\d*(\.\d+)?[a-zA-Z%]`)

// TestServiceMessagesFormatTheirArguments checks each translation against
// its English format: it must use every argument the English uses, with a
// verb that formats it (no %!), and be Chinese, not a copy.
func TestServiceMessagesFormatTheirArguments(t *testing.T) {
	for en, zh := range serviceMessages {
		if zh == "" || zh == en {
			t.Errorf("%q: no translation", en)
			continue
		}
		var args []any
		var want []string
		for i, v := range verb.FindAllString(en, -1) {
			switch v[len(v)-1] {
			case '%':
				continue
			case 'd':
				args, want = append(args, 7000+i), append(want, fmt.Sprint(7000+i))
			case 'X':
				args, want = append(args, 0xA000+i), append(want, fmt.Sprintf("%X", 0xA000+i))
			default:
				args, want = append(args, fmt.Sprintf("«%d»", i)), append(want, fmt.Sprintf("«%d»", i))
			}
		}
		got := fmt.Sprintf(zh, args...)
		if strings.Contains(got, "%!") {
			t.Errorf("%q → %q: %s", en, zh, got)
		}
		for _, w := range want {
			if !strings.Contains(got, w) {
				t.Errorf("%q → %q leaves out argument %s: %s", en, zh, w, got)
			}
		}
	}
}

// TestLocalize: a Chinese copy of an error, its problems' messages
// included and its vocabulary translated; the error itself unchanged (a
// service may return a shared one); English and unknown formats as sent.
func TestLocalize(t *testing.T) {
	e := driverhub.Invalid("cpu_arch", "is required when runtime is %s: one of %s", driverhub.RuntimeC, "armv7, x86")
	e.Problems = []driverhub.Problem{e.Problem(""), driverhub.NotFound("driver", "modbus").Problem("")}
	zh := localize("zh-CN", e)
	if zh.Message != "语言类型为 C 时必填：可选 armv7, x86" || zh.Problems[1].Message != `未找到驱动 "modbus"` {
		t.Errorf("Chinese: %q, %q", zh.Message, zh.Problems[1].Message)
	}
	if e.Message != "is required when runtime is c: one of armv7, x86" || e.Problems[1].Message != `driver "modbus" not found` {
		t.Errorf("the original changed: %q, %q", e.Message, e.Problems[1].Message)
	}
	if en := localize("en", e); en != e {
		t.Error("English is not the error as sent")
	}
	other := driverhub.Errorf(driverhub.EInvalid, "a message no catalogue has: %d", 3)
	if got := localize("zh-CN", other).Message; got != "a message no catalogue has: 3" {
		t.Errorf("unknown format: %q", got)
	}
	if got := localize("zh-CN", driverhub.ErrNotFound).Message; got != "未找到" {
		t.Errorf("a constant message: %q", got)
	}
}

func TestFieldLabel(t *testing.T) {
	for _, tt := range []struct{ lang, field, want string }{
		{"zh-CN", "container.port_mappings[0].host_port", "容器配置 › 网络端口映射（第1条） › 宿主机端口"},
		{"zh-CN", "tags.site", "标签 › site"},
		{"zh-CN", "driver_config.json.a[x]", "驱动配置 › JSON › a[x]"},
		{"en", "container.port_mappings[0].host_port", "container.port_mappings[0].host_port"},
	} {
		if got := fieldLabel(tt.lang, tt.field); got != tt.want {
			t.Errorf("fieldLabel(%s, %q) = %q, want %q", tt.lang, tt.field, got, tt.want)
		}
	}
}
