package agent

import (
	"path/filepath"
	"strings"
	"testing"
)

// fakePasswd is an /etc/passwd for the allocator.
func fakePasswd(content string) func() (map[uint32]string, error) {
	return func() (map[uint32]string, error) { return parsePasswd(strings.NewReader(content)) }
}

const passwd = `root:x:0:0:root:/root:/bin/bash
# a comment
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
+nisuser::::::
`

func newTestAllocator(t *testing.T, rng, path, users string) *uidAllocator {
	t.Helper()
	r, err := parseUIDRange(rng)
	if err != nil {
		t.Fatal(err)
	}
	al, err := newUIDAllocator(r, path, fakePasswd(users))
	if err != nil {
		t.Fatal(err)
	}
	return al
}

func TestParseUIDRangeErrorsNameTheFlag(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", "want FIRST-LAST"},
		{"61184", "want FIRST-LAST"},
		{"a-b", "want FIRST-LAST"},
		{"-5-10", "want FIRST-LAST"},
		{"70000-60000", "FIRST is above LAST"},
		{"0-100", "uid 0 is root"},
		{"60000-70000", "65535"},
		{"3000000000-3000000010", "special to the kernel"},
	} {
		_, err := parseUIDRange(tc.in)
		if err == nil || !strings.Contains(err.Error(), "--driver-uids") || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("parseUIDRange(%q) = %v, want an error naming --driver-uids and saying %q", tc.in, err, tc.want)
		}
	}
	r, err := parseUIDRange(DefaultDriverUIDs)
	if err != nil || r.first != 61184 || r.last != 65519 {
		t.Errorf("parseUIDRange(%q) = %v, %v", DefaultDriverUIDs, r, err)
	}
}

func TestUIDStablePerName(t *testing.T) {
	path := filepath.Join(t.TempDir(), "driver-uids.json")
	al := newTestAllocator(t, DefaultDriverUIDs, path, passwd)
	uids := map[string]uint32{}
	seen := map[uint32]string{}
	for _, name := range []string{"modbus", "opcua", "lora", "meter1", "meter2"} {
		uid, err := al.uidFor(name)
		if err != nil {
			t.Fatal(err)
		}
		if other, dup := seen[uid]; dup {
			t.Errorf("%s and %s both got uid %d", name, other, uid)
		}
		if uid < 61184 || uid > 65519 {
			t.Errorf("%s got uid %d, outside the range", name, uid)
		}
		uids[name], seen[uid] = uid, name
		if again, _ := al.uidFor(name); again != uid {
			t.Errorf("%s got uid %d, then %d", name, uid, again)
		}
	}
	// An agent restarted on the same directory gives each the same uid,
	// whatever order the drivers start in.
	restarted := newTestAllocator(t, DefaultDriverUIDs, path, passwd)
	for _, name := range []string{"meter2", "lora", "modbus", "opcua", "meter1"} {
		if uid, err := restarted.uidFor(name); err != nil || uid != uids[name] {
			t.Errorf("after a restart %s has uid %d (%v), want %d", name, uid, err, uids[name])
		}
	}
}

func TestUIDReleasedWhenDriverRemoved(t *testing.T) {
	path := filepath.Join(t.TempDir(), "driver-uids.json")
	al := newTestAllocator(t, "70000-70000", path, passwd)
	uid, err := al.uidFor("old")
	if err != nil || uid != 70000 {
		t.Fatalf("uidFor(old) = %d, %v", uid, err)
	}
	if _, err := al.uidFor("new"); err == nil {
		t.Fatal("a second driver got a uid from a range of one")
	}
	if err := al.release("old"); err != nil {
		t.Fatal(err)
	}
	restarted := newTestAllocator(t, "70000-70000", path, passwd)
	if got := restarted.names(); len(got) != 0 {
		t.Errorf("after release the kept allocations are %v, want none", got)
	}
	if uid, err := restarted.uidFor("new"); err != nil || uid != 70000 {
		t.Errorf("uidFor(new) after release = %d, %v; want the freed 70000", uid, err)
	}
}

