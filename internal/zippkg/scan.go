package zippkg

import (
	"bytes"
	"compress/flate"
	"encoding/binary"
	"hash/crc32"
	"io"
	"sync"
	"sync/atomic"
)

// A Scanner reads a package while it is received, on a goroutine of its
// own, so that checking the entries' contents overlaps the transfer
// instead of following it. The central directory, which says where the
// entries are, comes last; so the scanner keeps two things that Check can
// use once it has read that directory:
//
//   - the CRC-32 of every scanBlock bytes of the stream, from which the CRC
//     of any stored entry is combined (see crc.go);
//   - for each deflate entry whose local header it could follow, what
//     inflating its data gave: CRC-32, size, compressed bytes used.
//
// The scan is only a shortcut. Check trusts a result only where the
// central directory places an entry at the very offset the scan inflated,
// and checks every other entry from the bytes themselves.
type Scanner struct {
	ch     chan []byte
	done   chan struct{}
	stop   atomic.Bool
	cur    []byte // filling up before it is handed over
	n      int64  // bytes written
	closed bool
	res    scanResult
	lim    Limits
}

// chunks recycles the hand-over buffers of every scan.
var chunks = sync.Pool{New: func() any { return make([]byte, 0, scanChunk) }}

const (
	scanChunk = 256 << 10 // bytes per hand-over to the goroutine
	scanQueue = 8         // hand-overs in flight: at most 2 MiB held
	scanBlock = 64 << 10  // CRC granularity
)

// scanResult is what a finished scan knows.
type scanResult struct {
	n        int64              // bytes scanned
	blocks   []uint32           // CRC-32 of each whole scanBlock
	inflated map[int64]inflated // by data offset
}

// inflated is the outcome of inflating one deflate stream.
type inflated struct {
	crc      uint32
	size     uint64 // bytes produced (capped: see complete)
	used     uint64 // compressed bytes consumed
	complete bool   // the stream ended cleanly within the budget
}

// NewScanner starts a scan of a package checked against lim. Write the
// package to it, then call Check, or Stop to abandon it.
func NewScanner(lim Limits) *Scanner {
	lim = lim.orDefault()
	s := &Scanner{ch: make(chan []byte, scanQueue), done: make(chan struct{}), lim: lim}
	go s.run()
	return s
}

// Write hands a copy of p to the scan, a full chunk at a time; it blocks
// while the scan is scanQueue chunks behind, and never fails.
func (s *Scanner) Write(p []byte) (int, error) {
	if s.closed {
		return 0, io.ErrClosedPipe
	}
	n := len(p)
	for len(p) > 0 {
		if s.cur == nil {
			s.cur = chunks.Get().([]byte)[:0]
		}
		k := copy(s.cur[len(s.cur):cap(s.cur)], p)
		s.cur = s.cur[:len(s.cur)+k]
		p = p[k:]
		if len(s.cur) == cap(s.cur) {
			s.ch <- s.cur
			s.cur = nil
		}
	}
	s.n += int64(n)
	return n, nil
}

// finish hands over the last chunk and waits for the scan to take in
// everything written.
func (s *Scanner) finish() *scanResult {
	if !s.closed {
		s.closed = true
		if len(s.cur) > 0 {
			s.ch <- s.cur
		}
		s.cur = nil
		close(s.ch)
	}
	<-s.done
	return &s.res
}

// Stop abandons the scan and waits for its goroutine to end. It may be
// called after Check, and more than once.
func (s *Scanner) Stop() {
	s.stop.Store(true)
	s.finish()
}

func (s *Scanner) run() {
	defer close(s.done)
	f := &feed{s: s}
	s.res.inflated = map[int64]inflated{}
	w := walker{f: f, res: &s.res, budget: s.lim.MaxUnpacked + 1}
	w.walk()
	for f.fill() { // the rest: the central directory, or junk
		f.cur = nil
	}
	s.res.n = f.in
}

// feed is the goroutine's side: the chunks as one stream, with the block
// CRCs computed as chunks arrive.
type feed struct {
	s      *Scanner
	cur    []byte
	held   []byte // the pooled chunk cur is part of
	off    int64  // stream offset of cur[0]
	in     int64  // bytes received
	block  uint32 // CRC of the partial block
	filled int    // bytes in the partial block
}

// fill makes cur non-empty, returning false at the end of the stream.
func (f *feed) fill() bool {
	for len(f.cur) == 0 {
		if f.held != nil {
			chunks.Put(f.held[:0])
			f.held = nil
		}
		if f.s.stop.Load() {
			return false
		}
		b, ok := <-f.s.ch
		if !ok {
			return false
		}
		f.crcBlocks(b)
		f.held, f.cur = b, b
		f.in += int64(len(b))
	}
	return true
}

func (f *feed) crcBlocks(p []byte) {
	for len(p) > 0 {
		k := min(len(p), scanBlock-f.filled)
		f.block = crc32.Update(f.block, crcTable, p[:k])
		f.filled += k
		p = p[k:]
		if f.filled == scanBlock {
			f.s.res.blocks = append(f.s.res.blocks, f.block)
			f.block, f.filled = 0, 0
		}
	}
}

