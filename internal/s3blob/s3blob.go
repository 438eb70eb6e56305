// Package s3blob is the driverhub.BlobStore on an S3-compatible object
// store (AWS S3, MinIO, Ceph RGW, versitygw, …), through minio-go.
//
// A blob lives at <prefix><key>. Stage spools the bytes to a local file
// in Config.SpoolDir while hashing them. Commit streams that file to a
// temporary object <prefix>.tmp/<key>.<random> (one PUT up to the part
// size, multipart above it: at most one part is held in memory), hashing
// it again on the way; only when size and SHA-256 match does a server-side
// copy install the temporary object under its key, and the temporary
// object is then deleted. A reader of a key therefore never sees a partial
// or wrong blob. A crash may leave spool files, temporary objects and
// incomplete multipart uploads: Open removes spool files and temporary
// objects older than an hour, and a bucket lifecycle rule should abort
// incomplete multipart uploads (see docs/production.md).
package s3blob

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/driverhub/driverhub"
	"github.com/driverhub/driverhub/internal/diskfree"
)

const (
	// DefaultPartSize is the size of the parts of a multipart upload, and
	// the largest blob sent in one PUT.
	DefaultPartSize = 16 << 20
	// minPartSize is S3's smallest part (but for the last).
	minPartSize = 5 << 20
	tmpDir      = ".tmp/"
	// staleAge is how old a temporary object must be for Open to remove it.
	staleAge = time.Hour
)

// Config says where the blobs are.
type Config struct {
	Bucket string
	// Prefix is put before every key ("" or ending in "/").
	Prefix string
	// Endpoint is host[:port]; "" is AWS S3 (s3.amazonaws.com).
	Endpoint string
	// Secure uses HTTPS (the default, unless the endpoint URL is http://).
	Secure bool
	Region string
	// PathStyle addresses buckets as http://endpoint/bucket rather than as
	// http://bucket.endpoint (what most self-hosted stores want).
	PathStyle bool
	// AccessKey, SecretKey and SessionToken are the credentials; empty
	// takes AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN.
	AccessKey, SecretKey, SessionToken string
	// PartSize is the multipart part size in bytes (default DefaultPartSize).
	PartSize uint64
	// SpoolDir holds staged blobs on local disk until they are committed;
	// default os.TempDir(). Open creates it.
	SpoolDir string
	// MinFree is the room the spool leaves on its filesystem: below it,
	// Stage and Ping answer ErrNoSpace. Zero is driverhub.MinFreeDiskBytes;
	// negative, none.
	MinFree int64
	// PresignEndpoint, when set, is the scheme://host[:port] that presigned
	// URLs name, for stores the server reaches at another address than
	// clients do. It needs Region.
	PresignEndpoint string
}

// IsURL reports whether s names an S3 bucket (s3://).
func IsURL(s string) bool { return strings.HasPrefix(s, "s3://") }

// ParseURL parses s3://BUCKET[/PREFIX]?endpoint=http://HOST:PORT&region=R&path_style=true,
// with optional part_size_mb and presign_endpoint. Without endpoint, the
// bucket is on AWS S3.
func ParseURL(raw string) (Config, error) {
	var c Config
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "s3" || u.Host == "" {
		return c, fmt.Errorf("s3blob: %q is not s3://BUCKET[/PREFIX]?endpoint=…", raw)
	}
	if u.User != nil {
		return c, errors.New("s3blob: put credentials in AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, not in the URL")
	}
	c.Bucket = u.Host
	if p := strings.Trim(u.Path, "/"); p != "" {
		c.Prefix = p + "/"
	}
	q := u.Query()
	for k := range q {
		switch k {
		case "endpoint", "region", "path_style", "part_size_mb", "presign_endpoint":
		default:
			return c, fmt.Errorf("s3blob: unknown parameter %q in the blob store URL", k)
		}
	}
	c.Region = q.Get("region")
	c.Secure = true
	if e := q.Get("endpoint"); e != "" {
		eu, err := url.Parse(e)
		if err != nil || (eu.Scheme != "http" && eu.Scheme != "https") || eu.Host == "" || (eu.Path != "" && eu.Path != "/") {
			return c, fmt.Errorf("s3blob: endpoint must be http://HOST[:PORT] or https://HOST[:PORT], got %q", e)
		}
		c.Endpoint, c.Secure = eu.Host, eu.Scheme == "https"
	}
	if v := q.Get("path_style"); v != "" {
		if c.PathStyle, err = strconv.ParseBool(v); err != nil {
			return c, fmt.Errorf("s3blob: path_style must be true or false, got %q", v)
		}
	}
	if v := q.Get("part_size_mb"); v != "" {
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil || n<<20 < minPartSize {
			return c, fmt.Errorf("s3blob: part_size_mb must be a number of MiB, at least 5, got %q", v)
		}
		c.PartSize = n << 20
	}
	if v := q.Get("presign_endpoint"); v != "" {
		eu, err := url.Parse(v)
		if err != nil || (eu.Scheme != "http" && eu.Scheme != "https") || eu.Host == "" {
			return c, fmt.Errorf("s3blob: presign_endpoint must be http(s)://HOST[:PORT], got %q", v)
		}
		if c.Region == "" {
			return c, errors.New("s3blob: presign_endpoint needs region")
		}
		c.PresignEndpoint = v
	}
	return c, nil
}

