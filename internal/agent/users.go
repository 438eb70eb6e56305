package agent

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// Drivers run under uids the agent allocates from a range, as systemd's
// DynamicUser does (SPEC §12): each driver name gets one uid, kept across
// restarts in DIR/driver-uids.json and released when the driver is gone
// from the gateway. This file holds the allocator; who runs as what is
// decided in identity.go.

// Defaults of `driverhub agent`.
const (
	// DefaultDriverUIDs is systemd's DynamicUser range: no distribution
	// gives these uids to users.
	DefaultDriverUIDs = "61184-65519"
	// DriverGroup is the primary group of drivers with their own uids; the
	// install guide and the systemd unit create it.
	DriverGroup = "driverhub-driver"
)

// uidRange is an inclusive range of uids.
type uidRange struct{ first, last uint32 }

func (r uidRange) String() string { return fmt.Sprintf("%d-%d", r.first, r.last) }

func (r uidRange) size() uint32 { return r.last - r.first + 1 }

func (r uidRange) holds(uid uint32) bool { return uid >= r.first && uid <= r.last }

// maxDriverUID keeps ranges below the uids the kernel and NSS treat as
// special ((uid_t)-1 and, on 16-bit interfaces, 65535).
const maxDriverUID = 1<<31 - 1

// parseUIDRange reads --driver-uids: FIRST-LAST, neither root nor a
// special uid.
func parseUIDRange(s string) (uidRange, error) {
	a, b, ok := strings.Cut(strings.TrimSpace(s), "-")
	first, err1 := strconv.ParseUint(strings.TrimSpace(a), 10, 32)
	last, err2 := strconv.ParseUint(strings.TrimSpace(b), 10, 32)
	switch {
	case !ok || err1 != nil || err2 != nil:
		return uidRange{}, fmt.Errorf("--driver-uids %q: want FIRST-LAST, two uids such as %s", s, DefaultDriverUIDs)
	case first > last:
		return uidRange{}, fmt.Errorf("--driver-uids %q: FIRST is above LAST", s)
	case first == 0:
		return uidRange{}, fmt.Errorf("--driver-uids %q: uid 0 is root; drivers get unprivileged uids", s)
	case last > maxDriverUID:
		return uidRange{}, fmt.Errorf("--driver-uids %q: uids above %d are special to the kernel", s, maxDriverUID)
	case first <= 65535 && last >= 65535:
		return uidRange{}, fmt.Errorf("--driver-uids %q: holds 65535, which 16-bit interfaces read as \"no uid\"", s)
	}
	return uidRange{uint32(first), uint32(last)}, nil
}

// parsePasswd reads /etc/passwd: the uid of each user, by uid.
func parsePasswd(r io.Reader) (map[uint32]string, error) {
	users := map[uint32]string{}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		f := strings.Split(sc.Text(), ":")
		if len(f) < 4 || strings.HasPrefix(f[0], "#") || strings.HasPrefix(f[0], "+") || strings.HasPrefix(f[0], "-") {
			continue
		}
		if uid, err := strconv.ParseUint(f[2], 10, 32); err == nil {
			if _, seen := users[uint32(uid)]; !seen {
				users[uint32(uid)] = f[0]
			}
		}
	}
	return users, sc.Err()
}

// passwdEntry is a user of /etc/passwd.
type passwdEntry struct {
	name     string
	uid, gid uint32
}

// lookupUser finds a user in /etc/passwd by name.
func lookupUser(r io.Reader, name string) (passwdEntry, bool, error) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		f := strings.Split(sc.Text(), ":")
		if len(f) < 4 || f[0] != name {
			continue
		}
		uid, err1 := strconv.ParseUint(f[2], 10, 32)
		gid, err2 := strconv.ParseUint(f[3], 10, 32)
		if err1 != nil || err2 != nil {
			return passwdEntry{}, false, fmt.Errorf("user %s has uid %q, gid %q", name, f[2], f[3])
		}
		return passwdEntry{name, uint32(uid), uint32(gid)}, true, nil
	}
	return passwdEntry{}, false, sc.Err()
}

// groupName finds a group's name in /etc/group by gid.
func groupName(r io.Reader, gid uint32) (string, bool) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		if f := strings.Split(sc.Text(), ":"); len(f) >= 3 && f[2] == strconv.FormatUint(uint64(gid), 10) {
			return f[0], true
		}
	}
	return "", false
}

