package driverhub

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"sync"
	"time"
)

var idState struct {
	sync.Mutex
	lastMS  int64
	counter uint16
}

// NewID returns a UUIDv7 in its text form. IDs made by one process sort in
// the order they were made (RFC 9562, method 1: a counter in rand_a), so
// "newest first" is "id descending".
func NewID() string {
	idState.Lock()
	ms := time.Now().UnixMilli()
	if ms <= idState.lastMS {
		ms = idState.lastMS
		idState.counter++
		if idState.counter > 0x0fff { // counter spent: borrow the next millisecond
			ms++
			idState.counter = 0
		}
	} else {
		idState.counter = 0
	}
	idState.lastMS = ms
	counter := idState.counter
	idState.Unlock()

	var u [16]byte
	binary.BigEndian.PutUint64(u[0:8], uint64(ms)<<16)
	u[6] = 0x70 | byte(counter>>8)
	u[7] = byte(counter)
	_, _ = rand.Read(u[8:])
	u[8] = 0x80 | u[8]&0x3f
	var out [36]byte
	hex.Encode(out[0:8], u[0:4])
	out[8] = '-'
	hex.Encode(out[9:13], u[4:6])
	out[13] = '-'
	hex.Encode(out[14:18], u[6:8])
	out[18] = '-'
	hex.Encode(out[19:23], u[8:10])
	out[23] = '-'
	hex.Encode(out[24:], u[10:])
	return string(out[:])
}

// NewSecret returns n random bytes in hex, for tokens and gateway secrets.
func NewSecret(prefix string, n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// Page asks a list for up to Limit items after Cursor.
type Page struct {
	Limit  int
	Cursor string
}

// Normalize applies the default and maximum limits of SPEC §8.
func (p Page) Normalize() (Page, error) {
	switch {
	case p.Limit == 0:
		p.Limit = DefaultPageLimit
	case p.Limit < 1 || p.Limit > MaxPageLimit:
		return p, Invalid("limit", "must be 1-%d", MaxPageLimit)
	}
	return p, nil
}

// List is one page of a list and the cursor of the next ("" at the end).
type List[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"next_cursor"`
}
