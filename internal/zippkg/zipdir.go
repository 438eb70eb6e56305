package zippkg

import (
	"archive/zip"
	"fmt"
	"io"
	"io/fs"
	"os"
	"time"
)

// zipTime stamps every entry: a fixed time makes the same tree give the same
// bytes, so packing twice uploads one blob. It is after 1980 because MS-DOS
// dates cannot say earlier.
var zipTime = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// ZipDir writes a zip of the contents of dir to w: paths relative to dir with
// forward slashes, directories included, executable bits and symlinks kept,
// in lexical order with fixed timestamps so the same tree gives the same
// bytes. Files other than regular files, directories and symlinks are refused.
func ZipDir(dir string, w io.Writer) error {
	if fi, err := os.Stat(dir); err != nil {
		return fmt.Errorf("zippkg: zip %s: %w", dir, err)
	} else if !fi.IsDir() {
		return fmt.Errorf("zippkg: zip %s: not a directory", dir)
	}
	// os.DirFS follows dir itself when it is a symlink but nothing below it,
	// and its ReadDir is sorted, which gives the deterministic order.
	fsys := os.DirFS(dir)
	zw := zip.NewWriter(w)
	err := fs.WalkDir(fsys, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if name == "." {
			return nil
		}
		return addEntry(zw, fsys, name, d)
	})
	if err != nil {
		return fmt.Errorf("zippkg: zip %s: %w", dir, err)
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("zippkg: zip %s: %w", dir, err)
	}
	return nil
}

func addEntry(zw *zip.Writer, fsys fs.FS, name string, d fs.DirEntry) error {
	h := &zip.FileHeader{Name: name, Modified: zipTime, Method: zip.Store}
	switch t := d.Type(); {
	case t.IsDir():
		h.Name += "/"
		h.SetMode(fs.ModeDir | 0o755)
		_, err := zw.CreateHeader(h)
		return err
	case t&fs.ModeSymlink != 0:
		target, err := fs.ReadLink(fsys, name)
		if err != nil {
			return err
		}
		h.SetMode(fs.ModeSymlink | 0o777)
		fw, err := zw.CreateHeader(h)
		if err != nil {
			return err
		}
		_, err = io.WriteString(fw, target)
		return err
	case t.IsRegular():
		info, err := d.Info()
		if err != nil {
			return err
		}
		// Only the executable bit matters on the gateway; normalizing the
		// rest keeps the bytes independent of the packer's umask.
		mode := fs.FileMode(0o644)
		if info.Mode()&0o111 != 0 {
			mode = 0o755
		}
		h.SetMode(mode)
		h.Method = zip.Deflate
		fw, err := zw.CreateHeader(h)
		if err != nil {
			return err
		}
		f, err := fsys.Open(name)
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = io.Copy(fw, f)
		return err
	default:
		return fmt.Errorf("%s: %s is not a regular file, directory or symlink", name, t)
	}
}
