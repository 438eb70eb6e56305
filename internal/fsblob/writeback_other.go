//go:build !linux

package fsblob

import "os"

// writeback is a plain file writer where the kernel takes no writeback hint.
type writeback struct{ f *os.File }

func (w *writeback) Write(p []byte) (int, error) { return w.f.Write(p) }
