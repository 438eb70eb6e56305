package s3blob_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/driverhub/driverhub"
	"github.com/driverhub/driverhub/internal/blobtest"
	"github.com/driverhub/driverhub/internal/s3blob"
	"github.com/driverhub/driverhub/internal/s3blob/s3test"
)

// open opens a store on a fresh prefix of the test bucket, spooling to a
// test directory, with 5 MiB parts, so that the suite's 8 MiB blob goes up
// in a multipart upload.
func open(t testing.TB) *s3blob.Store {
	t.Helper()
	raw := s3test.Fresh(t, s3test.URL(t))
	c, err := s3blob.ParseURL(raw)
	if err != nil {
		t.Fatal(err)
	}
	c.PartSize = 5 << 20
	c.SpoolDir = t.TempDir()
	s, err := s3blob.Open(t.Context(), c, nil)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return s
}

func TestConformance(t *testing.T) {
	blobtest.Run(t, func(t testing.TB) blobtest.Store {
		s := open(t)
		return blobtest.Store{BlobStore: s, Leftovers: func(t testing.TB) []string {
			left := spoolFiles(t, s)
			for _, o := range objects(t, s) {
				if strings.HasPrefix(o, ".tmp/") {
					left = append(left, o)
				}
			}
			return left
		}, Corrupt: func(t testing.TB, key string) { flip(t, s, key) }}
	})
}

