package fsblob

import (
	"io/fs"
	"syscall"
)

// fileID tells one state of a file from another.
type fileID struct {
	dev, ino            uint64
	size                int64
	mtimeSec, mtimeNsec int64
	ctimeSec, ctimeNsec int64
}

func idOf(info fs.FileInfo) fileID {
	st, ok := info.Sys().(*syscall.Stat_t)
	if !ok {
		return fileID{size: info.Size(), mtimeNsec: info.ModTime().UnixNano()}
	}
	return fileID{dev: uint64(st.Dev), ino: st.Ino, size: st.Size,
		mtimeSec: st.Mtim.Sec, mtimeNsec: st.Mtim.Nsec, ctimeSec: st.Ctim.Sec, ctimeNsec: st.Ctim.Nsec}
}
