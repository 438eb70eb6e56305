// Package zippkg checks driver packages and unpacks them safely. The server
// runs Check on upload and the edge agent runs Unpack on deploy, so both sides
// apply exactly the same rules (SPEC.md §3, "Package").
package zippkg

import (
	"archive/zip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"

	"github.com/driverhub/driverhub"
)

// MaxLinkTarget bounds the content of a symlink entry: a link target is a
// path, never data, so anything longer is a mistake or an attack.
const MaxLinkTarget = 1024

// Limits bound a package. A zero field means the default for that field.
type Limits struct {
	MaxBytes    int64 // compressed size of the zip
	MaxEntries  int   // entries in the central directory
	MaxUnpacked int64 // bytes once unpacked
}

// DefaultLimits returns the SPEC's limits: 50 MiB compressed, 10,000 entries
// and 512 MiB uncompressed.
func DefaultLimits() Limits {
	return Limits{
		MaxBytes:    driverhub.MaxPackageBytes,
		MaxEntries:  driverhub.MaxPackageEntries,
		MaxUnpacked: driverhub.MaxPackageUnpacked,
	}
}

func (l Limits) orDefault() Limits {
	d := DefaultLimits()
	if l.MaxBytes <= 0 {
		l.MaxBytes = d.MaxBytes
	}
	if l.MaxEntries <= 0 {
		l.MaxEntries = d.MaxEntries
	}
	if l.MaxUnpacked <= 0 {
		l.MaxUnpacked = d.MaxUnpacked
	}
	return l
}

// Summary describes an accepted package.
type Summary struct {
	Entries       int   // zip entries, directories included
	UnpackedBytes int64 // sum of the declared uncompressed sizes
}

// Check verifies a driver package for a runtime read from r of the given
// size: its structure, then every entry's contents (see content.go). Every
// refusal is a *driverhub.Error on field "package" (or "runtime") whose
// message names the entry at fault.
func Check(r io.ReaderAt, size int64, runtime driverhub.Runtime, lim Limits) (Summary, error) {
	p, err := check(r, size, runtime, lim)
	if err != nil {
		return Summary{}, err
	}
	if err := verifyContents(r, size, p.entries, nil); err != nil {
		return Summary{}, err
	}
	return p.sum, nil
}

// Check is the package Check for the bytes written to the scanner, which
// r holds: it checks the structure, waits for the scan to end, and checks
// the contents, reading again only what the scan could not vouch for. The
// scan ends with it.
func (s *Scanner) Check(r io.ReaderAt, size int64, runtime driverhub.Runtime) (Summary, error) {
	p, err := check(r, size, runtime, s.lim)
	if err != nil {
		s.Stop()
		return Summary{}, err
	}
	if err := verifyContents(r, size, p.entries, s.finish()); err != nil {
		return Summary{}, err
	}
	return p.sum, nil
}

// entry is one checked zip entry.
type entry struct {
	f    *zip.File
	name string // without the trailing "/" of directories
	kind kind
	exec bool   // a regular file with an executable bit
	link string // target of a symlink
}

// pkg is a checked package, ready to unpack.
type pkg struct {
	sum     Summary
	entries []entry
	root    *node
}

func check(r io.ReaderAt, size int64, runtime driverhub.Runtime, lim Limits) (*pkg, error) {
	lim = lim.orDefault()
	entryFile := runtime.EntryFile()
	if entryFile == "" {
		return nil, driverhub.Invalid("runtime", "unknown runtime %q: want one of %s", runtime, driverhub.Words(driverhub.AllRuntimes))
	}
	if size > lim.MaxBytes {
		e := driverhub.Errorf(driverhub.ETooLarge, "the package is %d bytes; the limit is %d bytes (%s)", size, lim.MaxBytes, mib(lim.MaxBytes))
		e.Field = "package"
		return nil, e
	}
	zr, err := zip.NewReader(r, size)
	// ErrInsecurePath comes with a usable reader; our own rules below say
	// more precisely which entry is wrong.
	if err != nil && !errors.Is(err, zip.ErrInsecurePath) {
		if errors.Is(err, zip.ErrFormat) {
			return nil, invalid("the package is not a valid zip file")
		}
		return nil, invalid("the package is not a valid zip file (%v)", err)
	}
	if n := len(zr.File); n > lim.MaxEntries {
		return nil, invalid("the package has %d entries; the limit is %d", n, lim.MaxEntries)
	}

	p := &pkg{root: newRoot(), entries: make([]entry, 0, len(zr.File))}
	var declared uint64
	for i, f := range zr.File {
		e, err := checkEntry(i, f)
		if err != nil {
			return nil, err
		}
		// Compare without overflow: declared never exceeds MaxUnpacked here.
		if f.UncompressedSize64 > uint64(lim.MaxUnpacked)-declared {
			return nil, invalid("the package unpacks to more than %d bytes (%s), the limit, once entry %q is counted",
				lim.MaxUnpacked, mib(lim.MaxUnpacked), f.Name)
		}
		declared += f.UncompressedSize64
		if err := p.root.insert(e.name, e.kind, e.link); err != nil {
			return nil, err
		}
		p.entries = append(p.entries, e)
	}
	for _, e := range p.entries {
		if e.kind == kindLink {
			if err := p.root.checkLink(e.name, e.link); err != nil {
				return nil, err
			}
		}
	}
	if err := checkEntryFile(p.root, runtime, entryFile); err != nil {
		return nil, err
	}
	p.sum = Summary{Entries: len(zr.File), UnpackedBytes: int64(declared)}
	return p, nil
}

