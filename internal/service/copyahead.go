package service

import (
	"errors"
	"io"
)

// copyAhead copies src to dst as io.Copy does, but reads the next buffer
// while dst takes the last one: an upload's network reads then overlap
// its file writes and digests (each about a third of the work) on
// another core. It returns what dst took, and the first error of either
// side other than the end of src.
func copyAhead(dst io.Writer, src io.Reader) (int64, error) {
	const size, buffers = 256 << 10, 3
	free := make(chan []byte, buffers)
	for range buffers {
		free <- make([]byte, size)
	}
	full := make(chan []byte, buffers)
	stop, stopped := make(chan struct{}), make(chan struct{})
	// On return the reader has stopped: the body is not read after the
	// caller is done with it (a write failed), at most one buffer later.
	defer func() { close(stop); <-stopped }()
	var readErr error // read by this goroutine only once full is closed
	go func() {
		defer close(stopped)
		defer close(full)
		for {
			var buf []byte
			select {
			case buf = <-free:
			case <-stop:
				return
			}
			n, err := io.ReadFull(src, buf)
			if n > 0 {
				full <- buf[:n] // never blocks: full holds every buffer
			}
			if err != nil {
				if !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
					readErr = err
				}
				return
			}
		}
	}()
	var written int64
	for buf := range full {
		n, err := dst.Write(buf)
		written += int64(n)
		if err == nil && n < len(buf) {
			err = io.ErrShortWrite
		}
		if err != nil {
			return written, err
		}
		free <- buf[:cap(buf)]
	}
	return written, readErr
}
