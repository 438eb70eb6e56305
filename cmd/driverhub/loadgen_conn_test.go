//go:build linux

package main_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"syscall"
	"time"
)

// lgConn is one simulated gateway's keep-alive connection to the server,
// carrying its requests one at a time, as an agent's does. It writes
// HTTP/1.1 by hand over a net.Conn rather than through net/http's
// Transport (a pool, two goroutines and channels per connection): the
// load generator shares the machine's CPU with the server it measures,
// and ten thousand gateways through the Transport took about a third of
// what the server itself took.
type lgConn struct {
	host string // host:port
	c    net.Conn
	r    *bufio.Reader
	w    *bufio.Writer
	// unwatch ends the watch that closes c when the load generator stops.
	unwatch func() bool
	ctx     context.Context
}

func newLGConn(ctx context.Context, base string) (*lgConn, error) {
	u, err := url.Parse(base)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("base URL %q: %v", base, err)
	}
	return &lgConn{host: u.Host, ctx: ctx}, nil
}

func (g *lgConn) dial() error {
	c, err := (&net.Dialer{Timeout: 10 * time.Second}).DialContext(g.ctx, "tcp", g.host)
	if err != nil {
		return err
	}
	g.c, g.r, g.w = c, bufio.NewReaderSize(c, 4096), bufio.NewWriterSize(c, 1024)
	g.unwatch = context.AfterFunc(g.ctx, func() { c.Close() })
	return nil
}

func (g *lgConn) close() {
	if g.c != nil {
		g.unwatch()
		g.c.Close()
		g.c = nil
	}
}

// do sends one request and reads its answer within timeout; sent, when
// not nil, is called once the request is written. A request that finds
// its kept-alive connection closed by the server is sent again once on a
// new one, as net/http does.
func (g *lgConn) do(method, path, secret, etag string, body []byte, timeout time.Duration, sent func()) (status int, newETag string, answer []byte, err error) {
	for attempt := 0; ; attempt++ {
		reused := g.c != nil
		if !reused {
			if err := g.dial(); err != nil {
				return 0, "", nil, err
			}
		}
		status, newETag, answer, err = g.once(method, path, secret, etag, body, timeout, sent)
		if err == nil {
			return status, newETag, answer, nil
		}
		g.close()
		stale := errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
		if !reused || !stale || attempt > 0 || g.ctx.Err() != nil {
			return 0, "", nil, err
		}
	}
}

func (g *lgConn) once(method, path, secret, etag string, body []byte, timeout time.Duration, sent func()) (int, string, []byte, error) {
	if err := g.c.SetDeadline(time.Now().Add(timeout)); err != nil {
		return 0, "", nil, err
	}
	w := g.w
	w.WriteString(method + " " + path + " HTTP/1.1\r\nHost: " + g.host + "\r\nAuthorization: Bearer " + secret + "\r\n")
	if etag != "" {
		w.WriteString("If-None-Match: " + etag + "\r\n")
	}
	if body != nil {
		w.WriteString("Content-Type: application/json\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n")
	}
	w.WriteString("\r\n")
	w.Write(body)
	if err := w.Flush(); err != nil {
		return 0, "", nil, err
	}
	if sent != nil {
		sent()
	}
	resp, err := http.ReadResponse(g.r, nil)
	if err != nil {
		return 0, "", nil, err
	}
	data, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return 0, "", nil, err
	}
	if resp.Close {
		g.close()
	}
	return resp.StatusCode, resp.Header.Get("ETag"), data, nil
}
