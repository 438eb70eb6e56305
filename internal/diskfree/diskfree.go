// Package diskfree tells how much room a filesystem has left, and whether
// an error means it has none, for the stores that write to local disk.
package diskfree

import (
	"errors"
	"fmt"
	"os"
	"syscall"

	"github.com/driverhub/driverhub"
)

// IsFull reports whether err is a write refused for lack of space (or of
// quota).
func IsFull(err error) bool {
	return errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT)
}

// Wrap turns a write error for lack of space into driverhub.ErrNoSpace
// (keeping the original text), and leaves others alone.
func Wrap(err error) error {
	if err != nil && IsFull(err) {
		return fmt.Errorf("%w (%v)", driverhub.ErrNoSpace, err)
	}
	return err
}

// Check returns driverhub.ErrNoSpace, saying how much is left, when the
// filesystem of dir has less than min bytes available.
func Check(dir string, min int64) error {
	if min <= 0 {
		return nil
	}
	free, err := Free(dir)
	if err != nil {
		return err
	}
	if free < min {
		return fmt.Errorf("%w: %s free on the filesystem of %s, below the %s kept free (room for the database)",
			driverhub.ErrNoSpace, mib(free), dir, mib(min))
	}
	return nil
}

func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }

func writeZeros(f *os.File, n int64) error {
	buf := make([]byte, 1<<20)
	for n > 0 {
		k := min(n, int64(len(buf)))
		if _, err := f.Write(buf[:k]); err != nil {
			return err
		}
		n -= k
	}
	return f.Sync()
}