// lookupGroup finds a group's gid in /etc/group.
func lookupGroup(r io.Reader, name string) (uint32, bool, error) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		f := strings.Split(sc.Text(), ":")
		if len(f) >= 3 && f[0] == name {
			gid, err := strconv.ParseUint(f[2], 10, 32)
			if err != nil {
				return 0, false, fmt.Errorf("group %s has gid %q", name, f[2])
			}
			return uint32(gid), true, nil
		}
	}
	return 0, false, sc.Err()
}

// uidAllocator gives each driver name its own uid from a range.
type uidAllocator struct {
	rng  uidRange
	path string // where allocations are kept; "" keeps them in memory
	// users reads the uids of the host's users, at each allocation: a
	// user created since the agent started is never given to a driver.
	users func() (map[uint32]string, error)

	mu     sync.Mutex
	byName map[string]uint32
}

// uidFile is what DIR/driver-uids.json holds.
type uidFile struct {
	UIDs map[string]uint32 `json:"uids"`
}

// newUIDAllocator loads the kept allocations; those outside the range
// (the range changed) are dropped, and allocated again when needed.
func newUIDAllocator(rng uidRange, path string, users func() (map[uint32]string, error)) (*uidAllocator, error) {
	al := &uidAllocator{rng: rng, path: path, users: users, byName: map[string]uint32{}}
	if path == "" {
		return al, nil
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return al, nil
	}
	if err != nil {
		return nil, err
	}
	var f uidFile
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	for name, uid := range f.UIDs {
		if rng.holds(uid) {
			al.byName[name] = uid
		}
	}
	return al, nil
}

// checkUsers refuses a range that holds uids of the host's users: a
// driver would share their files.
func (al *uidAllocator) checkUsers() error {
	users, err := al.users()
	if err != nil {
		return err
	}
	var clash []string
	for uid, name := range users {
		if al.rng.holds(uid) {
			clash = append(clash, fmt.Sprintf("%s (%d)", name, uid))
		}
	}
	if len(clash) == 0 {
		return nil
	}
	slices.Sort(clash)
	return fmt.Errorf("--driver-uids %s holds the uids of users in /etc/passwd: %s: choose a range no user has (the default %s is systemd's DynamicUser range)",
		al.rng, strings.Join(clash[:min(len(clash), 5)], ", "), DefaultDriverUIDs)
}

// uidFor returns the driver's uid, allocating one the first time: from a
// hash of the name (a reinstalled gateway tends to give the same uids)
// onwards, the first uid neither another driver nor a user has.
func (al *uidAllocator) uidFor(name string) (uint32, error) {
	al.mu.Lock()
	defer al.mu.Unlock()
	if uid, ok := al.byName[name]; ok {
		return uid, nil
	}
	users, err := al.users()
	if err != nil {
		return 0, err
	}
	taken := make(map[uint32]bool, len(al.byName))
	for _, uid := range al.byName {
		taken[uid] = true
	}
	h := fnv.New32a()
	h.Write([]byte(name))
	size := al.rng.size()
	start := h.Sum32() % size
	for i := uint32(0); i < size; i++ {
		uid := al.rng.first + (start+i)%size
		if _, user := users[uid]; taken[uid] || user {
			continue
		}
		al.byName[name] = uid
		if err := al.save(); err != nil {
			delete(al.byName, name)
			return 0, fmt.Errorf("keep the driver's uid: %w", err)
		}
		return uid, nil
	}
	return 0, fmt.Errorf("no free uid left in --driver-uids %s: its %d uids are taken by drivers (%d) and users: widen the range",
		al.rng, size, len(al.byName))
}

// release frees a removed driver's uid.
func (al *uidAllocator) release(name string) error {
	al.mu.Lock()
	defer al.mu.Unlock()
	uid, ok := al.byName[name]
	if !ok {
		return nil
	}
	delete(al.byName, name)
	if err := al.save(); err != nil {
		al.byName[name] = uid
		return err
	}
	return nil
}

// names lists the drivers that hold a uid.
func (al *uidAllocator) names() []string {
	al.mu.Lock()
	defer al.mu.Unlock()
	names := make([]string, 0, len(al.byName))
	for n := range al.byName {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

func (al *uidAllocator) save() error {
	if al.path == "" {
		return nil
	}
	b, err := json.MarshalIndent(uidFile{UIDs: al.byName}, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(al.path, b, 0o600)
}
