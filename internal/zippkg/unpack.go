package zippkg

import (
	"archive/zip"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/driverhub/driverhub"
)

// Unpack runs the same checks as Check and extracts the package into dir,
// which must not exist yet. It extracts into a temporary sibling directory
// and renames it to dir at the end, so dir is either complete or absent.
//
// It counts the bytes really written (headers can lie) and stops past
// MaxUnpacked, keeps executable bits (files are otherwise 0644, directories
// 0755) and creates symlinks only when they resolve inside dir.
func Unpack(r io.ReaderAt, size int64, runtime driverhub.Runtime, lim Limits, dir string) error {
	p, err := check(r, size, runtime, lim)
	if err != nil {
		return err
	}
	lim = lim.orDefault()
	if _, err := os.Lstat(dir); err == nil {
		return fmt.Errorf("zippkg: unpack: %s already exists", dir)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("zippkg: unpack: %w", err)
	}
	dir = filepath.Clean(dir)
	tmp, err := os.MkdirTemp(filepath.Dir(dir), "."+filepath.Base(dir)+".unpack-")
	if err != nil {
		return fmt.Errorf("zippkg: unpack: %w", err)
	}
	if err := extract(p, tmp, lim.MaxUnpacked); err != nil {
		os.RemoveAll(tmp)
		return err
	}
	// MkdirTemp made it 0700.
	if err := os.Chmod(tmp, 0o755); err != nil {
		os.RemoveAll(tmp)
		return fmt.Errorf("zippkg: unpack: %w", err)
	}
	if err := os.Rename(tmp, dir); err != nil {
		os.RemoveAll(tmp)
		return fmt.Errorf("zippkg: unpack: %w", err)
	}
	return nil
}

// extract writes a checked package under tmp. Everything goes through an
// os.Root, so even a bug in the checks cannot write outside tmp, and symlinks
// are created last so no file is ever written through one.
func extract(p *pkg, tmp string, maxBytes int64) error {
	root, err := os.OpenRoot(tmp)
	if err != nil {
		return fmt.Errorf("zippkg: unpack: %w", err)
	}
	defer root.Close()

	// Directories first, parents before children, including the implied
	// ones, so every one gets 0755 whatever the umask.
	if err := mkdirs(root, p.root, ""); err != nil {
		return err
	}
	var written int64
	for _, e := range p.entries {
		if e.kind != kindFile {
			continue
		}
		n, err := writeFile(root, e, maxBytes-written, maxBytes)
		written += n
		if err != nil {
			return err
		}
	}
	for _, e := range p.entries {
		if e.kind != kindLink {
			continue
		}
		if err := root.Symlink(e.link, e.name); err != nil {
			return fmt.Errorf("zippkg: unpack %q: %w", e.name, err)
		}
	}
	return nil
}

func mkdirs(root *os.Root, n *node, prefix string) error {
	for _, name := range n.order {
		c := n.kids[name]
		if c.kind != kindDir {
			continue
		}
		p := prefix + name
		if err := root.Mkdir(p, 0o755); err != nil {
			return fmt.Errorf("zippkg: unpack %q: %w", p, err)
		}
		if err := root.Chmod(p, 0o755); err != nil {
			return fmt.Errorf("zippkg: unpack %q: %w", p, err)
		}
		if err := mkdirs(root, c, p+"/"); err != nil {
			return err
		}
	}
	return nil
}

// writeFile copies one entry, at most budget bytes, and returns the bytes
// written; limit is only for the message.
func writeFile(root *os.Root, e entry, budget, limit int64) (int64, error) {
	perm := fs.FileMode(0o644)
	if e.exec {
		perm = 0o755
	}
	rc, err := e.f.Open()
	if err != nil {
		return 0, invalid("entry %q cannot be read: %v", e.name, err)
	}
	defer rc.Close()
	// O_EXCL: the tree is fresh, so an existing path means something is wrong.
	out, err := root.OpenFile(e.name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return 0, fmt.Errorf("zippkg: unpack %q: %w", e.name, err)
	}
	defer out.Close()
	src := &errReader{r: rc}
	// archive/zip skips a CRC of 0: check it here too, as Check does.
	crc := crc32.NewIEEE()
	n, err := io.CopyN(io.MultiWriter(out, crc), src, budget+1)
	if n > budget {
		return n, invalid("the package unpacks to more than the limit of %d bytes (%s) at entry %q, whose header declares only %d bytes",
			limit, mib(limit), e.name, e.f.UncompressedSize64)
	}
	if err != nil && err != io.EOF {
		if errors.Is(src.err, zip.ErrFormat) { // archive/zip's word for "more than declared"
			return n, invalid("entry %q holds more data than its header declares (%d bytes); the package is corrupt",
				e.name, e.f.UncompressedSize64)
		}
		if src.err != nil {
			return n, invalid("entry %q is corrupt (%v); rebuild the package", e.name, src.err)
		}
		return n, fmt.Errorf("zippkg: unpack %q: %w", e.name, err)
	}
	if crc.Sum32() != e.f.CRC32 {
		return n, invalid("entry %q fails its CRC-32 check; the package is corrupt", e.name)
	}
	if err := out.Chmod(perm); err != nil { // the umask may have cleared bits
		return n, fmt.Errorf("zippkg: unpack %q: %w", e.name, err)
	}
	if err := out.Close(); err != nil {
		return n, fmt.Errorf("zippkg: unpack %q: %w", e.name, err)
	}
	return n, nil
}

// errReader remembers a read error, to tell a corrupt package from a full
// disk.
type errReader struct {
	r   io.Reader
	err error
}

func (r *errReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if err != nil && err != io.EOF {
		r.err = err
	}
	return n, err
}
