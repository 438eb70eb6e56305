package zippkg_test

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"encoding/binary"
	"hash/crc32"
	"math/rand/v2"
	"testing"

	"github.com/driverhub/driverhub"
	"github.com/driverhub/driverhub/internal/zippkg"
)

// zeroDeflate returns a deflate stream of chunks×64 KiB zero bytes, built
// cheaply: one compressed chunk, flushed to a byte boundary, repeated (each
// copy refers back to the zeros before it).
func zeroDeflate(tb testing.TB, chunks int) []byte {
	tb.Helper()
	var buf bytes.Buffer
	fw, err := flate.NewWriter(&buf, flate.BestCompression)
	if err != nil {
		tb.Fatal(err)
	}
	zero := make([]byte, 64<<10)
	fw.Write(zero)
	fw.Flush()
	a := buf.Len()
	fw.Write(zero)
	fw.Flush()
	b := buf.Len()
	fw.Close()
	out := append([]byte(nil), buf.Bytes()[:a]...)
	for range chunks - 1 {
		out = append(out, buf.Bytes()[a:b]...)
	}
	return append(out, buf.Bytes()[b:]...)
}

// random returns n pseudo-random bytes.
func random(n int) []byte {
	b := make([]byte, n)
	rand.NewChaCha8([32]byte{1}).Read(b)
	return b
}

// realZip writes entries with zip.Writer as a packer would: a data
// descriptor after each entry, the given method.
func realZip(tb testing.TB, method uint16, files ...[2]string) []byte {
	tb.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, f := range files {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: f[0], Method: method})
		if err != nil {
			tb.Fatal(err)
		}
		w.Write([]byte(f[1]))
	}
	if err := zw.Close(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// centralHeader returns the central directory header of the named entry.
func centralHeader(tb testing.TB, data []byte, name string) []byte {
	tb.Helper()
	i := bytes.Index(data, append([]byte("PK\x01\x02"), make([]byte, 0)...))
	for ; i >= 0; i = bytes.Index(data[i+4:], []byte("PK\x01\x02")) + i + 4 {
		n := int(binary.LittleEndian.Uint16(data[i+28:]))
		if string(data[i+46:i+46+n]) == name {
			return data[i : i+46+n]
		}
	}
	tb.Fatalf("no central directory header for %q", name)
	return nil
}

func TestCheckContents(t *testing.T) {
	body := string(random(300 << 10)) // several scan blocks
	real := func(tb testing.TB) []byte {
		return realZip(tb, zip.Store, [2]string{"index.py", "print(1)"}, [2]string{"data.bin", body})
	}
	dataAt := func(data []byte) int { return bytes.Index(data, []byte(body[:64])) }
	tests := []struct {
		name string
		zip  func(tb testing.TB) []byte
		want []string // nil means accepted
	}{
		{name: "real zip", zip: real},
		{name: "deflated", zip: func(tb testing.TB) []byte {
			return realZip(tb, zip.Deflate, [2]string{"index.py", "print(1)"}, [2]string{"data.bin", body + body})
		}},
		{name: "real zip, flipped byte", zip: func(tb testing.TB) []byte {
			d := real(tb)
			d[dataAt(d)+150<<10] ^= 1
			return d
		}, want: []string{`"data.bin"`, "CRC-32"}},
		{name: "real zip, flipped first byte", zip: func(tb testing.TB) []byte {
			d := real(tb)
			d[dataAt(d)] ^= 0x80
			return d
		}, want: []string{`"data.bin"`, "CRC-32"}},
		{name: "real zip, flipped last byte", zip: func(tb testing.TB) []byte {
			d := real(tb)
			d[dataAt(d)+len(body)-1] ^= 0x80
			return d
		}, want: []string{`"data.bin"`, "CRC-32"}},
		{name: "real zip, descriptor disagrees", zip: func(tb testing.TB) []byte {
			d := real(tb)
			desc := dataAt(d) + len(body)
			binary.LittleEndian.PutUint32(d[desc+4:], 12345)
			return d
		}, want: []string{`"data.bin"`, "data descriptor"}},
		{name: "real zip, directory says more data", zip: func(tb testing.TB) []byte {
			d := real(tb)
			h := centralHeader(tb, d, "data.bin")
			binary.LittleEndian.PutUint32(h[20:], uint32(len(d))) // compressed size
			return d
		}, want: []string{`"data.bin"`, "past the end of the package"}},
		{name: "wrong CRC, stored", zip: func(tb testing.TB) []byte {
			return makeZip(tb, file("index.py", "1"), ent{name: "a", body: "hello", raw: true, method: zip.Store, crc: 7, usize: 5})
		}, want: []string{`"a"`, "CRC-32", "00000007"}},
		{name: "CRC of zero is checked too", zip: func(tb testing.TB) []byte {
			return makeZip(tb, file("index.py", "1"), ent{name: "a", body: "hello", raw: true, method: zip.Store, crc: 0, usize: 5})
		}, want: []string{`"a"`, "CRC-32"}},
		{name: "stored, size overstated", zip: func(tb testing.TB) []byte {
			return makeZip(tb, file("index.py", "1"), ent{name: "a", body: "hello", raw: true, method: zip.Store,
				crc: crc32.ChecksumIEEE([]byte("hello")), usize: 9})
		}, want: []string{`"a"`, "holds 5 bytes", "declares 9"}},
		{name: "stored, size understated", zip: func(tb testing.TB) []byte {
			return makeZip(tb, file("index.py", "1"), ent{name: "a", body: "hello", raw: true, method: zip.Store,
				crc: crc32.ChecksumIEEE([]byte("hello")), usize: 3})
		}, want: []string{`"a"`, "more data than its header declares (3 bytes)"}},
		{name: "deflate, size understated", zip: func(tb testing.TB) []byte {
			return makeZip(tb, file("index.py", "1"), bomb(tb, "b", 4096))
		}, want: []string{`"b"`, "more data than its header declares (100 bytes)"}},
		{name: "corrupt deflate data", zip: func(tb testing.TB) []byte {
			return makeZip(tb, file("index.py", "1"), ent{name: "c", body: "\xff\xff\xff\xff", raw: true, method: zip.Deflate, usize: 10})
		}, want: []string{`"c"`, "corrupt"}},
		{name: "directory with content", zip: func(tb testing.TB) []byte {
			return makeZip(tb, file("index.py", "1"), ent{name: "d/", raw: true, method: zip.Store, usize: 4})
		}, want: []string{`"d/"`, "declares 4 bytes"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := check(t, tt.zip(t), py, zippkg.Limits{})
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Check: %v", err)
				}
				return
			}
			wantErr(t, err, driverhub.EInvalid, "package", tt.want...)
		})
	}
}

