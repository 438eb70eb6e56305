package cli

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/driverhub/driverhub"
	"github.com/driverhub/driverhub/internal/httpapi/client"
	"github.com/driverhub/driverhub/internal/zippkg"
)

func (a *app) pushCommand() *cobra.Command {
	cmd := a.leaf("push DIR --driver NAME --version V --min-edge-version E", "Zip a driver directory, check it, upload it as a draft and optionally publish it",
		exactArgs("DIR"), a.push)
	cmd.Long = `Push zips DIR, checks the zip with the very checks the server runs (the runtime's
entry file at the top level, safe paths, size limits) before anything is sent, creates
the draft version (or reuses the draft of that version, replacing its package), uploads
the package and, with --publish, publishes it. A published version is refused.

With --sign (and --publish), it then signs the version with the targets keys in --keys, as
driverhub sign does, with the SHA-256 of the package it built; it still prints the version.

This is the command a CI pipeline runs.`
	cmd.Example = `  driverhub driver push ./meter --driver modbus_meter --version 1.2.0 --min-edge-version 1.0.0 --publish
  driverhub driver push ./meter --driver modbus_meter --version 1.2.0 --min-edge-version 1.0.0 --publish --sign --keys ./keys`
	f := cmd.Flags()
	f.String("driver", "", "driver name (the driver must exist)")
	f.String("version", "", "version to create or replace")
	f.String("min-edge-version", "", "lowest agent version that may run it (MAJOR.MINOR.PATCH)")
	f.String("description", "", "version description")
	f.Bool("publish", false, "publish the version once uploaded")
	f.Bool("sign", false, "sign the published version with the targets keys in --keys (needs --publish)")
	keysFlags(cmd)
	addOutputFlag(cmd)
	return cmd
}

func (a *app) push(cmd *cobra.Command, c *client.Client, args []string) error {
	if err := required(cmd, "driver", "version", "min-edge-version"); err != nil {
		return err
	}
	f := cmd.Flags()
	name, _ := f.GetString("driver")
	version, _ := f.GetString("version")
	minEdge, _ := f.GetString("min-edge-version")
	ctx := cmd.Context()
	keys, err := pushKeys(cmd)
	if err != nil {
		return err
	}

	d, err := c.GetDriver(ctx, name)
	if err != nil {
		return err
	}
	if d.Builtin {
		return failf("driver %s is built-in: it has no package to push", name)
	}
	pkg, err := zipAndCheck(args[0], d.Runtime)
	if err != nil {
		return err
	}
	defer pkg.remove()
	notice(cmd, "Packed %s: %s, %s, sha256 %s", args[0], humanBytes(pkg.size), plural(pkg.sum.Entries, "entry", "entries"), pkg.sha256)

	v, err := c.GetVersion(ctx, name, version)
	switch {
	case client.IsNotFound(err):
		in := driverhub.VersionInput{Version: &version, MinEdgeVersion: &minEdge}
		if f.Changed("description") {
			desc, _ := f.GetString("description")
			in.Description = &desc
		}
		if v, err = c.CreateVersion(ctx, name, in); err != nil {
			return err
		}
		notice(cmd, "Created draft version %s of %s", version, name)
	case err != nil:
		return err
	case !v.Published():
		in := driverhub.VersionInput{}
		if v.MinEdgeVersion != minEdge {
			in.MinEdgeVersion = &minEdge
		}
		if desc, _ := f.GetString("description"); f.Changed("description") && desc != v.Description {
			in.Description = &desc
		}
		if in.MinEdgeVersion != nil || in.Description != nil {
			if v, err = c.UpdateVersion(ctx, name, version, in); err != nil {
				return err
			}
		}
		notice(cmd, "Replacing the package of draft version %s of %s", version, name)
	}
	// A published version: the upload below is refused by the server with
	// its own message, before the package is read.
	filename := fmt.Sprintf("%s-%s.zip", name, version)
	if v, err = uploadFile(cmd, c, name, version, filename, pkg.file, pkg.size); err != nil {
		return err
	}
	if v.Package == nil || v.Package.SHA256 != pkg.sha256 {
		return failf("the server recorded a different package than the one sent (sha256 %s)", pkg.sha256)
	}
	notice(cmd, "Uploaded %s (%s)", filename, humanBytes(pkg.size))
	if publish, _ := f.GetBool("publish"); publish {
		if v, err = c.PublishVersion(ctx, name, version); err != nil {
			return err
		}
		notice(cmd, "Published version %s of %s", version, name)
	}
	if keys != nil {
		if _, err := runSign(cmd, c, keys, driverhub.TUFTargetsExpiry, name, version, pkg); err != nil {
			return err
		}
	}
	return render(cmd, v, func(p *printer) { versionDetail(p, v) })
}

