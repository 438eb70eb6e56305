// Package s3test gives each test a fresh key prefix in the bucket named by
// $DRIVERHUB_TEST_S3 (see scripts/test-services.sh).
package s3test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/driverhub/driverhub/internal/s3blob"
	"github.com/driverhub/driverhub/internal/testenv"
)

// Env names the variable holding the test bucket's URL, as --blobs takes it;
// the credentials are in AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY.
const Env = "DRIVERHUB_TEST_S3"

// URL returns the test bucket's URL. When it is unset the test is skipped,
// or fails under CI=true, where the store must be there.
func URL(t testing.TB) string {
	t.Helper()
	u := os.Getenv(Env)
	if u == "" {
		testenv.Require(t, Env+" unset: no S3 store to test against (start one with scripts/test-services.sh)")
	}
	return u
}

// Fresh returns base with a new, empty key prefix below base's own; every
// object under it is removed when the test ends.
func Fresh(t testing.TB, base string) string {
	t.Helper()
	c, err := s3blob.ParseURL(base)
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	prefix := "t-" + hex.EncodeToString(b)
	u, _ := url.Parse(base)
	u.Path = "/" + strings.TrimPrefix(c.Prefix+prefix, "/")
	out := u.String()
	t.Cleanup(func() { Clean(t, out) })
	return out
}

// Clean removes every object under the URL's prefix.
func Clean(t testing.TB, raw string) {
	t.Helper()
	c, err := s3blob.ParseURL(raw)
	if err != nil {
		t.Fatal(err)
	}
	endpoint := c.Endpoint
	if endpoint == "" {
		endpoint = "s3.amazonaws.com"
	}
	lookup := minio.BucketLookupAuto
	if c.PathStyle {
		lookup = minio.BucketLookupPath
	}
	cl, err := minio.New(endpoint, &minio.Options{Secure: c.Secure, Region: c.Region, BucketLookup: lookup,
		Creds: credentials.NewStaticV4(os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_SECRET_ACCESS_KEY"), "")})
	if err != nil {
		t.Logf("s3test: %v", err)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	objects := cl.ListObjects(ctx, c.Bucket, minio.ListObjectsOptions{Prefix: c.Prefix, Recursive: true})
	for e := range cl.RemoveObjects(ctx, c.Bucket, objects, minio.RemoveObjectsOptions{}) {
		t.Logf("s3test: removing %s: %v", e.ObjectName, e.Err)
	}
}
