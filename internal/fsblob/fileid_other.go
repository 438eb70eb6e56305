//go:build !linux

package fsblob

import "io/fs"

// fileID tells one state of a file from another, as far as portable
// file information can.
type fileID struct {
	size  int64
	mtime int64
}

func idOf(info fs.FileInfo) fileID {
	return fileID{size: info.Size(), mtime: info.ModTime().UnixNano()}
}
