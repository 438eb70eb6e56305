package cgroupfs_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/driverhub/driverhub/internal/driverrt/cgroupfs"
)

// tree writes a fake cgroupfs directory: file name to content.
func tree(t *testing.T, dir string, files map[string]string) string {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestVersionOf(t *testing.T) {
	root := t.TempDir()
	for _, tc := range []struct {
		name  string
		files map[string]string
		want  int
	}{
		{"v2 with the memory controller", map[string]string{"cgroup.controllers": "cpuset cpu io memory pids\n"}, 2},
		{"v2 without the memory controller", map[string]string{"cgroup.controllers": "cpu io pids\n"}, 0},
		{"v1 memory cgroup", map[string]string{"memory.limit_in_bytes": "9223372036854771712\n", "cgroup.procs": ""}, 1},
		{"v1 cgroup of another controller", map[string]string{"cpu.shares": "1024\n", "cgroup.procs": ""}, 0},
		{"not a cgroup", nil, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := tree(t, filepath.Join(root, strings.ReplaceAll(tc.name, " ", "-")), tc.files)
			if got := cgroupfs.VersionOf(dir); got != tc.want {
				t.Errorf("VersionOf = %d, want %d", got, tc.want)
			}
		})
	}
	if got := cgroupfs.VersionOf(filepath.Join(root, "missing")); got != 0 {
		t.Errorf("VersionOf(a missing directory) = %d, want 0", got)
	}
}

func TestMemoryFindsTheHierarchy(t *testing.T) {
	v2 := tree(t, t.TempDir(), map[string]string{"cgroup.controllers": "cpu memory\n"})
	if g := cgroupfs.Memory(v2, "/driverhub/x-1"); g.Version != 2 || g.Dir != filepath.Join(v2, "driverhub", "x-1") {
		t.Errorf("unified host: %+v, want v2 under %s", g, v2)
	}
	v1 := t.TempDir() // a tmpfs of one directory per controller
	tree(t, filepath.Join(v1, "memory"), map[string]string{"memory.limit_in_bytes": "9223372036854771712\n"})
	tree(t, filepath.Join(v1, "unified"), map[string]string{"cgroup.controllers": ""})
	if g := cgroupfs.Memory(v1, "/driverhub/x-1"); g.Version != 1 || g.Dir != filepath.Join(v1, "memory", "driverhub", "x-1") {
		t.Errorf("v1 (hybrid) host: %+v, want v1 under %s/memory", g, v1)
	}
}

func TestReadMemoryFiles(t *testing.T) {
	for _, tc := range []struct {
		name      string
		version   int
		files     map[string]string
		usage     int64
		oomKills  int64
		oomKnown  bool
		limitHits int64
	}{
		{"v1", 1, map[string]string{
			"memory.usage_in_bytes": "2879098880\n",
			"memory.oom_control":    "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n",
			"memory.failcnt":        "17\n",
		}, 2879098880, 2, true, 17},
		{"v1 before Linux 4.13: no oom_kill count", 1, map[string]string{
			"memory.usage_in_bytes": "4096\n",
			"memory.oom_control":    "oom_kill_disable 0\nunder_oom 0\n",
			"memory.failcnt":        "3\n",
		}, 4096, 0, false, 3},
		{"v2", 2, map[string]string{
			"memory.current": "654321\n",
			"memory.events":  "low 0\nhigh 0\nmax 5\noom 1\noom_kill 1\noom_group_kill 0\n",
		}, 654321, 1, true, 5},
		{"v2 cgroup removed", 2, nil, 0, 0, false, 0},
		{"v1 cgroup removed", 1, nil, 0, 0, false, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "x")
			if tc.files != nil {
				tree(t, dir, tc.files)
			}
			g := cgroupfs.Group{Version: tc.version, Dir: dir}
			if got := g.Usage(); got != tc.usage {
				t.Errorf("Usage = %d, want %d", got, tc.usage)
			}
			if n, ok := g.OOMKills(); n != tc.oomKills || ok != tc.oomKnown {
				t.Errorf("OOMKills = %d, %v; want %d, %v", n, ok, tc.oomKills, tc.oomKnown)
			}
			if got := g.LimitHits(); got != tc.limitHits {
				t.Errorf("LimitHits = %d, want %d", got, tc.limitHits)
			}
		})
	}
}

func TestSetLimit(t *testing.T) {
	const limit = 64 << 20
	for _, tc := range []struct {
		name    string
		version int
		files   []string          // control files the kernel offers (empty)
		want    map[string]string // what they must hold after SetLimit
	}{
		{"v2", 2, []string{"memory.max", "memory.swap.max", "memory.oom.group"},
			map[string]string{"memory.max": "67108864", "memory.swap.max": "0", "memory.oom.group": "1"}},
		{"v2 without swap", 2, []string{"memory.max", "memory.oom.group"},
			map[string]string{"memory.max": "67108864", "memory.oom.group": "1"}},
		{"v1 with swap accounting", 1, []string{"memory.limit_in_bytes", "memory.move_charge_at_immigrate", "memory.memsw.limit_in_bytes"},
			map[string]string{"memory.limit_in_bytes": "67108864", "memory.move_charge_at_immigrate": "3", "memory.memsw.limit_in_bytes": "67108864"}},
		{"v1 without swap accounting", 1, []string{"memory.limit_in_bytes", "memory.move_charge_at_immigrate"},
			map[string]string{"memory.limit_in_bytes": "67108864", "memory.move_charge_at_immigrate": "3"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			files := map[string]string{}
			for _, f := range tc.files {
				files[f] = ""
			}
			dir := tree(t, t.TempDir(), files)
			g := cgroupfs.Group{Version: tc.version, Dir: dir}
			if err := g.SetLimit(limit); err != nil {
				t.Fatal(err)
			}
			entries, _ := os.ReadDir(dir)
			if len(entries) != len(tc.want) {
				t.Errorf("%d files after SetLimit, want the %d the kernel offers: SetLimit must not create any", len(entries), len(tc.want))
			}
			for name, want := range tc.want {
				if got := read(t, filepath.Join(dir, name)); got != want {
					t.Errorf("%s = %q, want %q", name, got, want)
				}
			}
		})
	}
}

func TestSetLimitUnlimitedWritesNothing(t *testing.T) {
	dir := tree(t, t.TempDir(), map[string]string{"memory.max": ""})
	if err := (cgroupfs.Group{Version: 2, Dir: dir}).SetLimit(0); err != nil {
		t.Fatal(err)
	}
	if got := read(t, filepath.Join(dir, "memory.max")); got != "" {
		t.Errorf("memory.max = %q after SetLimit(0), want it untouched", got)
	}
}

func TestSetLimitFailsWithoutTheLimitFile(t *testing.T) {
	for v, file := range map[int]string{1: "memory.limit_in_bytes", 2: "memory.max"} {
		err := (cgroupfs.Group{Version: v, Dir: t.TempDir()}).SetLimit(1 << 20)
		if err == nil || !strings.Contains(err.Error(), file) {
			t.Errorf("v%d: SetLimit without %s: %v, want an error naming it", v, file, err)
		}
	}
}
