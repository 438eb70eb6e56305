package service

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"testing"
	"testing/iotest"
)

// copyAhead copies every byte in order whatever the sizes of the reads,
// and reports the reader's and the writer's failures.
func TestCopyAhead(t *testing.T) {
	data := make([]byte, 3<<20+12345)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range data {
		data[i] = byte(r.Uint32())
	}
	for name, src := range map[string]io.Reader{
		"whole":       bytes.NewReader(data),
		"byte a read": iotest.OneByteReader(bytes.NewReader(data[:300<<10])),
		"half reads":  iotest.HalfReader(bytes.NewReader(data)),
	} {
		var dst bytes.Buffer
		n, err := copyAhead(&dst, src)
		want := data
		if name == "byte a read" {
			want = data[:300<<10]
		}
		if err != nil || n != int64(len(want)) || !bytes.Equal(dst.Bytes(), want) {
			t.Errorf("%s: copied %d of %d bytes, equal %v, err %v", name, n, len(want), bytes.Equal(dst.Bytes(), want), err)
		}
	}

	broken := errors.New("connection reset")
	_, err := copyAhead(io.Discard, io.MultiReader(bytes.NewReader(data[:1<<20]), iotest.ErrReader(broken)))
	if !errors.Is(err, broken) {
		t.Errorf("a failing reader: %v, want %v", err, broken)
	}
	full := errors.New("no space left on device")
	n, err := copyAhead(&failingWriter{left: 600 << 10, err: full}, bytes.NewReader(data))
	if !errors.Is(err, full) || n != 512<<10 {
		t.Errorf("a failing writer: %d bytes taken, %v; want %d bytes, %v", n, err, 512<<10, full)
	}
}

// failingWriter takes whole writes until left is used up, then fails.
type failingWriter struct {
	left int
	err  error
}

func (w *failingWriter) Write(p []byte) (int, error) {
	if len(p) > w.left {
		return 0, w.err
	}
	w.left -= len(p)
	return len(p), nil
}