// pushKeys opens --keys for --sign before anything is pushed (nil
// without --sign).
func pushKeys(cmd *cobra.Command) ([]*offlineKey, error) {
	f := cmd.Flags()
	if sign, _ := f.GetBool("sign"); !sign {
		if f.Changed("keys") {
			return nil, usagef(cmd, "--keys is for --sign")
		}
		return nil, nil
	}
	if publish, _ := f.GetBool("publish"); !publish {
		return nil, usagef(cmd, "--sign needs --publish: only published versions are signed")
	}
	return openKeys(cmd)
}

// checkedPackage is a zip in a temporary file that passed the checks.
type checkedPackage struct {
	file   *os.File
	size   int64
	sha256 string
	sum    zippkg.Summary
}

func (p *checkedPackage) remove() {
	p.file.Close()
	os.Remove(p.file.Name())
}

// zipAndCheck zips a directory (or takes a zip file as it is) into a
// temporary file and runs the server's package checks for runtime.
func zipAndCheck(src string, runtime driverhub.Runtime) (*checkedPackage, error) {
	fi, err := os.Stat(src)
	if err != nil {
		return nil, failf("%v", err)
	}
	tmp, err := os.CreateTemp("", "driverhub-push-*.zip")
	if err != nil {
		return nil, failf("%v", err)
	}
	p := &checkedPackage{file: tmp}
	ok := false
	defer func() {
		if !ok {
			p.remove()
		}
	}()
	h := sha256.New()
	w := io.MultiWriter(tmp, h)
	if fi.IsDir() {
		err = zippkg.ZipDir(src, w)
	} else {
		err = copyFile(src, w)
	}
	if err != nil {
		return nil, failf("%v", err)
	}
	if p.size, err = tmp.Seek(0, io.SeekCurrent); err != nil {
		return nil, failf("%v", err)
	}
	p.sha256 = hex.EncodeToString(h.Sum(nil))
	if p.sum, err = zippkg.Check(tmp, p.size, runtime, zippkg.DefaultLimits()); err != nil {
		var e *driverhub.Error
		if errors.As(err, &e) && e.Field != "" {
			return nil, failf("%s: %s (checked locally: nothing was uploaded)", e.Field, e.Message)
		}
		return nil, failf("%v (checked locally: nothing was uploaded)", err)
	}
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		return nil, failf("%v", err)
	}
	ok = true
	return p, nil
}

func copyFile(name string, w io.Writer) error {
	f, err := os.Open(name)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(w, f)
	return err
}

// uploadFile uploads a package with a progress bar on stderr when it is a
// terminal.
func uploadFile(cmd *cobra.Command, c *client.Client, driver, version, filename string, r io.Reader, size int64) (*driverhub.DriverVersion, error) {
	var progress client.Progress
	if isTerminal(cmd.ErrOrStderr()) {
		bar := newProgressBar(cmd.ErrOrStderr(), "Uploading "+filename, size)
		defer bar.done()
		progress = bar.update
	}
	return c.UploadPackage(cmd.Context(), driver, version, filename, r, size, progress)
}

// progressBar draws "label [=====>    ]  45%  1.2 MiB/2.7 MiB" on one
// terminal line, at most ten times a second.
type progressBar struct {
	mu    sync.Mutex
	w     io.Writer
	label string
	total int64
	last  time.Time
	drawn bool
}

func newProgressBar(w io.Writer, label string, total int64) *progressBar {
	return &progressBar{w: w, label: label, total: total}
}

func (b *progressBar) update(sent, total int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if sent < total && time.Since(b.last) < 100*time.Millisecond {
		return
	}
	b.last = time.Now()
	b.draw(sent)
}

func (b *progressBar) draw(sent int64) {
	const width = 30
	frac := 1.0
	if b.total > 0 {
		frac = min(float64(sent)/float64(b.total), 1)
	}
	n := int(frac * width)
	bar := strings.Repeat("=", n)
	if n < width {
		bar += ">" + strings.Repeat(" ", width-n-1)
	}
	fmt.Fprintf(b.w, "\r%s [%s] %3.0f%%  %s/%s ", b.label, bar, frac*100, humanBytes(sent), humanBytes(b.total))
	b.drawn = true
}

func (b *progressBar) done() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.drawn {
		fmt.Fprintln(b.w)
	}
}

