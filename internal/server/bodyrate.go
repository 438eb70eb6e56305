package server

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"
)

// minBodyRate cuts request bodies that arrive slower than rate bytes a
// second on average over each window (SPEC §13): a client sending a byte
// a second would otherwise hold a connection, a goroutine and whatever
// its handler holds, for ever. Only the time a handler waits for the body
// counts, so one that pauses between reads (hashing, storing) is not
// taken for a slow client. A cut body reads as an error and its
// connection closes after the answer.
func minBodyRate(h http.Handler, rate int, window time.Duration) http.Handler {
	need := int64(rate) * int64(window) / int64(time.Second)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body == nil || r.Body == http.NoBody {
			h.ServeHTTP(w, r)
			return
		}
		b := &rateBody{body: r.Body, conn: http.NewResponseController(w), need: need, window: window, rate: rate}
		r.Body = b
		h.ServeHTTP(w, r)
		b.finish()
	})
}

// rateBody is a request body read against the clock.
type rateBody struct {
	body   io.ReadCloser
	conn   *http.ResponseController
	need   int64 // bytes each window must bring
	window time.Duration
	rate   int

	got    int64         // bytes in this window
	waited time.Duration // time spent waiting for them
	ended  bool          // the body was read to its end, or failed
}

func (b *rateBody) Read(p []byte) (int, error) {
	if b.ended {
		return b.body.Read(p)
	}
	if b.waited >= b.window {
		return 0, b.cut()
	}
	// The deadline leaves a tenth of the window at least, so that the read
	// that ends the body never finds it gone before it is cleared: net/http
	// starts reading the connection in the background then. The rate is
	// enforced after the read instead.
	if b.conn.SetReadDeadline(time.Now().Add(max(b.window-b.waited, b.window/10))) != nil {
		b.ended = true // not a connection this server runs: nothing to time
		return b.body.Read(p)
	}
	start := time.Now()
	n, err := b.body.Read(p)
	b.waited += time.Since(start)
	if b.got += int64(n); b.got >= b.need {
		b.got, b.waited = 0, 0
	}
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded):
		return n, b.cut()
	case err != nil:
		b.ended = true
		_ = b.conn.SetReadDeadline(time.Time{})
	case b.waited >= b.window:
		return n, b.cut()
	}
	return n, err
}

// cut ends a body too slow: what reads the connection next fails, so
// that net/http closes it after the answer.
func (b *rateBody) cut() error {
	b.ended = true
	_ = b.conn.SetReadDeadline(time.Now())
	return fmt.Errorf("request body cut: it arrived slower than %d bytes a second over %s", b.rate, b.window)
}

func (b *rateBody) Close() error { return b.body.Close() }

// finish bounds, once the handler is done, what net/http still reads of a
// body the handler left: a window more.
func (b *rateBody) finish() {
	if !b.ended {
		_ = b.conn.SetReadDeadline(time.Now().Add(b.window))
	}
}
