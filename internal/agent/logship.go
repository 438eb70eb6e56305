package agent

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/driverhub/driverhub"
	"github.com/driverhub/driverhub/internal/httpapi/client"
)

// logBatchBytes bounds the JSON of one batch's lines: the body, with its
// envelope ({"driver": …, "lines": […]}), stays below what the server
// accepts (SPEC §13), whatever the lines' lengths.
const logBatchBytes = driverhub.MaxGatewayBodyBytes - 4<<10

// shipLogs sends the drivers' output to the server every second, in
// batches, for every driver with output waiting: running or not, so that
// the last words of a driver that ended reach the server too.
func (a *Agent) shipLogs(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		a.shipAllLogs(ctx)
	}
}

// shipAllLogs sends what every driver's output holds now.
func (a *Agent) shipAllLogs(ctx context.Context) {
	a.mu.Lock()
	logs := make(map[string]*driverLog, len(a.logs))
	for name, l := range a.logs {
		logs[name] = l
	}
	a.mu.Unlock()
	for name, l := range logs {
		a.shipDriverLog(ctx, name, l)
	}
}

// shipLogsOf sends what a driver's output holds now, before the caller
// reports what became of the driver.
func (a *Agent) shipLogsOf(ctx context.Context, name string) {
	a.mu.Lock()
	l := a.logs[name]
	a.mu.Unlock()
	if l != nil {
		a.shipDriverLog(ctx, name, l)
	}
}

// shipDriverLog sends a driver's waiting lines batch by batch until none
// is left or the server cannot be reached (they wait for the next round).
// A batch the server refuses is logged once and dropped: sending it again
// would be refused again and hold back every later line.
func (a *Agent) shipDriverLog(ctx context.Context, name string, l *driverLog) {
	l.shipping.Lock()
	defer l.shipping.Unlock()
	for ctx.Err() == nil {
		lines := l.take(driverhub.MaxLogLinesPerPost, logBatchBytes)
		if len(lines) == 0 {
			return
		}
		sctx, cancel := context.WithTimeout(ctx, 15*time.Second)
		err := a.client.PostLogs(sctx, name, lines)
		cancel()
		switch {
		case err == nil:
		case refused(err):
			a.log.Warn("the server refused a batch of driver output: dropped", "driver", name, "lines", len(lines), "err", err)
		default:
			l.putBack(lines)
			return
		}
	}
}

// refused reports whether the server answered a request with a client
// error that sending it again cannot cure (not 408 or 429).
func refused(err error) bool {
	var ce *client.CallError
	if !errors.As(err, &ce) {
		return false
	}
	switch ce.Status {
	case http.StatusRequestTimeout, http.StatusTooManyRequests:
		return false
	}
	return ce.Status >= 400 && ce.Status < 500
}
