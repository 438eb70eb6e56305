package service_test

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/driverhub/driverhub"
)

// storedZip builds a python3 package whose data.bin entry is stored as is
// (size bytes of a repeating pattern), as zip tools write it: a data
// descriptor after each entry.
func storedZip(t testing.TB, size int) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, _ := zw.Create("index.py")
	w.Write([]byte("print(1)"))
	w, err := zw.CreateHeader(&zip.FileHeader{Name: "data.bin", Method: zip.Store})
	if err != nil {
		t.Fatal(err)
	}
	w.Write(bytes.Repeat([]byte("0123456789abcdef"), size/16))
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// understatedZip builds a python3 package whose huge.bin entry declares
// 1 MiB but inflates to 601 MiB of zeros: a 64 KiB block of zeros
// compressed once, flushed to a byte boundary, and repeated.
func understatedZip(t testing.TB) []byte {
	t.Helper()
	var z bytes.Buffer
	fw, _ := flate.NewWriter(&z, flate.BestCompression)
	zero := make([]byte, 64<<10)
	fw.Write(zero)
	fw.Flush()
	a := z.Len()
	fw.Write(zero)
	fw.Flush()
	b := z.Len()
	fw.Close()
	stream := bytes.Clone(z.Bytes()[:a])
	for range 601*16 - 1 {
		stream = append(stream, z.Bytes()[a:b]...)
	}
	stream = append(stream, z.Bytes()[b:]...)
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, _ := zw.Create("index.py")
	w.Write([]byte("print(1)"))
	w, err := zw.CreateRaw(&zip.FileHeader{Name: "huge.bin", Method: zip.Deflate, CRC32: 0,
		CompressedSize64: uint64(len(stream)), UncompressedSize64: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	w.Write(stream)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// blobPath is where the test service's filesystem store keeps a blob.
func (ts *testService) blobPath(sha string) string {
	return filepath.Join(filepath.Dir(ts.dbPath), "blobs", sha[:2], sha)
}

// flipBlob changes one byte of a stored blob in place, as a failing disk
// or a stray write would.
func (ts *testService) flipBlob(t testing.TB, sha string) {
	t.Helper()
	f, err := os.OpenFile(ts.blobPath(sha), os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := make([]byte, 1)
	f.ReadAt(b, 100)
	b[0] ^= 0x01
	if _, err := f.WriteAt(b, 100); err != nil {
		t.Fatal(err)
	}
}

// stored reports whether the blob store holds the blob.
func (ts *testService) stored(t testing.TB, sha string) bool {
	t.Helper()
	_, err := ts.blobs.Stat(t.Context(), sha)
	if err != nil && !errors.Is(err, driverhub.ErrNotFound) {
		t.Fatal(err)
	}
	return err == nil
}

// putBlob commits bytes straight to the blob store, as a blob left over
// from before the collector (or by a failed upload) would be.
func (ts *testService) putBlob(t testing.TB, b []byte) string {
	t.Helper()
	sb, err := ts.blobs.Stage(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer sb.Discard()
	sb.Write(b)
	if err := sb.Commit(t.Context(), sha256Hex(b)); err != nil {
		t.Fatal(err)
	}
	return sha256Hex(b)
}

// download reads a download whole, returning the read error.
func download(d *driverhub.Download) ([]byte, error) {
	defer d.Body.Close()
	return io.ReadAll(d.Body)
}