// Store is a BlobStore in a bucket. It is safe for concurrent use, by
// many server replicas too.
type Store struct {
	c       *minio.Client
	presign *minio.Client
	cfg     Config
	marks   marks
}

var _ driverhub.BlobStore = (*Store)(nil)

func newClient(endpoint string, secure bool, c Config) (*minio.Client, error) {
	creds := credentials.NewStaticV4(c.AccessKey, c.SecretKey, c.SessionToken)
	lookup := minio.BucketLookupAuto
	if c.PathStyle {
		lookup = minio.BucketLookupPath
	}
	tr, err := minio.DefaultTransport(secure)
	if err != nil {
		return nil, err
	}
	tr.MaxIdleConnsPerHost = 64
	return minio.New(endpoint, &minio.Options{Creds: creds, Secure: secure, Region: c.Region, BucketLookup: lookup,
		Transport: tr, MaxRetries: 3})
}

// Open returns the store described by c, after checking that the bucket
// exists, and removes temporary objects left by crashes.
func Open(ctx context.Context, c Config, log *slog.Logger) (*Store, error) {
	if c.Bucket == "" {
		return nil, errors.New("s3blob: no bucket")
	}
	if c.AccessKey == "" && c.SecretKey == "" {
		c.AccessKey, c.SecretKey = os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_SECRET_ACCESS_KEY")
		c.SessionToken = os.Getenv("AWS_SESSION_TOKEN")
	}
	if c.AccessKey == "" || c.SecretKey == "" {
		return nil, errors.New("s3blob: no credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")
	}
	if c.Endpoint == "" {
		c.Endpoint, c.Secure = "s3.amazonaws.com", true
	}
	if c.PartSize == 0 {
		c.PartSize = DefaultPartSize
	}
	if c.PartSize < minPartSize {
		return nil, fmt.Errorf("s3blob: part size %d is below S3's minimum of 5 MiB", c.PartSize)
	}
	if log == nil {
		log = slog.Default()
	}
	if c.SpoolDir == "" {
		c.SpoolDir = os.TempDir()
	}
	if c.MinFree == 0 {
		c.MinFree = driverhub.MinFreeDiskBytes
	}
	if err := os.MkdirAll(c.SpoolDir, 0o700); err != nil {
		return nil, fmt.Errorf("s3blob: spool directory: %w", err)
	}
	cl, err := newClient(c.Endpoint, c.Secure, c)
	if err != nil {
		return nil, fmt.Errorf("s3blob: %w", err)
	}
	s := &Store{c: cl, presign: cl, cfg: c}
	if c.PresignEndpoint != "" {
		eu, _ := url.Parse(c.PresignEndpoint)
		if s.presign, err = newClient(eu.Host, eu.Scheme == "https", c); err != nil {
			return nil, fmt.Errorf("s3blob: %w", err)
		}
	}
	if err := s.Ping(ctx); err != nil {
		return nil, err
	}
	if n, err := s.removeStale(ctx, time.Now().Add(-staleAge)); err != nil {
		log.Warn("s3blob: removing stale temporary objects", "err", err)
	} else if n > 0 {
		log.Info("s3blob: removed stale temporary objects", "count", n)
	}
	if n, err := removeStaleSpool(c.SpoolDir, time.Now().Add(-staleAge)); err != nil {
		log.Warn("s3blob: removing stale spool files", "dir", c.SpoolDir, "err", err)
	} else if n > 0 {
		log.Info("s3blob: removed stale spool files", "dir", c.SpoolDir, "count", n)
	}
	return s, nil
}

