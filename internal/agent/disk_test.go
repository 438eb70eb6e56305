package agent

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/driverhub/driverhub"
)

// files lists what DIR/sub holds, every file and directory, relative to it.
func (ta *testAgent) files(t *testing.T, sub string) []string {
	t.Helper()
	root := filepath.Join(ta.cfg.Dir, sub)
	var out []string
	err := filepath.WalkDir(root, func(path string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if path != root {
			rel, _ := filepath.Rel(root, path)
			out = append(out, rel)
		}
		return nil
	})
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return out
}

// versionDirs lists the unpacked versions of a driver on disk.
func (ta *testAgent) versionDirs(t *testing.T, name string) []string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(ta.cfg.Dir, "drivers", name))
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		if e.IsDir() && e.Name() != "runtime" {
			out = append(out, e.Name())
		}
	}
	return out
}

// unpackedAs names the directory a version of a package unpacks into.
func unpackedAs(version string, pkg *driverhub.BlobLink) string {
	return version + "-" + pkg.SHA256[:12]
}

func TestUpgradesKeepTheRunningVersionAndTheOneBefore(t *testing.T) {
	ta := newTestAgent(t)
	var pkgs []*driverhub.BlobLink
	for i := 1; i <= 6; i++ { // a first deployment and 5 upgrades
		version := fmt.Sprintf("%d.0.0", i)
		pkgs = append(pkgs, ta.gw.pkg(t, "up", "version.txt", version))
		ta.deploy(fmt.Sprintf("d%d", i), driverOf("meter", version, pkgs[i-1]))
		if st, reason, _ := ta.gw.deployment(fmt.Sprintf("d%d", i)); st != driverhub.DeploySucceeded {
			t.Fatalf("upgrade to %s: %s (%s)", version, st, reason)
		}
	}
	checkDisk := func(when string, want ...int) {
		t.Helper()
		var dirs, blobs []string
		for _, i := range want {
			dirs = append(dirs, unpackedAs(fmt.Sprintf("%d.0.0", i), pkgs[i-1]))
			blobs = append(blobs, pkgs[i-1].SHA256)
		}
		slices.Sort(dirs)
		slices.Sort(blobs)
		if got := ta.versionDirs(t, "meter"); !slices.Equal(got, dirs) {
			t.Errorf("%s: unpacked versions %q, want %q", when, got, dirs)
		}
		if got := ta.files(t, "cache"); !slices.Equal(got, blobs) {
			t.Errorf("%s: cache holds %q, want the packages %q", when, got, blobs)
		}
	}
	checkDisk("after 5 upgrades", 5, 6)

	// A version that does not stay up is rolled back to 6.0.0, which runs
	// from the disk: 5.0.0 is still the one before, the failed one is gone.
	bad := ta.gw.pkg(t, "exit 1", "version.txt", "7")
	ta.deploy("d7", driverOf("meter", "7.0.0", bad))
	if v := ta.state.Drivers["meter"].Manifest.Version; v != "6.0.0" {
		t.Fatalf("runs %s after the failed upgrade, want 6.0.0", v)
	}
	checkDisk("after a rolled back upgrade", 5, 6)
}

func TestRemovedDriverLeavesNothing(t *testing.T) {
	ta := newTestAgent(t)
	meter := driverOf("meter", "1.0.0", ta.gw.pkg(t, "up"))
	valve := driverOf("valve", "1.0.0", ta.gw.pkg(t, "up", "valve.txt", "v"))
	ta.deploy("d1", meter, valve)
	ta.deploy("d2", meter)

	if _, err := os.Stat(filepath.Join(ta.cfg.Dir, "drivers", "valve")); !os.IsNotExist(err) {
		t.Errorf("drivers/valve remains after valve was removed (%v)", err)
	}
	if got, want := ta.files(t, "cache"), []string{meter.Package.SHA256}; !slices.Equal(got, want) {
		t.Errorf("cache holds %q, want meter's package alone", got)
	}
	if got := ta.files(t, "logs"); !slices.Equal(got, []string{"meter.log"}) {
		t.Errorf("logs/ holds %q, want meter's log alone", got)
	}
}

// What a crash in the middle of cleaning or unpacking left is deleted when
// the agent starts again; what runs, and partial downloads, stay.
func TestCleanDiskRemovesLeftoversOfACrash(t *testing.T) {
	ta := newTestAgent(t)
	pkg := ta.gw.pkg(t, "up")
	ta.deploy("d1", driverOf("meter", "1.0.0", pkg))
	meterDir := filepath.Join(ta.cfg.Dir, "drivers", "meter")
	leftovers := []string{
		filepath.Join(meterDir, trashPrefix+"0.9.0-0123456789ab"),
		filepath.Join(meterDir, ".2.0.0-0123456789ab"+unpackMark+"42"),
		filepath.Join(ta.cfg.Dir, "drivers", trashPrefix+"valve"),
	}
	for _, dir := range leftovers {
		if err := os.MkdirAll(filepath.Join(dir, "lib"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	part := filepath.Join(ta.cfg.Dir, "cache", pkg.SHA256[:60]+"abcd.part")
	if err := os.WriteFile(part, []byte("half"), 0o600); err != nil {
		t.Fatal(err)
	}
	ta.cleanDisk(nil)

	for _, dir := range leftovers {
		if _, err := os.Stat(dir); !os.IsNotExist(err) {
			t.Errorf("%s remains (%v)", dir, err)
		}
	}
	if got, want := ta.versionDirs(t, "meter"), []string{unpackedAs("1.0.0", pkg)}; !slices.Equal(got, want) {
		t.Errorf("unpacked versions %q, want the running one %q", got, want)
	}
	if _, err := os.Stat(part); err != nil {
		t.Errorf("a partial download was removed: it would start again from zero (%v)", err)
	}
}
