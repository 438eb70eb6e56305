package main_test

import (
	"bytes"
	"database/sql"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/driverhub/driverhub/internal/postgres/pgtest"
	"github.com/driverhub/driverhub/internal/s3blob/s3test"
	"github.com/driverhub/driverhub/internal/testenv"
)

// The server's storage from the command line: refused storage flags, the
// migrate command, and a backup and restore of the PostgreSQL database.

// TestServerStorageFlags checks the refusals of bad storage flags.
func TestServerStorageFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--database", "mysql://u:topsecret@h/db"}, "--database must be a postgres:// URL"},
		{[]string{"--blobs", "/var/blobs"}, "--blobs must be an s3:// URL"},
		{[]string{"--blobs-presign"}, "--blobs-presign needs an s3:// blob store"},
		{[]string{"--blobs", "s3://b?colour=blue"}, `unknown parameter "colour"`},
	} {
		cmd := exec.Command(binary, append([]string{"server", "--addr", "127.0.0.1:0", "--data", t.TempDir()}, tc.args...)...)
		out, err := cmd.CombinedOutput()
		if err == nil {
			t.Errorf("server %q started", tc.args)
			continue
		}
		if !strings.Contains(string(out), tc.want) {
			t.Errorf("server %q: output %q does not say %q", tc.args, out, tc.want)
		}
		if strings.Contains(string(out), "topsecret") {
			t.Errorf("server %q: output shows the password: %s", tc.args, out)
		}
	}
}

// TestMigrateCommand runs `driverhub migrate` on an empty PostgreSQL
// schema, twice, then starts a server on it; and on SQLite.
func TestMigrateCommand(t *testing.T) {
	t.Run("postgres", func(t *testing.T) {
		database := pgtest.Fresh(t, pgtest.URL(t))
		for range 2 {
			out, err := exec.Command(binary, "migrate", "--database", database).CombinedOutput()
			if err != nil || !strings.Contains(string(out), "schema version") {
				t.Fatalf("driverhub migrate: %v: %s", err, out)
			}
		}
		blobs := s3test.Fresh(t, s3test.URL(t))
		r := startReplicas(t, 1, database, blobs)[0]
		r.mustCall(t, 200, "GET", "/api/v1/users", nil, nil)
		noErrors(t, r)
	})
	t.Run("sqlite", func(t *testing.T) {
		dir := t.TempDir()
		out := mustOutput(t, binary, "migrate", "--data", dir)
		if !strings.Contains(string(out), "sqlite:"+dir) {
			t.Errorf("migrate output %q does not name the database", out)
		}
		if _, err := os.Stat(dir + "/driverhub.db"); err != nil {
			t.Error(err)
		}
	})
	t.Run("refused", func(t *testing.T) {
		out, err := exec.Command(binary, "migrate", "--database", "postgres://u:topsecret@127.0.0.1:1/db?connect_timeout=2").CombinedOutput()
		if err == nil {
			t.Fatal("migrate against no database succeeded")
		}
		if strings.Contains(string(out), "topsecret") {
			t.Errorf("migrate shows the password: %s", out)
		}
	})
}

func mustOutput(t testing.TB, name string, args ...string) []byte {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %q: %v: %s", name, args, err, out)
	}
	return out
}

// TestBackupRestore follows docs/production.md: pg_dump the database
// (custom format), lose it, pg_restore it, and start a server on it; the
// blobs stay in the bucket.
func TestBackupRestore(t *testing.T) {
	base := pgtest.URL(t)
	database, blobs := sharedStorage(t)
	pgDump, pgRestore := pgTool(t, "pg_dump"), pgTool(t, "pg_restore")
	r := startReplicas(t, 1, database, blobs)[0]
	secret, pkg := gatewayFixture(t, r, "meter", "gw1")
	r.mustCall(t, 201, "POST", "/api/v1/instances/gw1/deployments", map[string]any{"type": "deploy"}, nil)
	r.stop(t)

	u, _ := url.Parse(database)
	schema := u.Query().Get("search_path")
	dump := filepath.Join(t.TempDir(), "driverhub.dump")
	mustOutput(t, pgDump, "--dbname", base, "--schema", schema, "--format", "custom", "--file", dump)
	db, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`DROP SCHEMA ` + schema + ` CASCADE`); err != nil {
		t.Fatal(err)
	}
	mustOutput(t, pgRestore, "--dbname", base, "--exit-on-error", dump)

	r = startReplicas(t, 1, database, blobs)[0]
	code, body := r.call(t, adminToken, "GET", "/api/v1/drivers/meter/versions/1.0.0/package", nil)
	if code != 200 || !bytes.Equal(body, pkg) {
		t.Errorf("package after the restore: %d, %d bytes", code, len(body))
	}
	if ans := <-longPoll(r, secret, "", 0); ans.status != 200 || ans.id == "" {
		t.Errorf("gateway after the restore: %+v, want its deployment", ans)
	}
	noErrors(t, r)
}

// pgTool finds a PostgreSQL client program.
func pgTool(t testing.TB, name string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	p := "/usr/lib/postgresql/15/bin/" + name
	if _, err := os.Stat(p); err != nil {
		testenv.Require(t, name+" (PostgreSQL's client) not found")
	}
	return p
}
