package httpapi

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/driverhub/driverhub"
)

// A gateway's long-poll spends nearly all its life waiting. Waiting in its
// handler would hold, for each gateway, what net/http gives a connection
// in a request: 10 KiB of buffers and two goroutines (about 30 KiB in
// all, 57 KiB measured with the GC's headroom at 19,000 gateways). So a
// conditional long-poll is parked: its connection is taken over
// (hijacked), its buffers dropped, and one small goroutine waits for the
// deployment or the deadline (at once when there is news), writes the
// answer and hands the connection back to the server (Config.Reaccept),
// which reads the next request as on any connection.

// writeTimeout bounds the writing of a parked long-poll's answer.
const writeTimeout = 30 * time.Second

// parkable reports whether r can wait parked: the server takes
// connections back, w is net/http's own, and r is a plain HTTP/1.1 GET.
func (s *Server) parkable(w http.ResponseWriter, r *http.Request) bool {
	_, own := w.(*statusRecorder)
	return s.reaccept != nil && own && r.ProtoAtLeast(1, 1) && r.ContentLength == 0 && !r.Close
}

// park hijacks r's connection and waits for its answer on a goroutine of
// its own. A connection that cannot be hijacked waits here instead.
func (s *Server) park(w http.ResponseWriter, r *http.Request, ifNoneMatch string, wait time.Duration) error {
	s.parking.RLock()
	if s.parked.Err() != nil { // stopping: answer now
		s.parking.RUnlock()
		m, etag, err := s.gateway.Desired(r.Context(), ifNoneMatch, 0)
		return answerDesired(w, m, etag, err)
	}
	s.parkedWaits.Add(1)
	s.parking.RUnlock()
	rec := w.(*statusRecorder)
	conn, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		s.parkedWaits.Done()
		m, etag, err := s.gateway.Desired(r.Context(), ifNoneMatch, wait)
		return answerDesired(w, m, etag, err)
	}
	rec.parked = true
	s.parkedNow.Add(1)
	if n := brw.Reader.Buffered(); n > 0 { // the client sent more already
		early, _ := brw.Reader.Peek(n)
		conn = &prefixedConn{Conn: conn, r: io.MultiReader(bytes.NewReader(bytes.Clone(early)), conn)}
	}
	// Only what the wait needs is kept, not the request.
	ctx := driverhub.WithGateway(driverhub.WithClientAddr(s.parked, driverhub.ClientAddrFrom(r.Context())),
		driverhub.GatewayFrom(r.Context()))
	p := &parkedPoll{s: s, conn: conn, route: rec.route, start: rec.start, path: r.URL.Path}
	go p.wait(ctx, ifNoneMatch, wait)
	return nil
}

// parkedPoll is a long-poll waiting off its connection.
type parkedPoll struct {
	s     *Server
	conn  net.Conn
	route *routeMetrics
	start time.Time
	path  string
}

// wait waits for the answer, writes it and hands the connection back.
func (p *parkedPoll) wait(ctx context.Context, ifNoneMatch string, wait time.Duration) {
	out := p.answer(ctx, ifNoneMatch, wait)
	if err := out.writeTo(p.conn); err != nil || !p.s.reaccept(p.conn) {
		p.conn.Close()
	}
}

// answer waits for the answer and counts it: the parked wait proper, which
// a stopping server waits for (its connection, not).
func (p *parkedPoll) answer(ctx context.Context, ifNoneMatch string, wait time.Duration) *bufferedAnswer {
	defer p.s.parkedWaits.Done()
	defer p.s.parkedNow.Add(-1)
	m, etag, err := p.s.gateway.Desired(ctx, ifNoneMatch, wait)
	out := &bufferedAnswer{header: http.Header{}, status: http.StatusOK}
	if err := answerDesired(out, m, etag, err); err != nil {
		p.s.fail(out, &http.Request{Method: p.route.method, URL: &url.URL{Path: p.path}}, err)
	}
	p.route.record(ctx, p.path, out.status, p.start)
	return out
}

// bufferedAnswer is an http.ResponseWriter that keeps the answer, for
// the writing of a parked long-poll's.
type bufferedAnswer struct {
	header http.Header
	status int
	body   bytes.Buffer
	wrote  bool
}

func (a *bufferedAnswer) Header() http.Header { return a.header }

func (a *bufferedAnswer) WriteHeader(status int) {
	if !a.wrote {
		a.status, a.wrote = status, true
	}
}

func (a *bufferedAnswer) Write(b []byte) (int, error) {
	a.wrote = true
	return a.body.Write(b)
}

// answerBufs are the buffers parked answers are written from: one per
// answer in flight, kept between answers (a wave's thousands of answers
// would otherwise each allocate one), unless one grew past
// maxPooledAnswer for a rare large manifest, which is not kept.
var answerBufs = sync.Pool{New: func() any { return new(bytes.Buffer) }}

const maxPooledAnswer = 64 << 10

// writeTo writes the answer as HTTP/1.1, as net/http would have (status
// line, Content-Length where a body is allowed, the headers sorted, the
// body), in one system call: written piece by piece on a bare connection,
// each header line would be a call of its own.
func (a *bufferedAnswer) writeTo(conn net.Conn) error {
	buf := answerBufs.Get().(*bytes.Buffer)
	defer func() {
		if buf.Cap() <= maxPooledAnswer {
			answerBufs.Put(buf)
		}
	}()
	buf.Reset()
	buf.WriteString("HTTP/1.1 ")
	buf.WriteString(strconv.Itoa(a.status))
	buf.WriteByte(' ')
	buf.WriteString(http.StatusText(a.status))
	buf.WriteString("\r\n")
	a.header.Set("Date", time.Now().UTC().Format(http.TimeFormat))
	if bodyAllowed(a.status) {
		a.header.Set("Content-Length", strconv.Itoa(a.body.Len()))
	} else {
		a.header.Del("Content-Length")
		a.body.Reset()
	}
	if err := a.header.Write(buf); err != nil {
		return err
	}
	buf.WriteString("\r\n")
	buf.Write(a.body.Bytes())
	if err := conn.SetWriteDeadline(time.Now().Add(writeTimeout)); err != nil {
		return err
	}
	if _, err := conn.Write(buf.Bytes()); err != nil {
		return err
	}
	return conn.SetWriteDeadline(time.Time{})
}

// bodyAllowed reports whether an answer of this status may have a body
// (RFC 9110: not 1xx, 204 or 304).
func bodyAllowed(status int) bool {
	return status >= 200 && status != http.StatusNoContent && status != http.StatusNotModified
}

// prefixedConn is a connection whose first bytes were read already.
type prefixedConn struct {
	net.Conn
	r io.Reader
}

func (c *prefixedConn) Read(b []byte) (int, error) { return c.r.Read(b) }
