package zippkg_test

import (
	"archive/zip"
	"bytes"
	"testing"

	"github.com/driverhub/driverhub/internal/zippkg"
)

// BenchmarkCheck50MiB checks a 50 MiB package of one stored random entry
// and a deflated text entry: Check reading it again after the upload
// (check), and a Scanner fed as the upload arrives, then its Check (scan).
func BenchmarkCheck50MiB(b *testing.B) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, _ := zw.Create("index.py")
	w.Write(bytes.Repeat([]byte("print('driverhub')\n"), 100000))
	w, _ = zw.CreateHeader(&zip.FileHeader{Name: "blob.bin", Method: zip.Store})
	w.Write(random(48 << 20))
	zw.Close()
	data := buf.Bytes()
	b.Run("check", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			if _, err := zippkg.Check(bytes.NewReader(data), int64(len(data)), py, zippkg.Limits{}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("scan", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			if _, err := scan(data, py, zippkg.Limits{}, 256<<10); err != nil {
				b.Fatal(err)
			}
		}
	})
}
