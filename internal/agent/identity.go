package agent

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/driverhub/driverhub/internal/driverrt"
)

// DriverUsers says whom drivers run as (SPEC §12), from the agent's flags.
// The zero value gives each driver its own uid from DefaultDriverUIDs,
// with primary group DriverGroup.
type DriverUsers struct {
	// UIDs is the range of the drivers' own uids, "FIRST-LAST" (--driver-uids).
	UIDs string
	// User runs every driver as this one user instead (--driver-user).
	User string
	// Group is the primary group of drivers with their own uids.
	Group string
}

// identities gives each driver its user. An agent that is not root runs
// every driver as itself: it cannot switch.
type identities struct {
	root   bool           // the agent is root: it switches users
	alloc  *uidAllocator  // each driver its own uid; nil otherwise
	gid    uint32         // alloc's primary group
	group  string         // and its name
	shared *driverrt.User // --driver-user
}

// newIdentities checks that drivers can be given their users and says
// how to fix what is missing. With p nil every driver runs as the agent.
func newIdentities(p *DriverUsers, dir string, log *slog.Logger) (*identities, error) {
	if p == nil {
		return &identities{}, nil
	}
	if os.Geteuid() != 0 {
		if p.User != "" {
			if u, err := sharedUser(p.User); err != nil || u.UID != uint32(os.Geteuid()) {
				return nil, fmt.Errorf("--driver-user %s: only an agent run as root can run drivers as another user", p.User)
			}
		}
		log.Warn("the agent does not run as root: every driver runs as the agent's own user and can read what the agent reads (its secret, state and other drivers)",
			"uid", os.Geteuid())
		return &identities{}, nil
	}
	if p.User != "" {
		u, err := sharedUser(p.User)
		if err != nil {
			return nil, err
		}
		if err := checkDriversReach(dir, *u); err != nil {
			return nil, err
		}
		return &identities{root: true, shared: u}, nil
	}
	return ownIdentities(p, dir, log)
}

// sharedUser looks up --driver-user in /etc/passwd.
func sharedUser(name string) (*driverrt.User, error) {
	f, err := os.Open("/etc/passwd")
	if err != nil {
		return nil, err
	}
	u, found, err := lookupUser(f, name)
	f.Close()
	switch {
	case err != nil:
		return nil, fmt.Errorf("--driver-user %s: /etc/passwd: %w", name, err)
	case !found:
		return nil, fmt.Errorf("--driver-user %s: no such user in /etc/passwd", name)
	case u.uid == 0:
		return nil, fmt.Errorf("--driver-user %s is root: drivers run unprivileged; a version that needs root says privileged: true", name)
	}
	group := "driverhub"
	if g, err := os.Open("/etc/group"); err == nil {
		if n, ok := groupName(g, u.gid); ok {
			group = n
		}
		g.Close()
	}
	return &driverrt.User{UID: u.uid, GID: u.gid, Name: u.name, Group: group}, nil
}

// ownIdentities sets up the allocation of the drivers' own uids: the
// range, the group, files that can be given to those uids, and a
// directory they can reach.
func ownIdentities(p *DriverUsers, dir string, log *slog.Logger) (*identities, error) {
	spec := p.UIDs
	if spec == "" {
		spec = DefaultDriverUIDs
	}
	rng, err := parseUIDRange(spec)
	if err != nil {
		return nil, err
	}
	group := p.Group
	if group == "" {
		group = DriverGroup
	}
	gid, err := driverGroup(group, log)
	if err != nil {
		return nil, err
	}
	al, err := newUIDAllocator(rng, filepath.Join(dir, "driver-uids.json"), hostUsers)
	if err != nil {
		return nil, err
	}
	if err := al.checkUsers(); err != nil {
		return nil, err
	}
	if err := chownProbe(filepath.Join(dir, "runtime"), rng.first, gid); err != nil {
		return nil, err
	}
	if err := checkDriversReach(dir, driverrt.User{UID: rng.first, GID: gid}); err != nil {
		return nil, err
	}
	return &identities{root: true, alloc: al, gid: gid, group: group}, nil
}

// driverGroup returns the gid of the drivers' group, creating it as a
// system group when it is missing (as the systemd unit would), so that a
// root agent started by hand on a fresh gateway gives drivers their own
// users without a setup step. Without groupadd it says what to do.
func driverGroup(group string, log *slog.Logger) (uint32, error) {
	gid, found, err := readGroup(group)
	if err != nil || found {
		return gid, err
	}
	out, err := exec.Command("groupadd", "--system", group).CombinedOutput()
	if err != nil {
		return 0, fmt.Errorf("group %s does not exist and groupadd --system %s failed (%v: %s): create it, or run every driver as one user with --driver-user",
			group, group, err, strings.TrimSpace(string(out)))
	}
	if gid, found, err = readGroup(group); err == nil && !found {
		err = fmt.Errorf("group %s: groupadd succeeded but /etc/group has no such group", group)
	}
	if err == nil {
		log.Info("created the drivers' group", "group", group, "gid", gid)
	}
	return gid, err
}

// readGroup looks a group up in /etc/group.
func readGroup(name string) (uint32, bool, error) {
	f, err := os.Open("/etc/group")
	if err != nil {
		return 0, false, err
	}
	defer f.Close()
	gid, found, err := lookupGroup(f, name)
	if err != nil {
		return 0, false, fmt.Errorf("/etc/group: %w", err)
	}
	return gid, found, nil
}

// hostUsers reads /etc/passwd.
func hostUsers() (map[uint32]string, error) {
	f, err := os.Open("/etc/passwd")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return parsePasswd(f)
}

// chownProbe gives a file to uid:gid, to learn that the agent can.
func chownProbe(dir string, uid, gid uint32) error {
	f, err := os.CreateTemp(dir, ".chown-probe-")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	defer f.Close()
	if err := f.Chown(int(uid), int(gid)); err != nil {
		return fmt.Errorf("cannot give files to the drivers' uids (%w): the agent needs CAP_CHOWN; run it as root outside a user namespace", err)
	}
	return nil
}

// checkDriversReach refuses a directory whose drivers' part the drivers
// could not reach: a directory above it that others cannot search.
func checkDriversReach(dir string, u driverrt.User) error {
	if err := driverrt.CheckReach(filepath.Join(dir, "drivers"), u); err != nil {
		return fmt.Errorf("drivers cannot reach their directories in %s: %w: make every directory above it searchable by all (chmod o+x) or choose another --dir", dir, err)
	}
	return nil
}

// userFor is whom a driver runs as: nil (the agent itself) when the agent
// is not root, root when privileged, else --driver-user or its own uid.
func (id *identities) userFor(name string, privileged bool) (*driverrt.User, error) {
	switch {
	case !id.root:
		return nil, nil
	case privileged:
		u := driverrt.Root
		return &u, nil
	case id.shared != nil:
		return id.shared, nil
	case id.alloc == nil:
		return nil, errors.New("no driver users configured")
	}
	uid, err := id.alloc.uidFor(name)
	if err != nil {
		return nil, err
	}
	return &driverrt.User{UID: uid, GID: id.gid, Name: "dh-" + name, Group: id.group}, nil
}

// release frees the uid of a driver gone from the gateway.
func (id *identities) release(name string) error {
	if id.alloc == nil {
		return nil
	}
	return id.alloc.release(name)
}

// OwnUIDs reports whether each driver runs under its own uid (SPEC §12):
// false when the agent is not root (every driver runs as the agent's
// user) or --driver-user names one user for all.
func (a *Agent) OwnUIDs() bool { return a.ids.alloc != nil }
