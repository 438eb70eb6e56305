package apitest

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/driverhub/driverhub"
	"github.com/driverhub/driverhub/internal/fsblob"
	"github.com/driverhub/driverhub/internal/postgres"
	"github.com/driverhub/driverhub/internal/postgres/pgtest"
	"github.com/driverhub/driverhub/internal/s3blob"
	"github.com/driverhub/driverhub/internal/s3blob/s3test"
	"github.com/driverhub/driverhub/internal/sqlite"
)

// The API suite runs on SQLite and the filesystem unless these select
// PostgreSQL and an S3 store (as .ci/run does in a second pass); each
// server then gets a fresh schema and a fresh key prefix.
const (
	// DatabaseEnv holds a postgres:// URL.
	DatabaseEnv = "DRIVERHUB_TEST_DATABASE"
	// BlobsEnv holds an s3:// URL, as --blobs takes it, with the
	// credentials in AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY.
	BlobsEnv = "DRIVERHUB_TEST_BLOBS"
)

// backends are the store, blob store and notifier of a test server.
type backends struct {
	store    driverhub.Store
	blobs    driverhub.BlobStore
	notifier driverhub.Notifier // nil: in-process
}

// openBackends opens the backends the environment selects, closing them
// when the test ends.
func openBackends(t testing.TB, dir string) backends {
	t.Helper()
	ctx := context.Background()
	var b backends
	if base := os.Getenv(DatabaseEnv); base != "" {
		dsn := pgtest.Fresh(t, base)
		s, db, err := postgres.OpenDB(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		n, err := postgres.NewNotifier(ctx, dsn, db, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { n.Close() })
		b.store, b.notifier = s, n
	} else {
		s, err := sqlite.Open(ctx, filepath.Join(dir, "driverhub.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		b.store = s
	}
	if base := os.Getenv(BlobsEnv); base != "" {
		s, err := s3blob.OpenURL(ctx, s3test.Fresh(t, base), nil)
		if err != nil {
			t.Fatal(err)
		}
		b.blobs = s
	} else {
		s, err := fsblob.Open(filepath.Join(dir, "blobs"))
		if err != nil {
			t.Fatal(err)
		}
		b.blobs = s
	}
	return b
}
