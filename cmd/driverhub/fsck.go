package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/driverhub/driverhub"
	"github.com/driverhub/driverhub/internal/server"
	"github.com/driverhub/driverhub/internal/service"
)

// newFsckCommand is `driverhub fsck`: read every blob against its digest,
// name each corrupt or missing one, and repair them from good copies.
func newFsckCommand() *cobra.Command {
	var c server.Config
	var repairFrom string
	cmd := &cobra.Command{
		Use:   "fsck",
		Short: "Check every stored file against its SHA-256, and repair from good copies",
		Long: "Read every blob of the store whole and check it against its SHA-256, and look up every blob the\n" +
			"database refers to. Each corrupt or missing blob is named on its own line; the exit status is 1\n" +
			"when any is left unrepaired. With --repair-from DIR, files of DIR (searched recursively) whose\n" +
			"SHA-256 is that of a bad blob are stored in its place. It is safe beside running servers: it only\n" +
			"reads, but for repairs, which are stored atomically as uploads are.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runFsck(cmd.Context(), c, repairFrom, cmd.OutOrStdout())
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&c.DataDir, "data", envOr("DRIVERHUB_DATA", "./driverhub-data"), "the server's --data (env DRIVERHUB_DATA)")
	fl.StringVar(&c.Database, "database", envOr("DRIVERHUB_DATABASE", ""), "the server's --database (env DRIVERHUB_DATABASE)")
	fl.StringVar(&c.Blobs, "blobs", envOr("DRIVERHUB_BLOBS", ""), "the server's --blobs (env DRIVERHUB_BLOBS)")
	fl.StringVar(&repairFrom, "repair-from", "", "a directory of good copies (package zips, config files) to repair from")
	return cmd
}

func runFsck(ctx context.Context, c server.Config, repairFrom string, out io.Writer) error {
	c.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	var repair service.RepairSource
	if repairFrom != "" {
		copies, err := indexCopies(ctx, repairFrom)
		if err != nil {
			return err
		}
		repair = copies.open
	}
	svc, closeBackends, err := server.OpenService(ctx, c)
	if err != nil {
		return err
	}
	defer closeBackends()
	sum, err := svc.CheckBlobs(ctx, repair, func(p service.BlobProblem) {
		switch {
		case p.Repaired:
			fmt.Fprintf(out, "repaired %s (was %s)\n", p.SHA256, what(p))
		case p.Missing:
			fmt.Fprintf(out, "missing  %s: %s\n", p.SHA256, p.Detail)
		default:
			fmt.Fprintf(out, "corrupt  %s: %s\n", p.SHA256, p.Detail)
		}
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "driverhub fsck: read %d stored blobs, looked up %d referenced; %d corrupt or missing\n",
		sum.Checked, sum.Referenced, sum.Problems)
	if sum.Problems > 0 {
		return fmt.Errorf("%d blobs corrupt or missing", sum.Problems)
	}
	return nil
}

func what(p service.BlobProblem) string {
	if p.Missing {
		return "missing"
	}
	return "corrupt"
}

// copies are good files by their SHA-256.
type copies map[string]string

// indexCopies hashes the regular files under dir no larger than a blob
// can be.
func indexCopies(ctx context.Context, dir string) (copies, error) {
	c := copies{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if !d.Type().IsRegular() {
			return nil
		}
		info, err := d.Info()
		if err != nil || info.Size() > driverhub.MaxPackageBytes {
			return err
		}
		sum, err := hashFile(path)
		if err != nil {
			return err
		}
		c[sum] = path
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("--repair-from: %w", err)
	}
	return c, nil
}

func hashFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func (c copies) open(_ context.Context, sha string) (io.ReadCloser, error) {
	path, ok := c[sha]
	if !ok {
		return nil, driverhub.ErrNotFound
	}
	return os.Open(path)
}