func TestCheckUnderstatedBy600MiB(t *testing.T) {
	// The header declares 1 MiB; the data inflates to 601 MiB, past the
	// 512 MiB a package may hold. Check stops one byte past 1 MiB.
	for _, flags := range []uint16{0, 0x8} {
		data := makeZip(t, file("index.py", "1"),
			ent{name: "huge.bin", body: string(zeroDeflate(t, 601*16)), raw: true, method: zip.Deflate, flags: flags, usize: 1 << 20})
		_, err := check(t, data, py, zippkg.DefaultLimits())
		wantErr(t, err, driverhub.EInvalid, "package", `"huge.bin"`, "more data than its header declares (1048576 bytes)")
	}
}

func TestZeroDeflate(t *testing.T) {
	got, err := readAllFlate(zeroDeflate(t, 3))
	if err != nil || len(got) != 3*64<<10 || bytes.Count(got, []byte{0}) != len(got) {
		t.Fatalf("zeroDeflate(3) inflates to %d bytes (err %v), want 196608 zeros", len(got), err)
	}
}

func readAllFlate(b []byte) ([]byte, error) {
	var out bytes.Buffer
	_, err := out.ReadFrom(flate.NewReader(bytes.NewReader(b)))
	return out.Bytes(), err
}

func TestScannerPieces(t *testing.T) {
	// Any way of cutting the stream gives the same verdict.
	data := realZip(t, zip.Deflate, [2]string{"index.py", "print(1)"}, [2]string{"a.bin", string(random(200 << 10))},
		[2]string{"b.txt", string(bytes.Repeat([]byte("driverhub "), 30000))})
	bad := bytes.Clone(data)
	bad[len(bad)/3] ^= 4
	for _, piece := range []int{1, 3, 4095, 64 << 10, 1 << 20} {
		if _, err := scan(data, py, zippkg.Limits{}, piece); err != nil {
			t.Errorf("pieces of %d: %v", piece, err)
		}
		_, want := zippkg.Check(bytes.NewReader(bad), int64(len(bad)), py, zippkg.Limits{})
		if _, err := scan(bad, py, zippkg.Limits{}, piece); err == nil || err.Error() != want.Error() {
			t.Errorf("pieces of %d, corrupt: %v, want %v", piece, err, want)
		}
	}
}
