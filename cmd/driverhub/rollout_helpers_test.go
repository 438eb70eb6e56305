//go:build linux

package main_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// rlAPI calls a server's REST API as its admin, from any goroutine.
type rlAPI struct {
	base   string
	client *http.Client
}

func newRLAPI(base string) *rlAPI {
	return &rlAPI{base: base, client: &http.Client{Timeout: 2 * time.Minute, Transport: &http.Transport{MaxIdleConnsPerHost: 16}}}
}

func (a *rlAPI) do(method, path string, body any, out any) (int, error) {
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, _ := json.Marshal(b)
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, a.base+path, rd)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+adminToken)
	resp, err := a.client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err == nil && out != nil && resp.StatusCode < 300 {
		err = json.Unmarshal(data, out)
	}
	if err == nil && resp.StatusCode >= 300 {
		err = fmt.Errorf("%s %s: status %d: %s", method, path, resp.StatusCode, data)
	}
	return resp.StatusCode, err
}

// must fails the test unless the call answers want.
func (a *rlAPI) must(t testing.TB, want int, method, path string, body, out any) {
	t.Helper()
	code, err := a.do(method, path, body, out)
	if code != want {
		t.Fatalf("%s %s: %d, want %d: %v", method, path, code, want, err)
	}
}

// publishMeter publishes python3 driver meter at versions 1.0.0 and 2.0.0.
func (a *rlAPI) publishMeter(t testing.TB) {
	t.Helper()
	a.must(t, 201, "POST", "/api/v1/drivers", map[string]any{"name": "meter", "protocol": "modbus", "runtime": "python3"}, nil)
	for k, v := range []string{"1.0.0", "2.0.0"} {
		a.must(t, 201, "POST", "/api/v1/drivers/meter/versions", map[string]any{"version": v, "min_edge_version": "1.0.0"}, nil)
		a.must(t, 200, "PUT", "/api/v1/drivers/meter/versions/"+v+"/package", pythonPackage(t, 4<<10, uint64(k+1)), nil)
		a.must(t, 200, "POST", "/api/v1/drivers/meter/versions/"+v+"/publish", nil, nil)
	}
}

// rlName is the name of the k-th instance of a fleet.
func rlName(k int) string { return fmt.Sprintf("gw-%05d", k) }

// createFleet creates instances gw-00000… tagged site=sh with meter
// 1.0.0 bound, workers at a time, and writes their secrets to a file for
// the load generator; it returns the file.
func (a *rlAPI) createFleet(t testing.TB, n, workers int, dir string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	secrets := make([]string, n)
	next := make(chan int)
	var mu sync.Mutex
	var first error
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for k := range next {
				var inst struct {
					Secret string `json:"gateway_secret"`
				}
				_, err := a.do("POST", "/api/v1/instances", map[string]any{"name": rlName(k), "tags": map[string]string{"site": "sh"}}, &inst)
				if err == nil {
					_, err = a.do("PUT", "/api/v1/instances/"+rlName(k)+"/drivers/meter", map[string]any{"version": "1.0.0"}, nil)
				}
				if err != nil {
					mu.Lock()
					first = err
					mu.Unlock()
					cancel()
					return
				}
				secrets[k] = rlName(k) + " " + inst.Secret
			}
		})
	}
feed:
	for k := range n {
		select {
		case next <- k:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	if first != nil || ctx.Err() != nil {
		t.Fatalf("create the fleet: %v %v", first, ctx.Err())
	}
	file := filepath.Join(dir, "secrets")
	if err := os.WriteFile(file, []byte(strings.Join(secrets, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return file
}

// rlRollout is the part of a rollout's view the tests read.
type rlRollout struct {
	ID     string         `json:"id"`
	State  string         `json:"state"`
	Reason string         `json:"reason"`
	Wave   int            `json:"current_wave"`
	Counts map[string]int `json:"counts"`
	Waves  []struct {
		Size       int    `json:"size"`
		Succeeded  int    `json:"succeeded"`
		Failed     int    `json:"failed"`
		Pending    int    `json:"pending"`
		RolledBack int    `json:"rolled_back"`
		State      string `json:"state"`
	} `json:"waves"`
	Events []struct {
		Time    time.Time `json:"time"`
		Type    string    `json:"type"`
		Wave    int       `json:"wave"`
		Message string    `json:"message"`
	} `json:"events"`
}

// eventCount counts the rollout's events of a type.
func (r *rlRollout) eventCount(typ string) int {
	n := 0
	for _, e := range r.Events {
		if e.Type == typ {
			n++
		}
	}
	return n
}

// awaitRollout polls the rollout until cond holds; it fails after limit.
func (a *rlAPI) awaitRollout(t testing.TB, id string, limit time.Duration, what string, cond func(*rlRollout) bool) *rlRollout {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		var r rlRollout
		_, err := a.do("GET", "/api/v1/rollouts/"+id, nil, &r)
		if err == nil && cond(&r) {
			return &r
		}
		if time.Now().After(deadline) {
			t.Fatalf("rollout %s not %s after %s: %+v (%v)", id, what, limit, r, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// rlTarget is a rollout target as the API lists it.
type rlTarget struct {
	Instance             string `json:"instance"`
	Wave                 int    `json:"wave"`
	State                string `json:"state"`
	DeploymentID         string `json:"deployment_id"`
	RollbackDeploymentID string `json:"rollback_deployment_id"`
}

// targets lists every target of a rollout, page by page.
func (a *rlAPI) targets(t testing.TB, id string) []rlTarget {
	t.Helper()
	var out []rlTarget
	cursor := ""
	for {
		var page struct {
			Items      []rlTarget `json:"items"`
			NextCursor string     `json:"next_cursor"`
		}
		a.must(t, 200, "GET", "/api/v1/rollouts/"+id+"/targets?limit=500&cursor="+cursor, nil, &page)
		out = append(out, page.Items...)
		if page.NextCursor == "" {
			return out
		}
		cursor = page.NextCursor
	}
}

// deploymentIDs lists an instance's deployments, newest first.
func (a *rlAPI) deploymentIDs(t testing.TB, instance string) []string {
	t.Helper()
	var page struct {
		Items []struct {
			ID string `json:"id"`
		} `json:"items"`
	}
	a.must(t, 200, "GET", "/api/v1/instances/"+instance+"/deployments?limit=500", nil, &page)
	var ids []string
	for _, d := range page.Items {
		ids = append(ids, d.ID)
	}
	return ids
}

func (a *rlAPI) boundVersion(t testing.TB, instance string) string {
	t.Helper()
	var b struct {
		Version string `json:"version"`
	}
	a.must(t, 200, "GET", "/api/v1/instances/"+instance+"/drivers/meter", nil, &b)
	return b.Version
}

// rolloutBody is a rollout of meter 2.0.0 to the fleet.
func rolloutBody(waves []int, success, failure int) map[string]any {
	return map[string]any{"name": "meter 2 to sh", "driver": "meter", "version": "2.0.0",
		"selector": map[string]any{"tags": map[string]string{"site": "sh"}}, "waves": waves,
		"success_threshold": success, "failure_threshold": failure, "wave_timeout": "30m"}
}
