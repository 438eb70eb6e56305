package main_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/driverhub/driverhub/internal/httpapi/client"
)

// TestReplicas runs two replicas on one PostgreSQL database and one S3
// prefix, started together on the empty database, and checks what they
// must share.
func TestReplicas(t *testing.T) {
	database, blobs := sharedStorage(t)
	// The S3 endpoint by name, and the servers by address: a client that
	// follows a presigned redirect then drops its Authorization header, as
	// it does for any other host.
	blobs = strings.Replace(blobs, "127.0.0.1", "localhost", 1)
	rs := startReplicas(t, 2, database, blobs, "--blobs-presign")
	a, b := rs[0], rs[1]
	secret, pkg := gatewayFixture(t, a, "meter", "gw1")

	t.Run("BootstrapOnce", func(t *testing.T) { checkBootstrapOnce(t, b) })
	t.Run("WakeAcrossReplicas", func(t *testing.T) { checkWakeAcrossReplicas(t, a, b, secret) })
	t.Run("NeverBackwardsAcrossReplicas", func(t *testing.T) { checkNeverBackwardsAcrossReplicas(t, a, b, secret) })
	t.Run("SharedBlobsPresigned", func(t *testing.T) { checkSharedBlobsPresigned(t, b, secret, pkg) })
	t.Run("Metrics", func(t *testing.T) { checkReplicaMetrics(t, b) })
	t.Run("UniqueAcrossReplicas", func(t *testing.T) { checkUniqueAcrossReplicas(t, rs) })
	noErrors(t, rs...)
}

// checkBootstrapOnce asserts that B sees the one admin user: two replicas
// started together on the empty database bootstrapped it once.
func checkBootstrapOnce(t *testing.T, b *replica) {
	var tenants struct {
		Items []struct {
			Username string `json:"username"`
		} `json:"items"`
	}
	b.mustCall(t, 200, "GET", "/api/v1/users", nil, &tenants)
	if len(tenants.Items) != 1 || tenants.Items[0].Username != "admin" {
		t.Errorf("users after two replicas bootstrapped: %+v, want one admin", tenants.Items)
	}
}

// checkWakeAcrossReplicas creates deployments on A and checks that a
// gateway long-polling B receives each within a second.
func checkWakeAcrossReplicas(t *testing.T, a, b *replica, secret string) {
	etag := `"none"`
	var worst time.Duration
	for round := range 5 {
		ch := longPoll(b, secret, etag, 30*time.Second)
		waitLongPolling(t, b, 1)
		start := time.Now()
		var d struct {
			ID string `json:"id"`
		}
		a.mustCall(t, 201, "POST", "/api/v1/instances/gw1/deployments", map[string]any{"type": "deploy"}, &d)
		select {
		case ans := <-ch:
			if ans.err != nil || ans.status != 200 || ans.id != d.ID {
				t.Fatalf("round %d: long-poll on B answered %+v, want 200 with deployment %s", round, ans, d.ID)
			}
			lat := ans.at.Sub(start)
			worst = max(worst, lat)
			if lat > time.Second {
				t.Errorf("round %d: the gateway on B woke %s after the deployment on A, want < 1 s", round, lat)
			}
			etag = ans.etag
		case <-time.After(5 * time.Second):
			t.Fatalf("round %d: long-poll on B not woken 5 s after the deployment on A", round)
		}
	}
	t.Logf("slowest cross-replica wake-up (deployment created on A → answer on B): %s", worst)
}

