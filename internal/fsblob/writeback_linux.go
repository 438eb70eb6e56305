package fsblob

import (
	"os"

	"golang.org/x/sys/unix"
)

// writeback writes to a file and asks the kernel to start writing each
// few MiB to disk as they arrive, so that the fsync before the file is
// committed finds little left to do.
type writeback struct {
	f       *os.File
	written int64
	flushed int64
}

const writebackChunk = 4 << 20

func (w *writeback) Write(p []byte) (int, error) {
	n, err := w.f.Write(p)
	w.written += int64(n)
	if w.written-w.flushed >= writebackChunk {
		// Advisory: an error only means the fsync does all the work.
		_ = unix.SyncFileRange(int(w.f.Fd()), w.flushed, w.written-w.flushed, unix.SYNC_FILE_RANGE_WRITE)
		w.flushed = w.written
	}
	return n, err
}
