//go:build unix

package diskfree

import "golang.org/x/sys/unix"

// Free returns the bytes an unprivileged process may still write on the
// filesystem of dir.
func Free(dir string) (int64, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return 0, err
	}
	return int64(st.Bavail) * int64(st.Bsize), nil
}
