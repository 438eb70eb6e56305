package httpapi_test

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/driverhub/driverhub/internal/apitest"
)

// gwCall sends a gateway request from any goroutine (no testing.TB) and
// reports its status, or -1.
func gwCall(s *apitest.Server, secret, method, path, body string) int {
	var rd *strings.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	var req *http.Request
	var err error
	if rd != nil {
		req, err = http.NewRequest(method, s.URL+path, rd)
	} else {
		req, err = http.NewRequest(method, s.URL+path, nil)
	}
	if err != nil {
		return -1
	}
	req.Header.Set("Authorization", "Bearer "+secret)
	resp, err := s.Client.Do(req)
	if err != nil {
		return -1
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestGWReportRacesPoll(t *testing.T) {
	s, clock := gwServer(t, 0)
	a := s.AdminToken
	g := gwNewInstance(t, s, a, "race")
	lost := 0
	const rounds = 60
	for k := 0; k < rounds; k++ {
		clock.Advance(11 * time.Second) // past the last_seen_at write throttle
		var wg sync.WaitGroup
		statuses := make([]int, 2)
		wg.Add(2)
		go func() {
			defer wg.Done()
			statuses[0] = gwCall(s, g.secret, "POST", "/api/v1/gateway/report", fmt.Sprintf(`{"edge_version":"1.0.%d"}`, k))
		}()
		go func() {
			defer wg.Done()
			statuses[1] = gwCall(s, g.secret, "GET", "/api/v1/gateway/desired", "")
		}()
		wg.Wait()
		diff(t, "statuses", []int{http.StatusNoContent, http.StatusOK}, statuses)
		if v := gwGatewayView(t, s, a, "race")["edge_version"]; v != fmt.Sprintf("1.0.%d", k) {
			lost++
		}
	}
	if lost > 0 {
		t.Errorf("the reported edge_version was lost %d times in %d rounds", lost, rounds)
	}
}