func (f *feed) ReadByte() (byte, error) {
	if !f.fill() {
		return 0, io.EOF
	}
	c := f.cur[0]
	f.cur = f.cur[1:]
	f.off++
	return c, nil
}

func (f *feed) Read(p []byte) (int, error) {
	if !f.fill() {
		return 0, io.EOF
	}
	n := copy(p, f.cur)
	f.cur = f.cur[n:]
	f.off += int64(n)
	return n, nil
}

// skip drops n bytes, reporting whether there were that many.
func (f *feed) skip(n uint64) bool {
	for n > 0 {
		if !f.fill() {
			return false
		}
		k := uint64(len(f.cur))
		if k > n {
			k = n
		}
		f.cur = f.cur[k:]
		f.off += int64(k)
		n -= k
	}
	return true
}

// seek moves to the next occurrence of sig (4 bytes), consuming it, and
// reports whether there was one.
func (f *feed) seek(sig []byte) bool {
	var tail []byte // the last bytes of the previous chunk
	for f.fill() {
		if len(tail) > 0 {
			// A signature across the boundary.
			j := append(tail, f.cur[:min(len(f.cur), len(sig)-1)]...)
			if i := bytes.Index(j, sig); i >= 0 {
				f.skip(uint64(i + len(sig) - len(tail)))
				return true
			}
		}
		if i := bytes.Index(f.cur, sig); i >= 0 {
			f.skip(uint64(i + len(sig)))
			return true
		}
		tail = append(tail[:0], f.cur[max(0, len(f.cur)-(len(sig)-1)):]...)
		f.off += int64(len(f.cur))
		f.cur = nil
	}
	return false
}

func (f *feed) bytes(n int) ([]byte, bool) {
	b := make([]byte, n)
	_, err := io.ReadFull(f, b)
	return b, err == nil
}

var localSig = []byte("PK\x03\x04")

// walker follows local file headers through the stream.
type walker struct {
	f      *feed
	res    *scanResult
	budget int64 // bytes it may still inflate, over all entries
	fr     io.ReadCloser
	buf    []byte
}

// inflate inflates the deflate stream at the feed's position, at most
// limit bytes of it, and records the outcome under its offset.
func (w *walker) inflate(limit int64) {
	start := w.f.off
	if w.fr == nil {
		w.fr, w.buf = flate.NewReader(w.f), make([]byte, 32<<10)
	} else if err := w.fr.(flate.Resetter).Reset(w.f, nil); err != nil {
		return
	}
	var crc uint32
	var n int64
	complete := false
	for n < limit {
		k, err := w.fr.Read(w.buf[:min(int64(len(w.buf)), limit-n)])
		crc = crc32.Update(crc, crcTable, w.buf[:k])
		n += int64(k)
		if err == io.EOF {
			complete = true
			break
		}
		if err != nil || w.f.s.stop.Load() {
			break
		}
	}
	w.budget -= n
	w.res.inflated[start] = inflated{crc: crc, size: uint64(n), used: uint64(w.f.off - start), complete: complete}
}

// walk inflates every deflate entry it can find by its local header, and
// looks for the next header after anything it cannot follow (a stored
// entry whose size comes after its data, say).
func (w *walker) walk() {
	for w.f.seek(localSig) {
		h, ok := w.f.bytes(26)
		if !ok {
			return
		}
		le := binary.LittleEndian
		flags, method := le.Uint16(h[2:]), le.Uint16(h[4:])
		csize, usize := uint64(le.Uint32(h[14:])), uint64(le.Uint32(h[18:]))
		nameLen, extraLen := int(le.Uint16(h[22:])), int(le.Uint16(h[24:]))
		if !w.f.skip(uint64(nameLen)) {
			return
		}
		extra, ok := w.f.bytes(extraLen)
		if !ok {
			return
		}
		csize, usize = zip64Sizes(extra, csize, usize)
		sizesKnown := flags&0x8 == 0
		switch {
		case method == 8 && w.budget > 0:
			limit := w.budget
			if sizesKnown && usize < uint64(limit) {
				limit = int64(usize) + 1
			}
			w.inflate(limit)
		case method == 0 && sizesKnown:
			w.f.skip(csize)
		}
	}
}

// zip64Sizes reads the sizes from a zip64 extra field when the header's
// are saturated.
func zip64Sizes(extra []byte, csize, usize uint64) (uint64, uint64) {
	le := binary.LittleEndian
	for len(extra) >= 4 {
		tag, n := le.Uint16(extra), int(le.Uint16(extra[2:]))
		extra = extra[4:]
		if n > len(extra) {
			break
		}
		if tag == 0x0001 {
			f := extra[:n]
			if usize == 0xffffffff && len(f) >= 8 {
				usize, f = le.Uint64(f), f[8:]
			}
			if csize == 0xffffffff && len(f) >= 8 {
				csize = le.Uint64(f)
			}
		}
		extra = extra[n:]
	}
	return csize, usize
}
