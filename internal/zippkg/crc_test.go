package zippkg

import (
	"hash/crc32"
	"math/rand/v2"
	"testing"
)

func TestCRCCombine(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	b := make([]byte, 200000)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	for _, cut := range []int{0, 1, 7, 4096, 65536, 100000, len(b)} {
		a, c := b[:cut], b[cut:]
		got := crcCombine(crc32.ChecksumIEEE(a), crc32.ChecksumIEEE(c), shiftOp(int64(len(c))))
		if want := crc32.ChecksumIEEE(b); got != want {
			t.Errorf("combine at %d = %08x, want %08x", cut, got, want)
		}
	}
}
