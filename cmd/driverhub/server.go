package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/driverhub/driverhub"
	"github.com/driverhub/driverhub/internal/console"
	"github.com/driverhub/driverhub/internal/httpapi"
	"github.com/driverhub/driverhub/internal/service"
)

// ServerConfig is everything `driverhub server` needs.
type ServerConfig struct {
	Addr          string
	DataDir       string
	LogLevel      string
	LogFormat     string
	AdminPassword string // DRIVERHUB_ADMIN_PASSWORD, for the first start only
	AdminToken    string // DRIVERHUB_ADMIN_TOKEN, for the first start only
	DeployTimeout time.Duration
	PollPeriod    time.Duration
	// Database is a postgres:// URL; empty is the SQLite file in DataDir.
	Database string
	// Blobs is an s3:// URL; empty is the filesystem store in DataDir.
	Blobs string
	// BlobsPresign, when positive, makes downloads redirect to presigned
	// object store URLs valid this long.
	BlobsPresign time.Duration
}

func newServerCommand() *cobra.Command {
	var c ServerConfig
	cmd := &cobra.Command{
		Use:   "server",
		Short: "Run the control plane: REST API, web console and gateway API",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c.AdminPassword = os.Getenv("DRIVERHUB_ADMIN_PASSWORD")
			c.AdminToken = os.Getenv("DRIVERHUB_ADMIN_TOKEN")
			return runServer(cmd.Context(), c, cmd.OutOrStdout())
		},
	}
	f := cmd.Flags()
	f.StringVar(&c.Addr, "addr", envOr("DRIVERHUB_ADDR", "127.0.0.1:8080"), "address to listen on (env DRIVERHUB_ADDR)")
	f.StringVar(&c.DataDir, "data", envOr("DRIVERHUB_DATA", "./driverhub-data"), "directory of the embedded database and blob store (env DRIVERHUB_DATA)")
	f.DurationVar(&c.DeployTimeout, "deploy-timeout", 10*time.Minute, "a processing deployment with no final report for this long fails")
	f.DurationVar(&c.PollPeriod, "poll-period", 30*time.Second, "the gateways' long-poll period; a gateway is online when it synced within three")
	f.StringVar(&c.LogLevel, "log-level", envOr("DRIVERHUB_LOG_LEVEL", "info"), "debug, info, warn or error")
	f.StringVar(&c.LogFormat, "log-format", envOr("DRIVERHUB_LOG_FORMAT", "text"), "text or json")
	f.StringVar(&c.Database, "database", envOr("DRIVERHUB_DATABASE", ""),
		"postgres://USER:PASSWORD@HOST:PORT/DB?sslmode=… for PostgreSQL (several replicas); empty for the SQLite file in --data (env DRIVERHUB_DATABASE)")
	f.StringVar(&c.Blobs, "blobs", envOr("DRIVERHUB_BLOBS", ""),
		"s3://BUCKET[/PREFIX]?endpoint=http://HOST:PORT&region=R&path_style=true for an S3-compatible store, credentials from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY; empty for the filesystem store in --data (env DRIVERHUB_BLOBS)")
	f.DurationVar(&c.BlobsPresign, "blobs-presign", 0,
		"downloads answer 307 to a presigned object store URL valid this long (--blobs-presign alone: 5m); needs an s3:// --blobs")
	f.Lookup("blobs-presign").NoOptDefVal = "5m"
	return cmd
}

func newLogger(level, format string, w *os.File) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level: %w", err)
	}
	opts := &slog.HandlerOptions{Level: l}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("--log-format must be text or json, got %q", format)
}

func runServer(ctx context.Context, c ServerConfig, out interface{ Write([]byte) (int, error) }) error {
	log, err := newLogger(c.LogLevel, c.LogFormat, os.Stderr)
	if err != nil {
		return err
	}
	if c.DeployTimeout <= 0 {
		return fmt.Errorf("--deploy-timeout must be positive")
	}
	b, err := openBackends(ctx, c, log)
	if err != nil {
		return err
	}
	defer b.Close()
	store, blobs := b.store, b.blobs
	var notifier driverhub.Notifier // nil: in-process, for the single SQLite server
	if b.notifier != nil {
		notifier = b.notifier
	}
	svc, err := service.New(service.Config{Store: store, Blobs: blobs, Logger: log, PollPeriod: c.PollPeriod,
		Notifier: notifier})
	if err != nil {
		return err
	}
	if err := bootstrap(ctx, svc, c, out); err != nil {
		return err
	}
	api := httpapi.New(httpapi.Config{Accounts: svc, Drivers: svc, Instances: svc, Deployments: svc, Gateway: svc, Market: svc, Logger: log,
		Ready:    func(ctx context.Context) error { return errors.Join(store.Ping(ctx), blobs.Ping(ctx)) },
		Registry: b.registry, Presigner: b.presigner, PresignTTL: c.BlobsPresign})
	// The web console at /, over the same services; the API's routes are more specific and win.
	api.Mux().Handle("/", console.Must(console.Config{Accounts: svc, Drivers: svc, Instances: svc, Deployments: svc, Market: svc, Logger: log}))

	ln, err := net.Listen("tcp", c.Addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: api, ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	log.Info("driverhub server listening", "addr", ln.Addr().String(), "data", c.DataDir, "version", driverhub.Version)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	go svc.RunDeployTimeouts(ctx, c.DeployTimeout, min(c.DeployTimeout/10, 10*time.Second))
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down")
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return srv.Shutdown(shutdown)
}

// bootstrap creates the first tenant, admin and token on an empty
// database, prints them once and keeps them in <data>/initial-admin.json.
func bootstrap(ctx context.Context, svc *service.Service, c ServerConfig, out interface{ Write([]byte) (int, error) }) error {
	admin, err := svc.Bootstrap(ctx, c.AdminPassword, c.AdminToken)
	if e, ok := driverhub.AsError(err); ok && e.Code == driverhub.EConflict {
		// Another replica bootstrapped the same empty database at the same
		// time and won: there is nothing left to create.
		admin, err = svc.Bootstrap(ctx, c.AdminPassword, c.AdminToken)
	}
	if err != nil || admin == nil {
		return err
	}
	b, err := json.MarshalIndent(admin, "", "  ")
	if err != nil {
		return err
	}
	path := filepath.Join(c.DataDir, "initial-admin.json")
	if err := os.WriteFile(path, append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	fmt.Fprintf(out, "driverhub: first start: created tenant \"default\" and its admin (saved in %s)\n  username: %s\n  password: %s\n  token:    %s\n",
		path, admin.Username, admin.Password, admin.Token)
	return nil
}
