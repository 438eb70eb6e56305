package zippkg

import (
	"errors"
	"strings"
)

type kind uint8

const (
	kindDir kind = iota
	kindFile
	kindLink
)

// node is a path of the package. The tree catches duplicates and entries
// nested under files or symlinks, and lets symlinks be resolved the way the
// kernel will resolve them after unpacking.
type node struct {
	parent   *node
	kids     map[string]*node
	order    []string // kid names in zip order, for deterministic messages
	kind     kind
	explicit bool   // has its own zip entry (directories may be implied)
	target   string // symlink target

	// Memoized resolution of a symlink, so each link is walked once even
	// when many links go through it.
	state    uint8 // 0 not resolved, 1 in progress, 2 done
	resolved pos
	err      error
}

// pos is a place reached while resolving a link: a node of the tree, or
// virt levels below it in directories the package does not contain.
type pos struct {
	n    *node
	virt int
}

var (
	errEscape = errors.New("escapes the package")
	errLoop   = errors.New("symlink loop")
)

func newRoot() *node { return &node{kind: kindDir, explicit: true} }

// insert adds a clean, relative path (checked by checkName).
func (root *node) insert(name string, k kind, target string) error {
	segs := strings.Split(name, "/")
	n := root
	for i, seg := range segs[:len(segs)-1] {
		c := n.kids[seg]
		if c == nil {
			c = n.add(seg, kindDir)
		} else if c.kind != kindDir {
			// Writing under a symlink would write outside the tree.
			what := "a file"
			if c.kind == kindLink {
				what = "a symlink"
			}
			return invalid("entry %q is inside %q, which is %s", name, strings.Join(segs[:i+1], "/"), what)
		}
		n = c
	}
	last := segs[len(segs)-1]
	c := n.kids[last]
	switch {
	case c == nil:
		c = n.add(last, k)
	case c.explicit:
		return invalid("entry %q appears more than once in the package", name)
	case k != kindDir:
		return invalid("entry %q is a file or symlink, but other entries are inside it", name)
	}
	c.explicit, c.target = true, target
	return nil
}

func (n *node) add(name string, k kind) *node {
	if n.kids == nil {
		n.kids = make(map[string]*node)
	}
	c := &node{parent: n, kind: k}
	n.kids[name] = c
	n.order = append(n.order, name)
	return c
}

// checkLink verifies that the symlink at name resolves inside the package.
func (root *node) checkLink(name, target string) error {
	n := root
	for _, seg := range strings.Split(name, "/") {
		n = n.kids[seg]
	}
	if _, err := n.resolve(); err != nil {
		if errors.Is(err, errLoop) {
			return invalid("symlink %q points to %q, which leads into a symlink loop", name, target)
		}
		return invalid("symlink %q points to %q, which resolves outside the package; links must stay inside it", name, target)
	}
	return nil
}

// resolve follows a symlink node to where the kernel would end up.
// Components the package does not hold are treated as directories a driver
// might create later, so ".." through them is still counted.
func (l *node) resolve() (pos, error) {
	switch l.state {
	case 1:
		return pos{}, errLoop
	case 2:
		return l.resolved, l.err
	}
	l.state = 1
	p, err := walk(pos{n: l.parent}, l.target)
	l.state, l.resolved, l.err = 2, p, err
	return p, err
}

func walk(p pos, target string) (pos, error) {
	for _, seg := range strings.Split(target, "/") {
		switch {
		case seg == "" || seg == ".":
		case seg == "..":
			switch {
			case p.virt > 0:
				p.virt--
			case p.n.parent == nil:
				return pos{}, errEscape
			default:
				p.n = p.n.parent
			}
		case p.virt > 0:
			p.virt++
		default:
			c := p.n.kids[seg]
			switch {
			case c == nil:
				p.virt = 1
			case c.kind == kindLink:
				r, err := c.resolve()
				if err != nil {
					return pos{}, err
				}
				p = r
			default:
				p.n = c
			}
		}
	}
	return p, nil
}
