package httpapi_test

import (
	"archive/zip"
	"crypto/sha256"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime/metrics"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/driverhub/driverhub/internal/apitest"
)

// writePackage writes a python3 package of about size bytes (random,
// stored, so it does not compress) and returns its path.
func writePackage(tb testing.TB, dir string, size int) string {
	tb.Helper()
	path := filepath.Join(dir, "pkg.zip")
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	zw := zip.NewWriter(f)
	w, _ := zw.Create("index.py")
	io.WriteString(w, "print('bench')\n")
	w, _ = zw.CreateHeader(&zip.FileHeader{Name: "blob.bin", Method: zip.Store})
	r := rand.New(rand.NewPCG(1, 2))
	chunk := make([]byte, 1<<20)
	for n := 0; n < size; n += len(chunk) {
		for i := 0; i < len(chunk); i += 8 {
			v := r.Uint64()
			for j := 0; j < 8; j++ {
				chunk[i+j] = byte(v >> (8 * j))
			}
		}
		w.Write(chunk[:min(len(chunk), size-n)])
	}
	if err := zw.Close(); err != nil {
		tb.Fatal(err)
	}
	return path
}

// heapPeak samples the live heap until stopped and returns the peak.
func heapPeak() (stop func() uint64) {
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	var peak atomic.Uint64
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for {
			metrics.Read(sample)
			if v := sample[0].Value.Uint64(); v > peak.Load() {
				peak.Store(v)
			}
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	return func() uint64 { close(done); <-finished; return peak.Load() }
}

func liveHeap() uint64 {
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(sample)
	return sample[0].Value.Uint64()
}

// BenchmarkPackageUpload compares a 50 MiB package upload through the API
// with the baseline "SHA-256 while copying the same bytes to a file", in
// the same run, and reports the ratio and the server's heap growth.
func BenchmarkPackageUpload(b *testing.B) {
	dir := b.TempDir()
	path := writePackage(b, dir, 50<<20-64<<10)
	info, _ := os.Stat(path)
	s := apitest.New(b)
	s.Must(b, 201, "POST", "/api/v1/drivers", s.AdminToken, map[string]any{"name": "bench", "protocol": "modbus", "runtime": "python3"})

	var baseline, api []time.Duration
	var growth uint64
	for i := 0; b.Loop(); i++ {
		start := time.Now()
		src, _ := os.Open(path)
		dst, _ := os.Create(filepath.Join(dir, "copy"))
		h := sha256.New()
		if _, err := io.Copy(io.MultiWriter(dst, h), src); err != nil {
			b.Fatal(err)
		}
		h.Sum(nil)
		dst.Close()
		src.Close()
		baseline = append(baseline, time.Since(start))

		v := fmt.Sprintf("1.%d", i)
		s.Must(b, 201, "POST", "/api/v1/drivers/bench/versions", s.AdminToken, map[string]any{"version": v, "min_edge_version": "1.0.0"})
		f, _ := os.Open(path)
		before := liveHeap()
		stop := heapPeak()
		start = time.Now()
		s.Must(b, 200, "PUT", "/api/v1/drivers/bench/versions/"+v+"/package", s.AdminToken, io.Reader(f))
		api = append(api, time.Since(start))
		if peak := stop(); peak > before && peak-before > growth {
			growth = peak - before
		}
		f.Close()
	}
	mb := float64(info.Size()) / (1 << 20)
	b.ReportMetric(mb/median(baseline).Seconds(), "baseline-MiB/s")
	b.ReportMetric(mb/median(api).Seconds(), "api-MiB/s")
	b.ReportMetric(median(baseline).Seconds()/median(api).Seconds(), "api/baseline")
	b.ReportMetric(float64(growth)/(1<<20), "heap-growth-MiB")
}

// BenchmarkPackageDownload compares a package download through the API with
// http.ServeFile of the same file, same run, both over loopback HTTP.
func BenchmarkPackageDownload(b *testing.B) {
	dir := b.TempDir()
	path := writePackage(b, dir, 50<<20-64<<10)
	info, _ := os.Stat(path)
	s := apitest.New(b)
	s.Must(b, 201, "POST", "/api/v1/drivers", s.AdminToken, map[string]any{"name": "bench", "protocol": "modbus", "runtime": "python3"})
	s.Must(b, 201, "POST", "/api/v1/drivers/bench/versions", s.AdminToken, map[string]any{"version": "1.0", "min_edge_version": "1.0.0"})
	f, _ := os.Open(path)
	s.Must(b, 200, "PUT", "/api/v1/drivers/bench/versions/1.0/package", s.AdminToken, io.Reader(f))
	f.Close()
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { http.ServeFile(w, r, path) }))
	defer plain.Close()

	get := func(url, token string) time.Duration {
		req, _ := http.NewRequest("GET", url, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		start := time.Now()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		n, _ := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || n != info.Size() {
			b.Fatalf("GET %s: %d, %d bytes", url, resp.StatusCode, n)
		}
		return time.Since(start)
	}
	// Alternate which goes first and compare medians: on a shared machine a
	// single slow transfer would otherwise decide the ratio.
	var baseline, api []time.Duration
	for i := 0; b.Loop(); i++ {
		if i%2 == 0 {
			baseline = append(baseline, get(plain.URL, ""))
			api = append(api, get(s.URL+"/api/v1/drivers/bench/versions/1.0/package", s.AdminToken))
		} else {
			api = append(api, get(s.URL+"/api/v1/drivers/bench/versions/1.0/package", s.AdminToken))
			baseline = append(baseline, get(plain.URL, ""))
		}
	}
	mb := float64(info.Size()) / (1 << 20)
	b.ReportMetric(mb/median(baseline).Seconds(), "servefile-MiB/s")
	b.ReportMetric(mb/median(api).Seconds(), "api-MiB/s")
	b.ReportMetric(median(baseline).Seconds()/median(api).Seconds(), "api/servefile")
}

func median(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}