// OpenURL is Open of ParseURL(raw).
func OpenURL(ctx context.Context, raw string, log *slog.Logger) (*Store, error) {
	c, err := ParseURL(raw)
	if err != nil {
		return nil, err
	}
	return Open(ctx, c, log)
}

// Config returns the store's configuration, credentials left out.
func (s *Store) Config() Config {
	c := s.cfg
	c.AccessKey, c.SecretKey, c.SessionToken = "", "", ""
	return c
}

func (s *Store) object(key string) string { return s.cfg.Prefix + key }

func checkKey(key string) error {
	if !driverhub.ValidSHA256(key) {
		return fmt.Errorf("s3blob: %w", driverhub.Invalid("key", "must be 64 lower-case hex digits, got %q", key))
	}
	return nil
}

// isNotFound reports S3's answers for an absent object.
func isNotFound(err error) bool {
	r := minio.ToErrorResponse(err)
	return r.StatusCode == http.StatusNotFound || r.Code == minio.NoSuchKey || r.Code == "NotFound"
}

func (s *Store) wrap(op, key string, err error) error {
	if isNotFound(err) {
		return fmt.Errorf("s3blob: %s %s: %w", op, key, driverhub.ErrNotFound)
	}
	return fmt.Errorf("s3blob: %s %s: %w", op, key, err)
}

// hashingReader hashes and counts what passes through it. The HTTP
// transport may read it from its own goroutine, hence the lock.
type hashingReader struct {
	ctx context.Context
	mu  sync.Mutex
	r   io.Reader
	h   hash.Hash
	n   int64
}

func (r *hashingReader) Read(p []byte) (int, error) {
	if err := r.ctx.Err(); err != nil {
		return 0, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	n, err := r.r.Read(p)
	r.h.Write(p[:n])
	r.n += int64(n)
	return n, err
}

// result returns the bytes read so far and their SHA-256, in hex.
func (r *hashingReader) result() (int64, string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.n, hex.EncodeToString(r.h.Sum(nil))
}

// upload streams exactly size bytes from r to a temporary object while
// hashing them; when size and digest match key it copies the object to key
// on the server side. The temporary object goes whatever happens.
func (s *Store) upload(ctx context.Context, key string, r io.Reader, size int64) (err error) {
	tmp := s.cfg.Prefix + tmpDir + key + "." + randomSuffix()
	hr := &hashingReader{ctx: ctx, r: r, h: sha256.New()}
	_, err = s.c.PutObject(ctx, s.cfg.Bucket, tmp, hr, size, minio.PutObjectOptions{
		PartSize: s.cfg.PartSize, ContentType: "application/octet-stream"})
	defer func() {
		// A failed or aborted upload leaves none; removing an absent one is no error.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		if rerr := s.c.RemoveObject(rctx, s.cfg.Bucket, tmp, minio.RemoveObjectOptions{}); rerr != nil && err == nil {
			err = fmt.Errorf("s3blob: commit %s: removing the temporary object: %w", key, rerr)
		}
	}()
	n, got := hr.result()
	if err != nil {
		if cerr := ctx.Err(); cerr != nil {
			return fmt.Errorf("s3blob: commit %s: %w", key, cerr)
		}
		return fmt.Errorf("s3blob: commit %s: after %d bytes: %w", key, n, bucketFull(err))
	}
	if n != size || got != key {
		return fmt.Errorf("s3blob: commit %s: sent %d bytes with sha256 %s, want %d: %w", key, n, got, size, driverhub.ErrBlobCheck)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("s3blob: commit %s: %w", key, err)
	}
	_, err = s.c.CopyObject(ctx,
		minio.CopyDestOptions{Bucket: s.cfg.Bucket, Object: s.object(key)},
		minio.CopySrcOptions{Bucket: s.cfg.Bucket, Object: tmp})
	if err != nil {
		return fmt.Errorf("s3blob: commit %s: copying into place: %w", key, err)
	}
	return nil
}

// bucketFull turns the object store's answers for a full disk or quota
// into driverhub.ErrNoSpace.
func bucketFull(err error) error {
	r := minio.ToErrorResponse(err)
	switch {
	case r.StatusCode == http.StatusInsufficientStorage, r.Code == "XMinioStorageFull", r.Code == "QuotaExceeded":
		return fmt.Errorf("%w (%v)", driverhub.ErrNoSpace, err)
	}
	return err
}

