// Package blobverify reads a blob while checking it against its SHA-256,
// so that a blob store never hands out bytes that differ from their
// digest undetected (SPEC §13). Both blob stores wrap what they open in a
// Reader unless they know the blob verified since it last changed.
//
// Read from the start, the Reader hashes as it goes and withholds the
// bytes of the read that reaches the end until the digest checks out: a
// corrupt blob's download fails before its last byte, so no client ever
// holds a complete copy of wrong bytes. Any other access (a Seek to serve
// a range) first reads the whole blob through and checks it: a range may
// stop short of the end, where checking while streaming would come too
// late.
package blobverify

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"

	"github.com/driverhub/driverhub"
)

// Reader is a blob checked against its digest as it is read. It is not
// safe for concurrent use.
type Reader struct {
	r          io.ReadSeekCloser
	size       int64
	want       string
	h          hash.Hash
	hashed     int64 // bytes hashed, from the start
	pos        int64 // the reader's position
	rpos       int64 // r's position
	verified   bool
	err        error // ErrBlobCheck once the blob failed
	onVerified func()
}

// New returns a Reader of the size bytes of r, expected to have the
// SHA-256 sha (lower-case hex). onVerified, if not nil, is called once the
// blob checks out whole.
func New(r io.ReadSeekCloser, size int64, sha string, onVerified func()) *Reader {
	return &Reader{r: r, size: size, want: sha, h: sha256.New(), onVerified: onVerified}
}

// Failed reports whether the blob was found not to match its digest.
func (v *Reader) Failed() bool { return v.err != nil }

func (v *Reader) corrupt(why string) error {
	v.err = fmt.Errorf("blob %s %s: %w", v.want, why, driverhub.ErrBlobCheck)
	return v.err
}

// Read reads the blob; see the package comment for when it checks.
func (v *Reader) Read(p []byte) (int, error) {
	switch {
	case v.err != nil:
		return 0, v.err
	case !v.verified && v.pos != v.hashed:
		if err := v.Verify(); err != nil {
			return 0, err
		}
	}
	if v.pos >= v.size {
		if !v.verified { // an empty blob
			if err := v.check(); err != nil {
				return 0, err
			}
		}
		return 0, io.EOF
	}
	if err := v.sync(); err != nil {
		return 0, err
	}
	p = p[:min(int64(len(p)), v.size-v.pos)]
	n, err := v.r.Read(p)
	v.pos += int64(n)
	v.rpos = v.pos
	if v.verified {
		return n, err
	}
	v.h.Write(p[:n])
	v.hashed = v.pos
	switch {
	case v.hashed == v.size:
		if err := v.check(); err != nil {
			return 0, err // withhold the last bytes
		}
		return n, nil
	case errors.Is(err, io.EOF):
		return 0, v.corrupt(fmt.Sprintf("ends after %d of its %d bytes", v.hashed, v.size))
	}
	return n, err
}

// sync moves r to the reader's position.
func (v *Reader) sync() error {
	if v.rpos == v.pos {
		return nil
	}
	if _, err := v.r.Seek(v.pos, io.SeekStart); err != nil {
		return err
	}
	v.rpos = v.pos
	return nil
}

// check compares the digest of the whole blob with the expected one.
func (v *Reader) check() error {
	if got := hex.EncodeToString(v.h.Sum(nil)); got != v.want {
		return v.corrupt("has SHA-256 " + got)
	}
	v.verified = true
	if v.onVerified != nil {
		v.onVerified()
	}
	return nil
}

// Verify reads whatever of the blob is not hashed yet and checks it, so
// that any part of it may then be read. The position does not change.
func (v *Reader) Verify() error {
	if v.verified || v.err != nil {
		return v.err
	}
	if v.rpos != v.hashed {
		if _, err := v.r.Seek(v.hashed, io.SeekStart); err != nil {
			return err
		}
		v.rpos = v.hashed
	}
	n, err := io.Copy(v.h, io.LimitReader(v.r, v.size-v.hashed))
	v.hashed += n
	v.rpos = v.hashed
	if err != nil {
		return err
	}
	if v.hashed < v.size {
		return v.corrupt(fmt.Sprintf("ends after %d of its %d bytes", v.hashed, v.size))
	}
	return v.check()
}

// Seek sets the position; r moves on the next Read.
func (v *Reader) Seek(offset int64, whence int) (int64, error) {
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		offset += v.pos
	case io.SeekEnd:
		offset += v.size
	default:
		return 0, errors.New("blobverify: invalid whence")
	}
	if offset < 0 {
		return 0, errors.New("blobverify: negative position")
	}
	v.pos = offset
	return offset, nil
}

// Close closes r.
func (v *Reader) Close() error { return v.r.Close() }