func (a *app) versionUpload() *cobra.Command {
	return a.leaf("upload DRIVER VERSION FILE|DIR", "Check and upload a draft's package (a zip, or a directory to zip)", exactArgs("DRIVER", "VERSION", "FILE"),
		func(cmd *cobra.Command, c *client.Client, args []string) error {
			d, err := c.GetDriver(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			pkg, err := zipAndCheck(args[2], d.Runtime)
			if err != nil {
				return err
			}
			defer pkg.remove()
			filename := filepath.Base(args[2])
			if !strings.HasSuffix(strings.ToLower(filename), ".zip") {
				filename = fmt.Sprintf("%s-%s.zip", args[0], args[1])
			}
			_, err = uploadFile(cmd, c, args[0], args[1], filename, pkg.file, pkg.size)
			if err != nil {
				return err
			}
			notice(cmd, "Uploaded %s to version %s of %s (%s, sha256 %s)", filename, args[1], args[0], humanBytes(pkg.size), pkg.sha256)
			return nil
		})
}

func (a *app) versionDownload() *cobra.Command {
	cmd := a.leaf("download DRIVER VERSION [--to FILE]", "Download a version's package, verified against its SHA-256", exactArgs("DRIVER", "VERSION"),
		func(cmd *cobra.Command, c *client.Client, args []string) error {
			v, err := c.GetVersion(cmd.Context(), args[0], args[1])
			if err != nil {
				return err
			}
			if v.Package == nil {
				return failf("version %s of %s has no package", args[1], args[0])
			}
			return saveDownload(cmd, v.Package.SHA256, fmt.Sprintf("%s-%s.zip", args[0], args[1]),
				func(ctx context.Context, w io.Writer) (int64, error) {
					return c.DownloadPackage(ctx, args[0], args[1], w)
				})
		})
	cmd.Flags().String("to", "", "file to write (- for stdout; default DRIVER-VERSION.zip)")
	return cmd
}

// saveDownload writes a download into --to (or def) through a temporary
// file renamed only once the bytes match wantSHA: never a partial or wrong
// file under the name.
func saveDownload(cmd *cobra.Command, wantSHA, def string, fetch func(context.Context, io.Writer) (int64, error)) error {
	to, _ := cmd.Flags().GetString("to")
	if to == "" {
		to = def
	}
	h := sha256.New()
	if to == "-" {
		if _, err := fetch(cmd.Context(), io.MultiWriter(cmd.OutOrStdout(), h)); err != nil {
			return err
		}
		if got := hex.EncodeToString(h.Sum(nil)); got != wantSHA {
			return failf("the download hashes to %s, not %s", got, wantSHA)
		}
		return nil
	}
	tmp, err := os.CreateTemp(filepath.Dir(to), ".driverhub-download-*")
	if err != nil {
		return failf("%v", err)
	}
	defer os.Remove(tmp.Name())
	n, err := fetch(cmd.Context(), io.MultiWriter(tmp, h))
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != wantSHA {
		return failf("the download hashes to %s, not %s: not saved", got, wantSHA)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return failf("%v", err)
	}
	if err := os.Rename(tmp.Name(), to); err != nil {
		return failf("%v", err)
	}
	notice(cmd, "Saved %s (%s, sha256 %s)", to, humanBytes(n), wantSHA)
	return nil
}

func (a *app) versionUploadConfig() *cobra.Command {
	cmd := a.leaf("upload-config DRIVER VERSION FILE [--name NAME]", "Set a draft's default driver config to a file (at most 1 MiB)", exactArgs("DRIVER", "VERSION", "FILE"),
		func(cmd *cobra.Command, c *client.Client, args []string) error {
			f, size, name, err := openConfigFile(cmd, args[2])
			if err != nil {
				return err
			}
			defer f.Close()
			v, err := c.UploadVersionConfigFile(cmd.Context(), args[0], args[1], name, f, size)
			if err != nil {
				return err
			}
			return render(cmd, v, func(p *printer) { versionDetail(p, v) })
		})
	cmd.Flags().String("name", "", "file name on the gateway (default: the file's base name)")
	addOutputFlag(cmd)
	return cmd
}

// openSized opens a regular file and returns its size.
// openConfigFile opens a config file to upload and names it on the gateway:
// --name, else the file's base name.
func openConfigFile(cmd *cobra.Command, path string) (*os.File, int64, string, error) {
	f, size, err := openSized(path)
	if err != nil {
		return nil, 0, "", err
	}
	name, _ := cmd.Flags().GetString("name")
	if name == "" {
		name = filepath.Base(path)
	}
	return f, size, name, nil
}

func openSized(name string) (*os.File, int64, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, 0, failf("%v", err)
	}
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		f.Close()
		return nil, 0, failf("%s is not a regular file", name)
	}
	return f, fi.Size(), nil
}
