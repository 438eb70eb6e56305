package agent

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/driverhub/driverhub"
)

// fetch makes sure the cache holds the blob: downloaded (resuming a
// partial download with Range), verified by SHA-256, then renamed into
// place. It returns the blob's path. A blob that fails verification is
// thrown away so that the next try starts clean.
func (a *Agent) fetch(ctx context.Context, link *driverhub.BlobLink) (string, error) {
	if !driverhub.ValidSHA256(link.SHA256) {
		return "", fmt.Errorf("blob digest %q is not a SHA-256", link.SHA256)
	}
	final := filepath.Join(a.cfg.Dir, "cache", link.SHA256)
	if _, err := os.Stat(final); err == nil {
		return final, nil
	}
	part := final + ".part"
	f, err := os.OpenFile(part, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return "", err
	}
	defer f.Close()
	have, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		return "", err
	}
	if have > link.Size {
		// More bytes than the blob has: this partial file is not of it.
		if err := f.Truncate(0); err != nil {
			return "", err
		}
		have, _ = f.Seek(0, io.SeekStart)
	}
	if have < link.Size {
		n, err := a.client.Download(ctx, link.URL, have, f)
		if err != nil {
			return "", fmt.Errorf("download %s (resumed at byte %d, got %d more): %w", link.SHA256[:12], have, n, err)
		}
		have += n
	}
	if have != link.Size {
		return "", fmt.Errorf("download %s: got %d bytes, want %d", link.SHA256[:12], have, link.Size)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return "", err
	}
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != link.SHA256 {
		f.Close()
		os.Remove(part)
		return "", &verifyError{want: link.SHA256, got: got}
	}
	if err := f.Sync(); err != nil {
		return "", err
	}
	if err := os.Rename(part, final); err != nil {
		return "", err
	}
	return final, nil
}

// verifyError is a blob whose bytes do not hash to its digest.
type verifyError struct{ want, got string }

func (e *verifyError) Error() string {
	return fmt.Sprintf("SHA-256 mismatch: the download hashes to %s, the deployment names %s", e.got, e.want)
}

func isVerifyError(err error) bool {
	var v *verifyError
	return errors.As(err, &v)
}