// flip replaces the object under key by a copy with its middle byte
// changed, behind the store's back.
func flip(t testing.TB, s *s3blob.Store, key string) {
	t.Helper()
	c, cl := s.Config(), raw(t, s)
	obj, err := cl.GetObject(t.Context(), c.Bucket, c.Prefix+key, minio.GetObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(obj)
	obj.Close()
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 0x20
	if _, err := cl.PutObject(t.Context(), c.Bucket, c.Prefix+key, bytes.NewReader(b), int64(len(b)), minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
}

// spoolFiles lists the store's spool directory.
func spoolFiles(t testing.TB, s *s3blob.Store) []string {
	t.Helper()
	entries, err := os.ReadDir(s.Config().SpoolDir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}

// put stages b and commits it under its digest.
func put(t testing.TB, s *s3blob.Store, b []byte) string {
	t.Helper()
	sb, err := s.Stage(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer sb.Discard()
	if _, err := sb.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := sb.Commit(t.Context(), keyOf(b)); err != nil {
		t.Fatalf("Commit: %v", err)
	}
	return keyOf(b)
}

// raw is a client on the test bucket, to look behind the store.
func raw(t testing.TB, s *s3blob.Store) *minio.Client {
	t.Helper()
	c := s.Config()
	cl, err := minio.New(c.Endpoint, &minio.Options{Secure: c.Secure, Region: c.Region, BucketLookup: minio.BucketLookupPath,
		Creds: credentials.NewEnvAWS()})
	if err != nil {
		t.Fatal(err)
	}
	return cl
}

// objects lists the keys under the store's prefix.
func objects(t testing.TB, s *s3blob.Store) []string {
	t.Helper()
	c := s.Config()
	var out []string
	for o := range raw(t, s).ListObjects(t.Context(), c.Bucket, minio.ListObjectsOptions{Prefix: c.Prefix, Recursive: true}) {
		if o.Err != nil {
			t.Fatal(o.Err)
		}
		out = append(out, strings.TrimPrefix(o.Key, c.Prefix))
	}
	return out
}

func keyOf(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// TestNoPartialBlobVisible reads the key while a large Commit is under
// way: it is absent until the whole, checked blob is in place.
func TestNoPartialBlobVisible(t *testing.T) {
	s := open(t)
	ctx := t.Context()
	b := make([]byte, 12<<20)
	for i := range b {
		b[i] = byte(i * 7)
	}
	key := keyOf(b)
	done := make(chan struct{})
	go func() {
		defer close(done)
		put(t, s, b)
	}()
	for {
		n, err := s.Stat(ctx, key)
		if err == nil && n != int64(len(b)) {
			t.Fatalf("mid-upload, Stat = %d bytes, want absent or %d", n, len(b))
		}
		if err != nil && !errors.Is(err, driverhub.ErrNotFound) {
			t.Fatal(err)
		}
		select {
		case <-done:
			if n, err := s.Stat(ctx, key); err != nil || n != int64(len(b)) {
				t.Fatalf("after Commit: Stat = %d, %v", n, err)
			}
			return
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// TestOpenRemovesStaleSpoolFiles checks that Open removes the spool files
// a crash left, but not fresh ones (a stage under way) nor other files.
func TestOpenRemovesStaleSpoolFiles(t *testing.T) {
	s := open(t)
	c := s.Config()
	old := time.Now().Add(-2 * time.Hour)
	for name, mtime := range map[string]time.Time{
		"driverhub-s3stage-old": old, "driverhub-s3stage-fresh": time.Now(), "other-old": old,
	} {
		path := filepath.Join(c.SpoolDir, name)
		if err := os.WriteFile(path, []byte("partial"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(path, mtime, mtime); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s3blob.Open(t.Context(), c, nil); err != nil {
		t.Fatal(err)
	}
	if got, want := spoolFiles(t, s), []string{"driverhub-s3stage-fresh", "other-old"}; !slices.Equal(got, want) {
		t.Errorf("spool files after Open = %q, want %q", got, want)
	}
}

// TestPresignGet fetches a blob through a presigned URL, without
// credentials, with its file name and Range support; the URL expires.
func TestPresignGet(t *testing.T) {
	s := open(t)
	ctx := t.Context()
	b := bytes.Repeat([]byte("0123456789"), 1000)
	key := put(t, s, b)
	u, err := s.PresignGet(ctx, key, "meter-1.0.0.zip", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !bytes.Equal(got, b) {
		t.Fatalf("GET presigned: status %d, %d bytes", resp.StatusCode, len(got))
	}
	if cd := resp.Header.Get("Content-Disposition"); !strings.Contains(cd, `filename="meter-1.0.0.zip"`) {
		t.Errorf("Content-Disposition = %q", cd)
	}
	req, _ := http.NewRequest("GET", u, nil)
	req.Header.Set("Range", "bytes=9990-")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	got, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusPartialContent || string(got) != "0123456789" {
		t.Errorf("ranged GET: status %d, %q", resp.StatusCode, got)
	}
	// A tampered URL is refused.
	pu, _ := url.Parse(u)
	q := pu.Query()
	q.Set("X-Amz-Expires", "604800")
	pu.RawQuery = q.Encode()
	resp, err = http.Get(pu.String())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("tampered URL: status %d, want 403", resp.StatusCode)
	}
	// An expired one too.
	short, err := s.PresignGet(ctx, key, "x.zip", time.Second)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(2100 * time.Millisecond)
	resp, err = http.Get(short)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("expired URL: status %d, want 403", resp.StatusCode)
	}
}

// TestOpenRemovesNothingFresh checks that Open leaves a temporary object
// that may belong to a Commit under way on another replica.
func TestOpenRemovesNothingFresh(t *testing.T) {
	s := open(t)
	c := s.Config()
	tmp := c.Prefix + ".tmp/" + keyOf(nil) + ".x"
	if _, err := raw(t, s).PutObject(t.Context(), c.Bucket, tmp, strings.NewReader("x"), 1, minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	// Config() leaves the credentials out: Open takes them from the environment.
	if _, err := s3blob.Open(t.Context(), c, nil); err != nil {
		t.Fatal(err)
	}
	if got := objects(t, s); len(got) != 1 {
		t.Errorf("objects after Open = %q, want the fresh temporary one", got)
	}
}

func TestOpenWithoutCredentials(t *testing.T) {
	c, err := s3blob.ParseURL(s3test.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("AWS_ACCESS_KEY_ID", "")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "")
	if _, err := s3blob.Open(t.Context(), c, nil); err == nil || !strings.Contains(err.Error(), "AWS_ACCESS_KEY_ID") {
		t.Errorf("Open without credentials: error = %v", err)
	}
	c.AccessKey, c.SecretKey = "driverhub-wrong", "wrong-secret"
	if _, err := s3blob.Open(t.Context(), c, nil); err == nil {
		t.Error("Open with wrong credentials succeeded")
	}
}

func TestPingMissingBucket(t *testing.T) {
	raw := s3test.URL(t)
	c, err := s3blob.ParseURL(raw)
	if err != nil {
		t.Fatal(err)
	}
	c.Bucket = "driverhub-no-such-bucket"
	if _, err := s3blob.Open(context.Background(), c, nil); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("Open(missing bucket) error = %v", err)
	}
}

func TestParseURL(t *testing.T) {
	c, err := s3blob.ParseURL("s3://pkgs/prod/blobs/?endpoint=http://127.0.0.1:9000&region=eu-1&path_style=true&part_size_mb=8")
	if err != nil {
		t.Fatal(err)
	}
	want := s3blob.Config{Bucket: "pkgs", Prefix: "prod/blobs/", Endpoint: "127.0.0.1:9000", Secure: false, Region: "eu-1",
		PathStyle: true, PartSize: 8 << 20}
	if c != want {
		t.Errorf("ParseURL = %+v, want %+v", c, want)
	}
	if c, _ := s3blob.ParseURL("s3://b"); !c.Secure || c.Endpoint != "" || c.Prefix != "" {
		t.Errorf("ParseURL(s3://b) = %+v", c)
	}
	for _, bad := range []string{
		"http://b", "s3://", "s3://b?endpoint=127.0.0.1:9000", "s3://b?path_style=maybe", "s3://b?part_size_mb=1",
		"s3://b?colour=blue", "s3://key:secret@b", "s3://b?presign_endpoint=https://x",
	} {
		if _, err := s3blob.ParseURL(bad); err == nil {
			t.Errorf("ParseURL(%q) succeeded", bad)
		}
	}
}
