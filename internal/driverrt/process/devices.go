package process

import (
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/driverhub/driverhub"
)

// A driver of the process runtime reaches its listed devices (SPEC §3
// device_mappings) through a POSIX ACL entry for its own uid on each
// device node, as systemd-logind grants a seat's user its devices: the
// entry is added at start and removed at stop. Other devices it reaches
// only as any unprivileged user does (world-accessible nodes such as
// /dev/null), since it has no supplementary groups.

const aclXattr = "system.posix_acl_access"

// ACL entry tags and the "no id" of the entries that name no user or group
// (linux/posix_acl_xattr.h).
const (
	aclUserObj  = 0x01
	aclUser     = 0x02
	aclGroupObj = 0x04
	aclGroup    = 0x08
	aclMask     = 0x10
	aclOther    = 0x20
	aclNoID     = 0xffffffff
	aclVersion  = 2
)

type aclEntry struct {
	tag, perm uint16
	id        uint32
}

// grant is one device a driver was given: its node and the uid.
type grant struct {
	Path string `json:"path"`
	UID  uint32 `json:"uid"`
}

// grants counts the running drivers given each (node, uid), so that two
// drivers sharing a uid (--driver-user) and a device do not take it from
// each other.
var grants = struct {
	sync.Mutex
	n map[grant]int
}{n: map[grant]int{}}

// grantDevices gives uid access to the listed devices and returns what it
// granted, for revokeDevices.
func grantDevices(maps []driverhub.DeviceMapping, uid uint32) ([]grant, error) {
	var done []grant
	for _, m := range maps {
		node, err := filepath.EvalSymlinks(m.HostPath) // /dev/serial/by-id/… names a node elsewhere
		if err != nil {
			revokeDevices(done)
			return nil, fmt.Errorf("device %s does not exist", m.HostPath)
		}
		var st unix.Stat_t
		if err := unix.Stat(node, &st); err != nil || (st.Mode&unix.S_IFMT != unix.S_IFCHR && st.Mode&unix.S_IFMT != unix.S_IFBLK) {
			revokeDevices(done)
			return nil, fmt.Errorf("%s is not a device", m.HostPath)
		}
		perm := uint16(4)
		if m.Permission == "rw" {
			perm = 6
		}
		g := grant{Path: node, UID: uid}
		grants.Lock()
		err = nil
		if grants.n[g] == 0 {
			err = setUserACL(node, uid, perm)
		}
		if err == nil {
			grants.n[g]++
		}
		grants.Unlock()
		if err != nil {
			revokeDevices(done)
			return nil, fmt.Errorf("give uid %d access to device %s: %w", uid, m.HostPath, err)
		}
		done = append(done, g)
	}
	return done, nil
}

// revokeDevices takes back what grantDevices gave, once the last driver
// given it is gone.
func revokeDevices(gs []grant) {
	for _, g := range gs {
		grants.Lock()
		grants.n[g]--
		last := grants.n[g] <= 0
		if last {
			delete(grants.n, g)
			_ = setUserACL(g.Path, g.UID, 0)
		}
		grants.Unlock()
	}
}

// setUserACL sets the node's ACL entry for uid to perm; perm 0 removes it.
// The mask is recomputed as the union of the group class, so no other
// entry gains or loses anything; with no named entry left the ACL is just
// the mode again.
func setUserACL(path string, uid uint32, perm uint16) error {
	entries, err := readACL(path)
	if err != nil {
		return err
	}
	entries = slices.DeleteFunc(entries, func(e aclEntry) bool {
		return (e.tag == aclUser && e.id == uid) || e.tag == aclMask
	})
	if perm != 0 {
		entries = append(entries, aclEntry{tag: aclUser, perm: perm, id: uid})
	}
	var mask uint16
	named := false
	for _, e := range entries {
		switch e.tag {
		case aclUser, aclGroup:
			named = true
			mask |= e.perm
		case aclGroupObj:
			mask |= e.perm
		}
	}
	if named {
		entries = append(entries, aclEntry{tag: aclMask, perm: mask, id: aclNoID})
	}
	slices.SortFunc(entries, func(a, b aclEntry) int {
		if a.tag != b.tag {
			return cmp.Compare(a.tag, b.tag)
		}
		return cmp.Compare(a.id, b.id)
	})
	return unix.Setxattr(path, aclXattr, encodeACL(entries), 0)
}

// readACL reads the node's access ACL, or the one its mode stands for.
func readACL(path string) ([]aclEntry, error) {
	buf := make([]byte, 4096)
	n, err := unix.Getxattr(path, aclXattr, buf)
	if errors.Is(err, unix.ENODATA) {
		var st unix.Stat_t
		if err := unix.Stat(path, &st); err != nil {
			return nil, err
		}
		m := uint16(st.Mode)
		return []aclEntry{{aclUserObj, m >> 6 & 7, aclNoID}, {aclGroupObj, m >> 3 & 7, aclNoID}, {aclOther, m & 7, aclNoID}}, nil
	}
	if err != nil {
		return nil, err
	}
	return decodeACL(buf[:n])
}

func decodeACL(b []byte) ([]aclEntry, error) {
	if len(b) < 4 || binary.LittleEndian.Uint32(b) != aclVersion || (len(b)-4)%8 != 0 {
		return nil, errors.New("unreadable ACL")
	}
	var out []aclEntry
	for b = b[4:]; len(b) > 0; b = b[8:] {
		out = append(out, aclEntry{tag: binary.LittleEndian.Uint16(b), perm: binary.LittleEndian.Uint16(b[2:]), id: binary.LittleEndian.Uint32(b[4:])})
	}
	return out, nil
}

func encodeACL(entries []aclEntry) []byte {
	b := binary.LittleEndian.AppendUint32(nil, aclVersion)
	for _, e := range entries {
		b = binary.LittleEndian.AppendUint16(b, e.tag)
		b = binary.LittleEndian.AppendUint16(b, e.perm)
		b = binary.LittleEndian.AppendUint32(b, e.id)
	}
	return b
}
