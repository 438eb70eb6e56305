package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/debug"
	"time"

	"github.com/spf13/cobra"

	"github.com/driverhub/driverhub"
	"github.com/driverhub/driverhub/internal/server"
)

// serverFlags are `driverhub server`'s flags that are not a server.Config field.
type serverFlags struct {
	logLevel, logFormat string
	tenantQuota         byteSize
	trustedProxies      string
}

func newServerCommand() *cobra.Command {
	var c server.Config
	var f serverFlags
	cmd := &cobra.Command{
		Use:   "server",
		Short: "Run the control plane: REST API, web console and gateway API",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c.AdminPassword = os.Getenv("DRIVERHUB_ADMIN_PASSWORD")
			c.AdminToken = os.Getenv("DRIVERHUB_ADMIN_TOKEN")
			c.SecretKey = os.Getenv(server.SecretKeyEnv)
			c.TenantQuota = int64(f.tenantQuota)
			return runServer(cmd.Context(), c, f, cmd.OutOrStdout())
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&c.Addr, "addr", envOr("DRIVERHUB_ADDR", "127.0.0.1:8080"), "address to listen on (env DRIVERHUB_ADDR)")
	fl.StringVar(&c.DataDir, "data", envOr("DRIVERHUB_DATA", "./driverhub-data"), "directory of the embedded database and blob store (env DRIVERHUB_DATA)")
	fl.DurationVar(&c.DeployTimeout, "deploy-timeout", server.DefaultDeployTimeout, "a processing deployment with no final report for this long fails")
	fl.DurationVar(&c.PollPeriod, "poll-period", 30*time.Second, "the gateways' long-poll period; a gateway is online when it synced within three")
	fl.StringVar(&f.logLevel, "log-level", envOr("DRIVERHUB_LOG_LEVEL", "info"), "debug, info, warn or error")
	fl.StringVar(&f.logFormat, "log-format", envOr("DRIVERHUB_LOG_FORMAT", "text"), "text or json")
	fl.StringVar(&c.Database, "database", envOr("DRIVERHUB_DATABASE", ""),
		"postgres://USER:PASSWORD@HOST:PORT/DB?sslmode=… for PostgreSQL (several replicas); empty for the SQLite file in --data (env DRIVERHUB_DATABASE)")
	fl.StringVar(&c.Blobs, "blobs", envOr("DRIVERHUB_BLOBS", ""),
		"s3://BUCKET[/PREFIX]?endpoint=http://HOST:PORT&region=R&path_style=true for an S3-compatible store, credentials from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY; empty for the filesystem store in --data (env DRIVERHUB_BLOBS)")
	fl.DurationVar(&c.BlobsPresign, "blobs-presign", 0,
		"downloads answer 307 to a presigned object store URL valid this long (--blobs-presign alone: 5m); needs an s3:// --blobs")
	fl.Lookup("blobs-presign").NoOptDefVal = "5m"
	fl.StringVar(&c.SecretKeyFile, "secret-key-file", "",
		"file holding the 32-byte key (hex or base64) that seals the server's TUF signing keys; every replica needs the same (or set "+server.SecretKeyEnv+"); default on SQLite: made in --data")
	fl.DurationVar(&c.TUFTimestampExpiry, "tuf-timestamp-expiry", driverhub.DefaultTUFTimestampExpiry,
		"how long a signed TUF timestamp lives (at least 10s); the server re-signs it at half its life")
	fl.DurationVar(&c.BlobGrace, "blob-grace", driverhub.DefaultBlobGrace,
		"a stored file nothing refers to is deleted once it has been so this long (at least 10m); the sweep runs every half of it")
	fl.Var(&f.tenantQuota, "tenant-quota", "each tenant's storage quota, e.g. 10GiB: uploads past it answer 507 quota_exceeded (0: none)")
	fl.DurationVar(&c.IdleTimeout, "idle-timeout", driverhub.DefaultIdleTimeout, "a keep-alive connection idle this long is closed")
	fl.StringVar(&c.PublicURL, "public-url", envOr("DRIVERHUB_PUBLIC_URL", ""),
		"the URL users and gateways reach the server at, such as https://driverhub.example.com: with https, console cookies are Secure (env DRIVERHUB_PUBLIC_URL)")
	fl.StringVar(&c.MetricsAddr, "metrics-addr", envOr("DRIVERHUB_METRICS_ADDR", ""),
		"serve GET /metrics here, to anyone, and not on --addr (where it needs a system admin's token); such as 10.0.0.11:9090 (env DRIVERHUB_METRICS_ADDR)")
	fl.StringVar(&f.trustedProxies, "trusted-proxies", envOr("DRIVERHUB_TRUSTED_PROXIES", ""),
		"addresses or CIDR networks of the load balancers whose X-Forwarded-For names the client, for the throttling of failed sign-ins (env DRIVERHUB_TRUSTED_PROXIES)")
	return cmd
}

func newLogger(level, format string, w io.Writer) (*slog.Logger, error) {
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

// serverGCPercent is the server's garbage collection target (GOGC) when
// the environment sets none. Most of a busy server's heap is long-lived
// (a waiting gateway's connection and wait, the caches), and most of its
// allocation is short-lived garbage of requests: with Go's default of
// 100, the collector marked that long-lived heap again every time the
// garbage grew by as much, 12% of the server's CPU in a rollout to
// 10,000 gateways. 200 halves that for about a third more memory at peak
// (docs/rollouts-performance.md, thirteenth round). The agent keeps the
// default: gateways have little memory.
const serverGCPercent = 200

// tuneGC sets the server's GC target, unless GOGC (which Go reads itself)
// is set; an empty GOGC is Go's default, as unset.
func tuneGC() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(serverGCPercent)
	}
}

// runServer serves until ctx ends (SIGINT, SIGTERM). The first start
// prints the admin it created on out.
func runServer(ctx context.Context, c server.Config, f serverFlags, out io.Writer) error {
	log, err := newLogger(f.logLevel, f.logFormat, os.Stderr)
	if err != nil {
		return err
	}
	if c.DeployTimeout <= 0 {
		return fmt.Errorf("--deploy-timeout must be positive")
	}
	if c.IdleTimeout <= 0 {
		return fmt.Errorf("--idle-timeout must be positive")
	}
	if c.TrustedProxies, err = server.ParseTrustedProxies(f.trustedProxies); err != nil {
		return err
	}
	c.Logger = log
	tuneGC()
	srv, err := server.New(ctx, c)
	if err != nil {
		return err
	}
	if a := srv.Admin(); a != nil {
		fmt.Fprintf(out, "driverhub: first start: created tenant \"default\" and its admin (saved in %s)\n  username: %s\n  password: %s\n  token:    %s\n",
			filepath.Join(c.DataDir, server.InitialAdminFile), a.Username, a.Password, a.Token)
	}
	return srv.Run(ctx)
}