func randomSuffix() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Stat returns the blob's size.
func (s *Store) Stat(ctx context.Context, key string) (int64, error) {
	info, err := s.stat(ctx, key)
	return info.Size, err
}

func (s *Store) stat(ctx context.Context, key string) (minio.ObjectInfo, error) {
	if err := checkKey(key); err != nil {
		return minio.ObjectInfo{}, err
	}
	if err := ctx.Err(); err != nil {
		return minio.ObjectInfo{}, fmt.Errorf("s3blob: stat %s: %w", key, err)
	}
	info, err := s.c.StatObject(ctx, s.cfg.Bucket, s.object(key), minio.StatObjectOptions{})
	if err != nil {
		return minio.ObjectInfo{}, s.wrap("stat", key, err)
	}
	return info, nil
}

// List lists the objects under the prefix that are named by a key; the
// temporary objects under .tmp/ are not blobs.
func (s *Store) List(ctx context.Context, fn func(driverhub.BlobInfo) error) error {
	for obj := range s.c.ListObjects(ctx, s.cfg.Bucket, minio.ListObjectsOptions{Prefix: s.cfg.Prefix, Recursive: true}) {
		if obj.Err != nil {
			return fmt.Errorf("s3blob: list: %w", obj.Err)
		}
		key := strings.TrimPrefix(obj.Key, s.cfg.Prefix)
		if !driverhub.ValidSHA256(key) {
			continue
		}
		if err := fn(driverhub.BlobInfo{Key: key, Size: obj.Size, Modified: obj.LastModified}); err != nil {
			return err
		}
	}
	return ctx.Err()
}

// Delete removes the blob; an absent blob is no error.
func (s *Store) Delete(ctx context.Context, key string) error {
	if err := checkKey(key); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("s3blob: delete %s: %w", key, err)
	}
	s.marks.drop(key)
	if err := s.c.RemoveObject(ctx, s.cfg.Bucket, s.object(key), minio.RemoveObjectOptions{}); err != nil && !isNotFound(err) {
		return fmt.Errorf("s3blob: delete %s: %w", key, err)
	}
	return nil
}

// Ping checks that the bucket exists and the credentials are accepted,
// and that the spool has room.
func (s *Store) Ping(ctx context.Context) error {
	ok, err := s.c.BucketExists(ctx, s.cfg.Bucket)
	if err != nil {
		return fmt.Errorf("s3blob: ping bucket %s: %w", s.cfg.Bucket, err)
	}
	if !ok {
		return fmt.Errorf("s3blob: bucket %s does not exist", s.cfg.Bucket)
	}
	if err := diskfree.Check(s.cfg.SpoolDir, s.cfg.MinFree); err != nil {
		return fmt.Errorf("s3blob: ping: spool: %w", err)
	}
	return nil
}

// PresignGet returns a URL from which the blob can be fetched without
// credentials for ttl, saved as filename. It does not check that the blob
// exists.
func (s *Store) PresignGet(ctx context.Context, key, filename string, ttl time.Duration) (string, error) {
	if err := checkKey(key); err != nil {
		return "", err
	}
	q := url.Values{}
	q.Set("response-content-type", "application/octet-stream")
	if filename != "" {
		q.Set("response-content-disposition", driverhub.ContentDisposition(filename))
	}
	u, err := s.presign.PresignedGetObject(ctx, s.cfg.Bucket, s.object(key), ttl, q)
	if err != nil {
		return "", fmt.Errorf("s3blob: presign %s: %w", key, err)
	}
	return u.String(), nil
}

// removeStale removes temporary objects last modified before cutoff.
func (s *Store) removeStale(ctx context.Context, cutoff time.Time) (int, error) {
	n := 0
	for obj := range s.c.ListObjects(ctx, s.cfg.Bucket, minio.ListObjectsOptions{Prefix: s.cfg.Prefix + tmpDir, Recursive: true}) {
		if obj.Err != nil {
			return n, obj.Err
		}
		if obj.LastModified.Before(cutoff) {
			if err := s.c.RemoveObject(ctx, s.cfg.Bucket, obj.Key, minio.RemoveObjectOptions{}); err != nil {
				return n, err
			}
			n++
		}
	}
	return n, nil
}
