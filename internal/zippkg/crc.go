package zippkg

import "hash/crc32"

// CRC-32 (IEEE) is linear, so the CRC of A‖B follows from the CRCs of A and
// B and the length of B. The scanner keeps the CRC of every block of the
// stream; the CRC of a stored entry is then a combination of the blocks it
// covers, and only its two partial edge blocks are read again. The
// arithmetic is zlib's crc32_combine (polynomials over GF(2), reflected).

const crcPoly = 0xedb88320 // crc32.IEEE, reflected

// multModP multiplies a and b modulo the CRC polynomial.
func multModP(a, b uint32) uint32 {
	var p uint32
	for m := uint32(1) << 31; m != 0; m >>= 1 {
		if a&m != 0 {
			p ^= b
			if a&(m-1) == 0 {
				break
			}
		}
		if b&1 != 0 {
			b = b>>1 ^ crcPoly
		} else {
			b >>= 1
		}
	}
	return p
}

// shiftOp returns x^(8n) modulo the polynomial: the operator that moves a
// CRC past n zero bytes.
func shiftOp(n int64) uint32 {
	p := uint32(1) << 31  // x^0
	sq := uint32(1) << 30 // x^1, squared on each step: x^(2^k)
	for k := 0; n != 0 || k < 3; k++ {
		// The first three squarings turn bits into bytes (x^8).
		if k >= 3 {
			if n&1 != 0 {
				p = multModP(sq, p)
			}
			n >>= 1
		}
		sq = multModP(sq, sq)
	}
	return p
}

// crcCombine returns the CRC of A‖B from crcA, crcB and op = shiftOp(len(B)).
func crcCombine(crcA, crcB, op uint32) uint32 {
	return multModP(op, crcA) ^ crcB
}

// crcTable is crc32.IEEETable, named for the update calls.
var crcTable = crc32.IEEETable
