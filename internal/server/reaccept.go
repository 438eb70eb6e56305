package server

import (
	"net"
	"sync"
	"time"
)

// reacceptListener is the server's listener, through which handlers that
// took a connection over (parked long-polls) hand it back once they have
// answered: net/http then reads its next request as on a new connection.
type reacceptListener struct {
	net.Listener
	accepted chan acceptResult
	back     chan net.Conn
	closed   chan struct{}
	once     sync.Once
	// waiting are the connections handed back that wait for their next
	// request; nil once closed.
	mu      sync.Mutex
	waiting map[net.Conn]struct{}
}

type acceptResult struct {
	conn net.Conn
	err  error
}

func newReacceptListener(ln net.Listener) *reacceptListener {
	l := &reacceptListener{Listener: ln, accepted: make(chan acceptResult), back: make(chan net.Conn), closed: make(chan struct{}),
		waiting: map[net.Conn]struct{}{}}
	go l.acceptLoop()
	return l
}

// acceptLoop accepts new connections until the listener fails for good.
func (l *reacceptListener) acceptLoop() {
	for {
		c, err := l.Listener.Accept()
		select {
		case l.accepted <- acceptResult{c, err}:
		case <-l.closed:
			if c != nil {
				c.Close()
			}
			return
		}
		if err != nil {
			if ne, ok := err.(net.Error); !ok || !ne.Timeout() {
				return
			}
		}
	}
}

func (l *reacceptListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.back:
		return c, nil
	case a := <-l.accepted:
		return a.conn, a.err
	case <-l.closed:
		return nil, net.ErrClosed
	}
}

// giveBack hands a connection back once its next request begins, as
// net/http waits for the next request of a kept-alive connection: for
// idle at most (then it closes it). False once the listener is closed.
func (l *reacceptListener) giveBack(c net.Conn, idle time.Duration) bool {
	sc, ok := c.(*startedConn)
	if !ok {
		sc = &startedConn{Conn: c}
	}
	if !l.idle(sc, true) {
		return false
	}
	defer l.idle(sc, false)
	var first [1]byte
	if sc.SetReadDeadline(time.Now().Add(idle)) != nil {
		return false
	}
	if n, err := sc.Conn.Read(first[:]); n == 0 || err != nil || sc.SetReadDeadline(time.Time{}) != nil {
		return false
	}
	sc.first, sc.has = first[0], true
	select {
	case l.back <- sc:
		return true
	case <-l.closed:
		return false
	}
}

// idle adds c to the connections waiting for their next request, or
// removes it; Close closes those. False when the listener is closed.
func (l *reacceptListener) idle(c net.Conn, waiting bool) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !waiting {
		delete(l.waiting, c)
		return true
	}
	if l.waiting == nil { // closed
		return false
	}
	l.waiting[c] = struct{}{}
	return true
}

// startedConn is a connection whose first byte was read already.
type startedConn struct {
	net.Conn
	first byte
	has   bool
}

func (c *startedConn) Read(b []byte) (int, error) {
	if c.has && len(b) > 0 {
		b[0], c.has = c.first, false
		return 1, nil
	}
	return c.Conn.Read(b)
}

func (l *reacceptListener) Close() error {
	var err error
	l.once.Do(func() {
		close(l.closed)
		err = l.Listener.Close()
		l.mu.Lock()
		for c := range l.waiting {
			c.Close()
		}
		l.waiting = nil
		l.mu.Unlock()
	})
	return err
}