func checkEntry(i int, f *zip.File) (entry, error) {
	name := f.Name
	if err := checkName(i, name); err != nil {
		return entry{}, err
	}
	if f.Flags&0x1 != 0 {
		return entry{}, invalid("entry %q is encrypted; packages must not be password-protected", name)
	}
	if f.Method != zip.Store && f.Method != zip.Deflate {
		return entry{}, invalid("entry %q uses compression method %d; only store (0) and deflate (8) are supported", name, f.Method)
	}
	mode := f.Mode()
	e := entry{f: f, name: strings.TrimSuffix(name, "/")}
	switch {
	case strings.HasSuffix(name, "/") || mode.IsDir():
		// A trailing "/" or a directory mode both mean a directory, but
		// nothing else may be mixed in.
		if mode.Type() != fs.ModeDir && mode.Type() != 0 {
			return entry{}, invalid("entry %q is a directory but its mode says %s", name, describe(mode))
		}
		e.kind = kindDir
	case mode&fs.ModeSymlink != 0:
		if mode.Type() != fs.ModeSymlink {
			return entry{}, invalid("entry %q has an inconsistent mode (%s)", name, describe(mode))
		}
		target, err := readLink(f)
		if err != nil {
			return entry{}, err
		}
		e.kind, e.link = kindLink, target
	case mode.IsRegular():
		e.kind, e.exec = kindFile, mode&0o111 != 0
	default:
		return entry{}, invalid("entry %q is %s; only regular files, directories and symlinks are allowed", name, describe(mode))
	}
	return e, nil
}

// checkName applies the path rules. Names must already be clean: accepting
// "a//b" or "./a" would let two spellings of one path slip past the
// duplicate check.
func checkName(i int, name string) error {
	switch {
	case name == "" || name == "/":
		return invalid("entry #%d has an empty name", i+1)
	case strings.IndexByte(name, 0) >= 0:
		return invalid("entry %q has a NUL byte in its name", name)
	case strings.Contains(name, `\`):
		return invalid("entry %q contains a backslash; zip paths must use forward slashes (/)", name)
	case name[0] == '/':
		return invalid("entry %q is an absolute path; paths must be relative to the package root", name)
	case hasDriveLetter(name):
		return invalid("entry %q starts with a drive letter; paths must be relative to the package root", name)
	}
	for _, seg := range strings.Split(strings.TrimSuffix(name, "/"), "/") {
		switch seg {
		case "..":
			return invalid("entry %q has a \"..\" segment, which points outside the package", name)
		case "", ".":
			return invalid("entry %q is not a clean path (it has an empty or \".\" segment)", name)
		}
	}
	return nil
}

func hasDriveLetter(s string) bool {
	if len(s) < 2 || s[1] != ':' {
		return false
	}
	c := s[0] | 0x20 // lower case
	return 'a' <= c && c <= 'z'
}

// readLink reads a symlink entry's target, never more than MaxLinkTarget
// bytes whatever the header claims.
func readLink(f *zip.File) (string, error) {
	if f.UncompressedSize64 > MaxLinkTarget {
		return "", invalid("symlink %q has a target of %d bytes; the limit is %d", f.Name, f.UncompressedSize64, MaxLinkTarget)
	}
	rc, err := f.Open()
	if err != nil {
		return "", invalid("symlink %q cannot be read: %v", f.Name, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, MaxLinkTarget+1))
	if err != nil {
		return "", invalid("symlink %q is corrupt: %v", f.Name, err)
	}
	if len(b) > MaxLinkTarget {
		return "", invalid("symlink %q has a target longer than %d bytes", f.Name, MaxLinkTarget)
	}
	t := string(b)
	switch {
	case t == "":
		return "", invalid("symlink %q has an empty target", f.Name)
	case strings.IndexByte(t, 0) >= 0:
		return "", invalid("symlink %q has a NUL byte in its target", f.Name)
	case strings.Contains(t, `\`):
		return "", invalid("symlink %q points to %q, which contains a backslash; use forward slashes (/)", f.Name, t)
	case t[0] == '/' || hasDriveLetter(t):
		return "", invalid("symlink %q points to the absolute path %q; links must be relative and stay inside the package", f.Name, t)
	}
	return t, nil
}

func checkEntryFile(root *node, runtime driverhub.Runtime, file string) error {
	n := root.kids[file]
	switch {
	case n == nil:
	case n.kind == kindFile:
		return nil
	case n.kind == kindLink:
		return invalid("the entry file %q is a symlink; it must be a regular file at the top level of the package", file)
	default:
		return invalid("the entry file %q is a directory; it must be a regular file at the top level of the package", file)
	}
	// The usual mistake is zipping the folder instead of its contents.
	for _, name := range root.order {
		if d := root.kids[name]; d.kind == kindDir && d.kids[file] != nil {
			return invalid("the package has no %q at its top level, but %q was found: zip the contents of the folder %q, not the folder itself",
				file, name+"/"+file, name)
		}
	}
	return invalid("the package has no %q at its top level; the %s runtime starts the driver from it", file, runtime)
}

func invalid(format string, args ...any) *driverhub.Error {
	return driverhub.Invalid("package", format, args...)
}

// mib renders a byte count in MiB for messages.
func mib(n int64) string {
	if n%(1<<20) == 0 {
		return fmt.Sprintf("%d MiB", n>>20)
	}
	return fmt.Sprintf("%.2f MiB", float64(n)/(1<<20))
}

func describe(m fs.FileMode) string {
	switch t := m.Type(); {
	case t&fs.ModeNamedPipe != 0:
		return "a named pipe"
	case t&fs.ModeSocket != 0:
		return "a socket"
	case t&fs.ModeCharDevice != 0:
		return "a character device"
	case t&fs.ModeDevice != 0:
		return "a device"
	case t&fs.ModeIrregular != 0:
		return "an irregular file"
	default:
		return "mode " + m.String()
	}
}
