package server

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/driverhub/driverhub"
	"github.com/driverhub/driverhub/internal/fsblob"
	"github.com/driverhub/driverhub/internal/httpapi"
	"github.com/driverhub/driverhub/internal/postgres"
	"github.com/driverhub/driverhub/internal/s3blob"
	"github.com/driverhub/driverhub/internal/sqlite"
	"github.com/driverhub/driverhub/internal/sqlstore"
)

// maxPresign is S3's limit on a presigned URL's lifetime.
const maxPresign = 7 * 24 * time.Hour

// OpenStore opens the database: database is a postgres:// URL or, when
// empty, the embedded SQLite file in dataDir. Pending migrations are
// applied (under an advisory lock on PostgreSQL). where describes the
// database for people, without a password.
func OpenStore(ctx context.Context, database, dataDir string) (s *sqlstore.Store, where string, err error) {
	s, _, where, err = openStore(ctx, database, dataDir)
	return s, where, err
}

// openStore is OpenStore that also returns the PostgreSQL pool (nil for
// SQLite), for the notifier and the pool's metrics.
func openStore(ctx context.Context, database, dataDir string) (*sqlstore.Store, *sql.DB, string, error) {
	switch {
	case database == "":
		if err := os.MkdirAll(dataDir, 0o700); err != nil {
			return nil, nil, "", fmt.Errorf("data directory: %w", err)
		}
		path := filepath.Join(dataDir, "driverhub.db")
		s, err := sqlite.Open(ctx, path)
		return s, nil, "sqlite:" + path, err
	case postgres.IsURL(database):
		s, db, err := postgres.OpenDB(ctx, database)
		return s, db, postgres.Redact(database), err
	}
	return nil, nil, "", fmt.Errorf("--database must be a postgres:// URL, or empty for the SQLite file in --data; got %q", postgres.Redact(database))
}

// backends is what the server runs on.
type backends struct {
	store *sqlstore.Store
	blobs driverhub.BlobStore
	// notifier is nil for the in-process one (SQLite: a single server).
	notifier driverhub.Notifier
	// presigner is set with BlobsPresign (or by a test).
	presigner httpapi.Presigner
	registry  *prometheus.Registry
	closers   []func() error
	// reserve is the SQLite store's disk reserve (nil on PostgreSQL).
	reserve *reserve
}

func (b *backends) close() error {
	var err error
	for i := len(b.closers) - 1; i >= 0; i-- {
		err = errors.Join(err, b.closers[i]())
	}
	b.closers = nil
	return err
}

// openBackends opens the database, the blob store and, on PostgreSQL, the
// LISTEN/NOTIFY notifier, and registers their metrics.
func openBackends(ctx context.Context, c Config, log *slog.Logger) (_ *backends, err error) {
	if err := os.MkdirAll(c.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("data directory: %w", err)
	}
	b := &backends{registry: prometheus.NewRegistry()}
	// The process's memory, CPU and descriptors and Go's own figures
	// (heap, goroutines, the GC target), as any Go server has them.
	b.registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	defer func() {
		if err != nil {
			b.close()
		}
	}()
	if err := b.openStore(ctx, c, log); err != nil {
		return nil, err
	}
	if err := b.openBlobs(ctx, c, log); err != nil {
		return nil, err
	}
	return b, nil
}

// openStore opens the database and, on PostgreSQL, the notifier.
func (b *backends) openStore(ctx context.Context, c Config, log *slog.Logger) error {
	store, db, where, err := openStore(ctx, c.Database, c.DataDir)
	if err != nil {
		return err
	}
	b.store = store
	b.closers = append(b.closers, store.Close)
	log.Info("database open", "database", where, "schema_version", sqlstore.SchemaVersion())
	if db == nil {
		b.reserve = attachReserve(c.DataDir, store, log)
		return nil
	}
	b.registry.MustRegister(collectors.NewDBStatsCollector(db, "driverhub"))
	n, err := postgres.NewNotifier(ctx, c.Database, db, log)
	if err != nil {
		return err
	}
	b.notifier = n
	b.closers = append(b.closers, n.Close)
	b.registry.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "driverhub_notifier_listening",
			Help: "1 while this replica's LISTEN connection to PostgreSQL is up."},
			func() float64 {
				if n.Listening() {
					return 1
				}
				return 0
			}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "driverhub_gateway_long_polls",
			Help: "Gateways long-polling this replica."},
			func() float64 { return float64(n.Waiters()) }))
	return nil
}

// openBlobs opens the blob store and checks the presign settings against it.
func (b *backends) openBlobs(ctx context.Context, c Config, log *slog.Logger) error {
	switch {
	case c.Blobs == "":
		fs, err := fsblob.Open(filepath.Join(c.DataDir, "blobs"))
		if err != nil {
			return err
		}
		b.blobs = fs
		log.Info("blob store open", "blobs", fs.Dir())
	case s3blob.IsURL(c.Blobs):
		cfg, err := s3blob.ParseURL(c.Blobs)
		if err != nil {
			return err
		}
		// Uploads are staged on local disk, under the data directory, until committed.
		cfg.SpoolDir = filepath.Join(c.DataDir, "spool")
		s3, err := s3blob.Open(ctx, cfg, log)
		if err != nil {
			return err
		}
		b.blobs = s3
		log.Info("blob store open", "bucket", cfg.Bucket, "prefix", cfg.Prefix, "endpoint", cfg.Endpoint)
		if c.BlobsPresign > 0 {
			b.presigner = s3
		}
	default:
		return fmt.Errorf("--blobs must be an s3:// URL, or empty for the filesystem store in --data; got %q", c.Blobs)
	}
	if c.Presigner != nil {
		b.presigner = c.Presigner
	}
	if c.BlobsPresign > 0 && b.presigner == nil {
		return errors.New("--blobs-presign needs an s3:// blob store (--blobs)")
	}
	if c.BlobsPresign > maxPresign {
		return errors.New("--blobs-presign must be at most 168h (S3's limit)")
	}
	return nil
}