func TestUIDRangeExhausted(t *testing.T) {
	al := newTestAllocator(t, "70000-70001", "", passwd)
	for _, name := range []string{"a", "b"} {
		if _, err := al.uidFor(name); err != nil {
			t.Fatal(err)
		}
	}
	_, err := al.uidFor("c")
	if err == nil || !strings.Contains(err.Error(), "no free uid left in --driver-uids 70000-70001") || !strings.Contains(err.Error(), "widen the range") {
		t.Errorf("third driver in a range of two: %v", err)
	}
}

func TestUIDSkipsUsersInPasswd(t *testing.T) {
	users := passwd + "alice:x:70000:70000::/home/alice:/bin/sh\nbob:x:70001:70001::/home/bob:/bin/sh\n"
	al := newTestAllocator(t, "70000-70002", "", users)
	err := al.checkUsers()
	if err == nil || !strings.Contains(err.Error(), "alice (70000), bob (70001)") || !strings.Contains(err.Error(), "--driver-uids 70000-70002") {
		t.Errorf("checkUsers with alice and bob in the range: %v", err)
	}
	for _, name := range []string{"a", "bb", "ccc"} {
		if uid, err := al.uidFor(name); err == nil && uid != 70002 {
			t.Errorf("%s got uid %d, a user's", name, uid)
		}
	}
	if uid, err := al.uidFor("a"); err != nil || uid != 70002 {
		t.Errorf("uidFor(a) = %d, %v, want 70002, the one no user has", uid, err)
	}
	if err := newTestAllocator(t, "70003-70010", "", users).checkUsers(); err != nil {
		t.Errorf("checkUsers with no user in the range: %v", err)
	}
}

func TestUIDRangeChangedDropsAllocationsOutside(t *testing.T) {
	path := filepath.Join(t.TempDir(), "driver-uids.json")
	if _, err := newTestAllocator(t, "70000-70009", path, passwd).uidFor("a"); err != nil {
		t.Fatal(err)
	}
	moved := newTestAllocator(t, "80000-80009", path, passwd)
	if uid, err := moved.uidFor("a"); err != nil || uid < 80000 || uid > 80009 {
		t.Errorf("after the range moved, a has uid %d (%v), want one of the new range", uid, err)
	}
}

func TestLookupGroup(t *testing.T) {
	groups := "root:x:0:\ndriverhub-driver:x:998:\nbroken:x:abc:\n"
	if gid, ok, err := lookupGroup(strings.NewReader(groups), DriverGroup); err != nil || !ok || gid != 998 {
		t.Errorf("lookupGroup(%s) = %d, %v, %v", DriverGroup, gid, ok, err)
	}
	if _, ok, err := lookupGroup(strings.NewReader(groups), "absent"); ok || err != nil {
		t.Errorf("lookupGroup(absent) = %v, %v", ok, err)
	}
	if _, _, err := lookupGroup(strings.NewReader(groups), "broken"); err == nil {
		t.Error("a group with gid abc was read")
	}
}

func TestLookupUser(t *testing.T) {
	u, ok, err := lookupUser(strings.NewReader(passwd), "nobody")
	if err != nil || !ok || u != (passwdEntry{"nobody", 65534, 65534}) {
		t.Errorf("lookupUser(nobody) = %+v, %v, %v", u, ok, err)
	}
	if _, ok, err := lookupUser(strings.NewReader(passwd), "absent"); ok || err != nil {
		t.Errorf("lookupUser(absent) = %v, %v", ok, err)
	}
	if name, ok := groupName(strings.NewReader("root:x:0:\nnogroup:x:65534:\n"), 65534); !ok || name != "nogroup" {
		t.Errorf("groupName(65534) = %q, %v", name, ok)
	}
}
