package zippkg

import (
	"archive/zip"
	"bufio"
	"compress/flate"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"io"
)

// Contents are checked the way the gateway will read them (archive/zip),
// and more strictly: every entry must inflate to exactly the size its
// central directory header declares, with the CRC-32 it declares (archive/zip
// skips a CRC of 0), and a data descriptor, when there is one, must agree.
// A header that understates an entry stops the inflating one byte past the
// declared size, so no package costs more than its declared total, itself
// at most MaxUnpacked.

// verifyContents checks every entry's data, using what a scan of the same
// bytes already verified, if sc is not nil.
func verifyContents(r io.ReaderAt, size int64, entries []entry, sc *scanResult) error {
	var buf []byte
	for _, e := range entries {
		off, err := e.f.DataOffset()
		if err != nil {
			return invalid("entry %q has a corrupt local header (%v); the package is corrupt", e.f.Name, err)
		}
		if e.kind == kindDir {
			if e.f.UncompressedSize64 != 0 {
				return invalid("entry %q is a directory but declares %d bytes of content", e.f.Name, e.f.UncompressedSize64)
			}
			continue
		}
		if off > size || e.f.CompressedSize64 > uint64(size-off) {
			return errTruncated(e.f)
		}
		done, err := sc.verify(r, size, e.f, off)
		if err != nil {
			return err
		}
		if done {
			continue
		}
		if buf == nil {
			buf = make([]byte, 256<<10)
		}
		if err := verifyEntry(r, size, e.f, off, buf); err != nil {
			return err
		}
	}
	return nil
}

// verifyEntry inflates (or reads) one entry's data and checks its size,
// CRC-32 and data descriptor.
func verifyEntry(r io.ReaderAt, size int64, f *zip.File, off int64, buf []byte) error {
	raw := io.NewSectionReader(r, off, int64(f.CompressedSize64))
	var src io.Reader = raw
	if f.Method == zip.Deflate {
		fr := flate.NewReader(bufio.NewReaderSize(raw, 32<<10))
		defer fr.Close()
		src = fr
	}
	limit := f.UncompressedSize64 + 1
	var crc uint32
	var n uint64
	for n < limit {
		k, err := src.Read(buf[:min(uint64(len(buf)), limit-n)])
		crc = crc32.Update(crc, crcTable, buf[:k])
		n += uint64(k)
		if err == io.EOF || (err != nil && n >= limit) {
			break // n > declared says more than the error would
		}
		if err != nil {
			return errCorrupt(f, err)
		}
	}
	return checkOutcome(r, size, f, off, n, crc)
}

// checkOutcome compares what an entry's data gave with its header.
func checkOutcome(r io.ReaderAt, size int64, f *zip.File, off int64, n uint64, crc uint32) error {
	switch {
	case n > f.UncompressedSize64:
		return invalid("entry %q holds more data than its header declares (%d bytes); the package is corrupt or a zip bomb",
			f.Name, f.UncompressedSize64)
	case n < f.UncompressedSize64:
		return invalid("entry %q holds %d bytes but its header declares %d; the package is corrupt", f.Name, n, f.UncompressedSize64)
	case crc != f.CRC32:
		return invalid("entry %q fails its CRC-32 check (the data gives %08x, the header says %08x); the package is corrupt",
			f.Name, crc, f.CRC32)
	}
	if f.Flags&0x8 != 0 {
		return checkDescriptor(r, size, f, off+int64(f.CompressedSize64))
	}
	return nil
}

// checkDescriptor reads the data descriptor after an entry's data, as
// archive/zip does: its CRC-32 must be the central directory's.
func checkDescriptor(r io.ReaderAt, size int64, f *zip.File, at int64) error {
	var b [16]byte
	n, _ := r.ReadAt(b[:], at)
	d := b[:n]
	if len(d) >= 4 && binary.LittleEndian.Uint32(d) == 0x08074b50 {
		d = d[4:]
	}
	if len(d) < 4 {
		return invalid("entry %q has no data descriptor after its data; the package is truncated", f.Name)
	}
	if got := binary.LittleEndian.Uint32(d); got != f.CRC32 {
		return invalid("entry %q has a data descriptor whose CRC-32 (%08x) differs from its header's (%08x); the package is corrupt",
			f.Name, got, f.CRC32)
	}
	return nil
}

func errTruncated(f *zip.File) error {
	return invalid("entry %q declares %d bytes of data past the end of the package; the package is truncated",
		f.Name, f.CompressedSize64)
}

func errCorrupt(f *zip.File, err error) error {
	var ce flate.CorruptInputError
	switch {
	case errors.As(err, &ce):
		return invalid("entry %q has corrupt compressed data (at byte %d); the package is corrupt", f.Name, int64(ce))
	case errors.Is(err, io.ErrUnexpectedEOF):
		return invalid("entry %q ends in the middle of its compressed data; the package is corrupt or truncated", f.Name)
	}
	return invalid("entry %q cannot be read (%v); the package is corrupt", f.Name, err)
}

// verify checks an entry from the scan alone when it can: done reports
// that it did (err says how that went); otherwise the caller reads the
// entry.
func (sc *scanResult) verify(r io.ReaderAt, size int64, f *zip.File, off int64) (done bool, err error) {
	if sc == nil || sc.n != size {
		return false, nil
	}
	switch f.Method {
	case zip.Store:
		if f.CompressedSize64 < 2*scanBlock {
			return false, nil // as cheap to read again
		}
		crc, err := sc.crcRange(r, off, off+int64(f.CompressedSize64))
		if err != nil {
			return false, nil
		}
		return true, checkOutcome(r, size, f, off, f.CompressedSize64, crc)
	case zip.Deflate:
		in, ok := sc.inflated[off]
		switch {
		case !ok || in.used > f.CompressedSize64:
			return false, nil // the scan read past the entry's data
		case in.size > f.UncompressedSize64:
			// Whatever the rest holds, it is already more than declared.
			return true, checkOutcome(r, size, f, off, in.size, in.crc)
		case !in.complete:
			return false, nil // let a plain read say what is wrong
		}
		return true, checkOutcome(r, size, f, off, in.size, in.crc)
	}
	return false, nil
}

// crcRange returns the CRC-32 of r's bytes [from, to), combining the
// scanned blocks it covers whole and reading the rest.
func (sc *scanResult) crcRange(r io.ReaderAt, from, to int64) (uint32, error) {
	first := (from + scanBlock - 1) / scanBlock // first whole block
	last := min(to/scanBlock, int64(len(sc.blocks)))
	crc, err := crcRead(r, 0, from, min(to, first*scanBlock))
	if err != nil || first >= last {
		if err == nil && first*scanBlock < to {
			crc, err = crcRead(r, crc, first*scanBlock, to)
		}
		return crc, err
	}
	op := shiftOp(scanBlock)
	for _, b := range sc.blocks[first:last] {
		crc = crcCombine(crc, b, op)
	}
	return crcRead(r, crc, last*scanBlock, to)
}

// crcRead continues crc over r's bytes [from, to).
func crcRead(r io.ReaderAt, crc uint32, from, to int64) (uint32, error) {
	if to <= from {
		return crc, nil
	}
	b := make([]byte, to-from)
	if _, err := r.ReadAt(b, from); err != nil {
		return 0, err
	}
	return crc32.Update(crc, crcTable, b), nil
}
