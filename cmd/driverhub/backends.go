package main

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

// openStore opens the database: --database postgres://… or, when empty,
// the embedded SQLite file in dataDir. Pending migrations are applied
// (under an advisory lock on PostgreSQL). db is the PostgreSQL pool, nil
// for SQLite; where describes the database for logs, without a password.
func openStore(ctx context.Context, database, dataDir string) (s *sqlstore.Store, db *sql.DB, where string, err error) {
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
	notifier *postgres.Notifier
	// presigner is set with --blobs-presign.
	presigner httpapi.Presigner
	registry  *prometheus.Registry
	closers   []func() error
}

func (b *backends) Close() error {
	var err error
	for i := len(b.closers) - 1; i >= 0; i-- {
		err = errors.Join(err, b.closers[i]())
	}
	return err
}

// openBackends opens the database, the blob store and, on PostgreSQL, the
// LISTEN/NOTIFY notifier, and registers their metrics.
func openBackends(ctx context.Context, c ServerConfig, log *slog.Logger) (_ *backends, err error) {
	if err := os.MkdirAll(c.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("data directory: %w", err)
	}
	b := &backends{registry: prometheus.NewRegistry()}
	defer func() {
		if err != nil {
			b.Close()
		}
	}()
	store, db, where, err := openStore(ctx, c.Database, c.DataDir)
	if err != nil {
		return nil, err
	}
	b.store = store
	b.closers = append(b.closers, store.Close)
	log.Info("database open", "database", where, "schema_version", sqlstore.SchemaVersion())
	if db != nil {
		b.registry.MustRegister(collectors.NewDBStatsCollector(db, "driverhub"))
		n, err := postgres.NewNotifier(ctx, c.Database, db, log)
		if err != nil {
			return nil, err
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
	}

	switch {
	case c.Blobs == "":
		fs, err := fsblob.Open(filepath.Join(c.DataDir, "blobs"))
		if err != nil {
			return nil, err
		}
		b.blobs = fs
		log.Info("blob store open", "blobs", fs.Dir())
	case s3blob.IsURL(c.Blobs):
		s3, err := s3blob.OpenURL(ctx, c.Blobs, log)
		if err != nil {
			return nil, err
		}
		b.blobs = s3
		cfg := s3.Config()
		log.Info("blob store open", "bucket", cfg.Bucket, "prefix", cfg.Prefix, "endpoint", cfg.Endpoint)
		if c.BlobsPresign > 0 {
			b.presigner = s3
		}
	default:
		return nil, fmt.Errorf("--blobs must be an s3:// URL, or empty for the filesystem store in --data; got %q", c.Blobs)
	}
	if c.BlobsPresign > 0 && b.presigner == nil {
		return nil, errors.New("--blobs-presign needs an s3:// blob store (--blobs)")
	}
	if c.BlobsPresign > 7*24*time.Hour {
		return nil, errors.New("--blobs-presign must be at most 168h (S3's limit)")
	}
	return b, nil
}