// checkNeverBackwardsAcrossReplicas checks that B never answers a gateway
// with a deployment older than the one it got from A.
func checkNeverBackwardsAcrossReplicas(t *testing.T, a, b *replica, secret string) {
	// B has just seen the gateway at deployment 1 (and may remember it
	// for a moment); the gateway then gets deployment 2 from A and asks
	// B whether anything changed: it has not, and B must not answer
	// with deployment 1.
	for round := range 5 {
		var d1, d2 struct {
			ID string `json:"id"`
		}
		a.mustCall(t, 201, "POST", "/api/v1/instances/gw1/deployments", map[string]any{"type": "deploy"}, &d1)
		if ans := <-longPoll(b, secret, "", 0); ans.status != 200 || ans.id != d1.ID {
			t.Fatalf("round %d: B answered %+v, want deployment 1 %s", round, ans, d1.ID)
		}
		a.mustCall(t, 201, "POST", "/api/v1/instances/gw1/deployments", map[string]any{"type": "deploy"}, &d2)
		ans := <-longPoll(a, secret, `"`+d1.ID+`"`, 0)
		if ans.status != 200 || ans.id != d2.ID {
			t.Fatalf("round %d: A answered %+v, want deployment 2 %s", round, ans, d2.ID)
		}
		if ans := <-longPoll(b, secret, ans.etag, 0); ans.status != http.StatusNotModified {
			t.Fatalf("round %d: B answered %+v to a gateway at deployment 2, want 304", round, ans)
		}
	}
}

// checkSharedBlobsPresigned has a gateway and a user download through B
// the package uploaded through A.
func checkSharedBlobsPresigned(t *testing.T, b *replica, secret string, pkg []byte) {
	// The package was uploaded through A; B redirects the gateway to the
	// object store, and the agent's own download code follows.
	path := "/api/v1/gateway/blobs/" + sum(pkg)
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	req, _ := http.NewRequest("GET", b.url+path, nil)
	req.Header.Set("Authorization", "Bearer "+secret)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusTemporaryRedirect || !strings.Contains(loc, "X-Amz-Signature=") {
		t.Fatalf("gateway blob on B: %d, Location %q; want 307 to a presigned URL", resp.StatusCode, loc)
	}
	agent, err := client.New(b.url, secret, nil)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := agent.Download(context.Background(), path, 0, &buf); err != nil || !bytes.Equal(buf.Bytes(), pkg) {
		t.Fatalf("agent download through the redirect: %v, %d bytes, want the %d-byte package", err, buf.Len(), len(pkg))
	}
	// Resuming asks for a range; the object store honours it.
	buf.Reset()
	if n, err := agent.Download(context.Background(), path, 1000, &buf); err != nil || !bytes.Equal(buf.Bytes(), pkg[1000:]) {
		t.Fatalf("resumed download: %v, %d bytes", err, n)
	}
	// Users' package downloads redirect too, with the file name.
	code, body := b.call(t, adminToken, "GET", "/api/v1/drivers/meter/versions/1.0.0/package", nil)
	if code != 200 || !bytes.Equal(body, pkg) {
		t.Errorf("package download through B: %d, %d bytes", code, len(body))
	}
}

// checkReplicaMetrics checks that B's /metrics has the notifier's, the
// long-polls', the database pool's and the HTTP server's figures.
func checkReplicaMetrics(t *testing.T, b *replica) {
	resp, err := getMetrics(b.url)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		"driverhub_notifier_listening 1", "driverhub_gateway_long_polls ",
		`go_sql_open_connections{db_name="driverhub"} `, `go_sql_wait_count_total{db_name="driverhub"} `,
		"driverhub_http_requests_total{", "driverhub_http_request_duration_seconds_bucket{",
	} {
		if !bytes.Contains(body, []byte(want)) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}

// checkUniqueAcrossReplicas creates one driver name on both replicas at
// once, ten times: one wins, the other gets 409.
func checkUniqueAcrossReplicas(t *testing.T, rs []*replica) {
	for round := range 10 {
		name := fmt.Sprintf("race%d", round)
		codes := make([]int, 2)
		bodies := make([][]byte, 2)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i, r := range rs {
			wg.Go(func() {
				<-start
				codes[i], bodies[i] = r.call(t, adminToken, "POST", "/api/v1/drivers",
					map[string]any{"name": name, "protocol": "modbus", "runtime": "python3"})
			})
		}
		close(start)
		wg.Wait()
		if !(codes[0] == 201 && codes[1] == 409 || codes[0] == 409 && codes[1] == 201) {
			t.Errorf("round %d: replicas answered %d (%s) and %d (%s); want one 201 and one 409",
				round, codes[0], bodies[0], codes[1], bodies[1])
		}
	}
}

