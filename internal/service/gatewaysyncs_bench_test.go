package service_test

import (
	"fmt"
	"sync"
	"testing"
	"time"
)

// BenchmarkGatewaySyncs measures a fleet's steady polling: 1,000 gateways
// polling 50 at a time, each once per 10 s of the test clock (so that
// every poll's sync is due), with the writing of their syncs, per poll.
//
//	go test -run '^$' -bench GatewaySyncs ./internal/service/
func BenchmarkGatewaySyncs(b *testing.B) {
	const n, together = 1000, 50
	ts := newTestService(b)
	secrets := make([]string, n)
	for k := range secrets {
		i := ts.newInstance(b, ts.admin, fmt.Sprintf("gw%04d", k))
		secrets[k] = i.GatewaySecret
		ts.fetch(b, i.GatewaySecret, "") // online
	}
	b.ResetTimer()
	for range b.N {
		ts.clock.Advance(10 * time.Second)
		var wg sync.WaitGroup
		next := make(chan string)
		for range together {
			wg.Go(func() {
				for secret := range next { // authenticated per request, as the API does
					if _, _, err := ts.Desired(ts.gatewayCtx(b, secret), "", 0); err != nil {
						b.Error(err)
					}
				}
			})
		}
		for _, secret := range secrets {
			next <- secret
		}
		close(next)
		wg.Wait()
		if err := ts.FlushGatewaySyncs(b.Context()); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*n), "µs/poll")
}
