package server

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/driverhub/driverhub"
	"github.com/driverhub/driverhub/internal/service"
)

// SecretKeyFile is the file in the data directory where a server on
// SQLite keeps the secret key it made on its first start (mode 0600).
const SecretKeyFile = "secret.key"

// SecretKeyEnv holds the secret key itself, as --secret-key-file's file does.
const SecretKeyEnv = "DRIVERHUB_SECRET_KEY"

// noSecretKey is why a server on PostgreSQL without a key signs nothing.
const noSecretKey = "this server runs on PostgreSQL without a secret key, so it cannot sign TUF metadata: " +
	"start every replica with the same --secret-key-file or " + SecretKeyEnv + " (32 bytes in hex or base64)"

// tufConfig is the service's TUF configuration from the server's: the
// secret key that seals the online keys and the timestamp's life.
func tufConfig(c Config) (service.TUFConfig, error) {
	out := service.TUFConfig{TimestampExpiry: c.TUFTimestampExpiry}
	if out.TimestampExpiry != 0 && out.TimestampExpiry < driverhub.MinTUFTimestampExpiry {
		return out, fmt.Errorf("--tuf-timestamp-expiry must be at least %s, got %s", driverhub.MinTUFTimestampExpiry, out.TimestampExpiry)
	}
	switch {
	case c.SecretKeyFile != "" && c.SecretKey != "":
		return out, fmt.Errorf("both --secret-key-file and %s are set: keep one", SecretKeyEnv)
	case c.SecretKeyFile != "":
		b, err := os.ReadFile(c.SecretKeyFile)
		if err != nil {
			return out, fmt.Errorf("--secret-key-file: %w", err)
		}
		if out.SecretKey, err = parseSecretKey(string(b)); err != nil {
			return out, fmt.Errorf("--secret-key-file %s: %w", c.SecretKeyFile, err)
		}
	case c.SecretKey != "":
		var err error
		if out.SecretKey, err = parseSecretKey(c.SecretKey); err != nil {
			return out, fmt.Errorf("%s: %w", SecretKeyEnv, err)
		}
	case c.Database == "":
		var err error
		out.SecretKey, err = dataDirSecretKey(filepath.Join(c.DataDir, SecretKeyFile))
		if err != nil {
			return out, err
		}
	default:
		out.Unavailable = noSecretKey
	}
	return out, nil
}

// parseSecretKey reads 32 bytes written in hex or base64 (standard or
// URL alphabet, padded or not). The message never repeats the key.
func parseSecretKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if b, err := hex.DecodeString(s); err == nil && len(b) == 32 {
		return b, nil
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil && len(b) == 32 {
			return b, nil
		}
	}
	return nil, fmt.Errorf("the secret key must be 32 bytes written in hex (64 digits) or base64 (44 characters); got %d characters that are neither", len(s))
}

// dataDirSecretKey reads the secret key a server on SQLite keeps in its
// data directory, making it on the first start.
func dataDirSecretKey(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		key := make([]byte, 32)
		if _, err := rand.Read(key); err != nil {
			return nil, err
		}
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, fs.ErrExist) {
			return dataDirSecretKey(path) // made by another process meanwhile
		} else if err != nil {
			return nil, fmt.Errorf("secret key: %w", err)
		}
		_, err = f.WriteString(hex.EncodeToString(key) + "\n")
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return nil, fmt.Errorf("write %s: %w", path, err)
		}
		return key, nil
	} else if err != nil {
		return nil, fmt.Errorf("secret key: %w", err)
	}
	key, err := parseSecretKey(string(b))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return key, nil
}

// tufRefreshInterval is how often the server looks for timestamps and
// snapshots past half their life: a twentieth of the timestamp's life,
// from half a second to a minute.
func tufRefreshInterval(expiry time.Duration) time.Duration {
	if expiry == 0 {
		expiry = driverhub.DefaultTUFTimestampExpiry
	}
	return min(max(expiry/20, 500*time.Millisecond), time.Minute)
}

// runTUFRefresh re-signs timestamps and snapshots past half their life,
// at once and then every interval, until ctx ends. Every replica runs it;
// the service signs each new version once.
func (s *Server) runTUFRefresh(ctx context.Context) {
	t := time.NewTicker(tufRefreshInterval(s.cfg.TUFTimestampExpiry))
	defer t.Stop()
	for {
		if n, err := s.svc.RefreshTUF(ctx); err != nil && ctx.Err() == nil {
			s.log.Error("re-sign TUF timestamps", "err", err)
		} else if n > 0 {
			s.log.Debug("re-signed TUF timestamps", "repositories", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