// TestReplicasDeployTimeoutOnce runs two replicas with a short deploy
// timeout: each stale deployment fails once, with one reason and one
// finished_at, and neither replica logs an error.
func TestReplicasDeployTimeoutOnce(t *testing.T) {
	database, blobs := sharedStorage(t)
	rs := startReplicas(t, 2, database, blobs, "--deploy-timeout", "1s")
	a, b := rs[0], rs[1]
	secret, _ := gatewayFixture(t, a, "meter", "gw0")
	const n = 6
	secrets := []string{secret}
	for i := 1; i < n; i++ {
		var inst struct {
			Secret string `json:"gateway_secret"`
		}
		a.mustCall(t, 201, "POST", "/api/v1/instances", map[string]any{"name": fmt.Sprintf("gw%d", i)}, &inst)
		a.mustCall(t, 200, "PUT", fmt.Sprintf("/api/v1/instances/gw%d/drivers/meter", i), map[string]any{}, nil)
		secrets = append(secrets, inst.Secret)
	}
	type deployment struct {
		ID         string `json:"id"`
		Status     string `json:"status"`
		Reason     string `json:"reason"`
		FinishedAt string `json:"finished_at"`
	}
	ids := make([]string, n)
	for i := range n {
		var d deployment
		a.mustCall(t, 201, "POST", fmt.Sprintf("/api/v1/instances/gw%d/deployments", i), map[string]any{"type": "deploy"}, &d)
		ids[i] = d.ID
		// The gateway's first fetch, on either replica, makes it processing.
		if ans := <-longPoll(rs[i%2], secrets[i], "", 0); ans.status != 200 || ans.id != d.ID {
			t.Fatalf("gateway %d fetched %+v", i, ans)
		}
	}
	first := make([]deployment, n)
	deadline := time.Now().Add(15 * time.Second)
	for i := range n {
		for {
			var d deployment
			rs[i%2].mustCall(t, 200, "GET", fmt.Sprintf("/api/v1/instances/gw%d/deployments/%s", i, ids[i]), nil, &d)
			if d.Status == "failed" {
				first[i] = d
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("deployment %d still %s after the deploy timeout", i, d.Status)
			}
			time.Sleep(100 * time.Millisecond)
		}
		if !strings.Contains(first[i].Reason, "deploy timeout") {
			t.Errorf("deployment %d failed with reason %q", i, first[i].Reason)
		}
	}
	// Several more sweeps of both replicas change nothing.
	time.Sleep(1500 * time.Millisecond)
	for i := range n {
		var d deployment
		rs[(i+1)%2].mustCall(t, 200, "GET", fmt.Sprintf("/api/v1/instances/gw%d/deployments/%s", i, ids[i]), nil, &d)
		if d != first[i] {
			t.Errorf("deployment %d changed after failing: %+v, then %+v", i, first[i], d)
		}
	}
	// Both replicas log how many deployments they failed: n in all.
	re := regexp.MustCompile(`msg="deployments timed out" count=(\d+)`)
	total := 0
	for _, r := range rs {
		for _, m := range re.FindAllStringSubmatch(r.logs.String(), -1) {
			c, _ := strconv.Atoi(m[1])
			total += c
		}
	}
	if total != n {
		t.Errorf("the replicas failed %d deployments in all, want %d:\nA:\n%s\nB:\n%s", total, n, a.logs, b.logs)
	}
	noErrors(t, rs...)
}

// TestReplicasStartTogether starts three replicas at once on empty
// databases, several times: all start, migrate and bootstrap once.
func TestReplicasStartTogether(t *testing.T) {
	for round := range 3 {
		database, blobs := sharedStorage(t)
		rs := startReplicas(t, 3, database, blobs)
		for _, r := range rs {
			code, body := r.call(t, adminToken, "GET", "/api/v1/users", nil)
			if code != 200 || strings.Count(string(body), `"username"`) != 1 {
				t.Errorf("round %d: users on %s: %d %s", round, r.name, code, body)
			}
		}
		firsts := 0
		for _, r := range rs {
			firsts += strings.Count(r.logs.String(), "first start")
		}
		if firsts != 1 {
			t.Errorf("round %d: %d replicas report the first start, want 1", round, firsts)
		}
		noErrors(t, rs...)
		for _, r := range rs {
			r.stop(t)
		}
	}
}
