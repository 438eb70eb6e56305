package runc

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"runtime"
	"strconv"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/driverhub/driverhub"
)

const (
	dialTimeout    = 5 * time.Second
	udpIdleTimeout = 2 * time.Minute
	maxUDPSessions = 1024
)

// forwarder relays the host ports of a private-network container to
// 127.0.0.1:<container port> inside the container's network namespace.
// It listens when the container is prepared (so a busy port fails Start)
// and relays once the container's namespace is known.
type forwarder struct {
	log  *slog.Logger
	tcp  []tcpMap
	udp  []udpMap
	nsfd int

	mu     sync.Mutex
	closed bool
	conns  map[io.Closer]struct{}
	wg     sync.WaitGroup
}

type tcpMap struct {
	ln    net.Listener
	cport int
}

type udpMap struct {
	pc    net.PacketConn
	cport int
}

func listenPorts(log *slog.Logger, maps []driverhub.PortMapping) (*forwarder, error) {
	f := &forwarder{log: log, nsfd: -1, conns: map[io.Closer]struct{}{}}
	for _, m := range maps {
		addr := net.JoinHostPort("0.0.0.0", strconv.Itoa(m.HostPort))
		switch m.Protocol {
		case "udp":
			pc, err := net.ListenPacket("udp4", addr)
			if err != nil {
				f.close()
				return nil, fmt.Errorf("runc: port mapping %d/udp: %w", m.HostPort, err)
			}
			f.udp = append(f.udp, udpMap{pc, m.ContainerPort})
		default:
			ln, err := net.Listen("tcp4", addr)
			if err != nil {
				f.close()
				return nil, fmt.Errorf("runc: port mapping %d/tcp: %w", m.HostPort, err)
			}
			f.tcp = append(f.tcp, tcpMap{ln, m.ContainerPort})
		}
	}
	return f, nil
}

// start relays into the network namespace of the process pid.
func (f *forwarder) start(pid int) error {
	if f == nil || len(f.tcp)+len(f.udp) == 0 {
		return nil
	}
	fd, err := unix.Open(fmt.Sprintf("/proc/%d/ns/net", pid), unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("runc: open the container's network namespace: %w", err)
	}
	f.nsfd = fd
	if err := f.loopbackUp(); err != nil {
		f.log.Warn("runc: bring up lo", "err", err)
	}
	for _, m := range f.tcp {
		f.wg.Add(1)
		go f.acceptLoop(m)
	}
	for _, m := range f.udp {
		f.wg.Add(1)
		go f.udpLoop(m)
	}
	return nil
}

// close stops listening and ends every relayed connection.
func (f *forwarder) close() {
	if f == nil {
		return
	}
	f.mu.Lock()
	f.closed = true
	for c := range f.conns {
		c.Close()
	}
	f.mu.Unlock()
	for _, m := range f.tcp {
		m.ln.Close()
	}
	for _, m := range f.udp {
		m.pc.Close()
	}
	f.wg.Wait()
	if f.nsfd >= 0 {
		unix.Close(f.nsfd)
		f.nsfd = -1
	}
}

// track registers c to be closed by close; false when already closed.
func (f *forwarder) track(c io.Closer) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return false
	}
	f.conns[c] = struct{}{}
	return true
}

func (f *forwarder) untrack(c io.Closer) {
	f.mu.Lock()
	delete(f.conns, c)
	f.mu.Unlock()
	c.Close()
}

// inNetns runs fn on a thread switched into the container's network
// namespace. If the thread cannot be switched back it stays locked, so the
// Go runtime ends it instead of reusing it.
func (f *forwarder) inNetns(fn func()) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			runtime.UnlockOSThread()
			errc <- err
			return
		}
		defer unix.Close(orig)
		if err := unix.Setns(f.nsfd, unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("setns: %w", err)
			return
		}
		fn()
		if unix.Setns(orig, unix.CLONE_NEWNET) == nil {
			runtime.UnlockOSThread()
		}
		errc <- nil
	}()
	return <-errc
}

// dial connects to 127.0.0.1:port inside the container.
func (f *forwarder) dial(network string, port int) (net.Conn, error) {
	var c net.Conn
	var derr error
	err := f.inNetns(func() {
		d := net.Dialer{Timeout: dialTimeout}
		c, derr = d.Dial(network, net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	})
	if err != nil {
		return nil, err
	}
	return c, derr
}

// loopbackUp sets lo up in the container's namespace (runc does it for a
// new network namespace; this covers runtimes that do not).
func (f *forwarder) loopbackUp() error {
	var err error
	nerr := f.inNetns(func() {
		var s int
		s, err = unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return
		}
		defer unix.Close(s)
		var ifr *unix.Ifreq
		if ifr, err = unix.NewIfreq("lo"); err != nil {
			return
		}
		if err = unix.IoctlIfreq(s, unix.SIOCGIFFLAGS, ifr); err != nil {
			return
		}
		if flags := ifr.Uint16(); flags&unix.IFF_UP == 0 {
			ifr.SetUint16(flags | unix.IFF_UP)
			err = unix.IoctlIfreq(s, unix.SIOCSIFFLAGS, ifr)
		}
	})
	return errors.Join(nerr, err)
}

func (f *forwarder) acceptLoop(m tcpMap) {
	defer f.wg.Done()
	for {
		c, err := m.ln.Accept()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return
		}
		if !f.track(c) {
			c.Close()
			return
		}
		f.wg.Add(1)
		go f.relayTCP(c, m.cport)
	}
}

func (f *forwarder) relayTCP(c net.Conn, cport int) {
	defer f.wg.Done()
	defer f.untrack(c)
	up, err := f.dial("tcp4", cport)
	if err != nil {
		f.log.Debug("runc: port forward", "port", cport, "err", err)
		return
	}
	if !f.track(up) {
		up.Close()
		return
	}
	defer f.untrack(up)
	done := make(chan struct{}, 2)
	pipe := func(dst, src net.Conn) {
		io.Copy(dst, src)
		if tc, ok := dst.(*net.TCPConn); ok {
			tc.CloseWrite()
		}
		done <- struct{}{}
	}
	go pipe(up, c)
	go pipe(c, up)
	<-done
	<-done
}

// udpLoop relays datagrams: one connected socket inside the container per
// client address, closed after udpIdleTimeout without traffic.
func (f *forwarder) udpLoop(m udpMap) {
	defer f.wg.Done()
	var mu sync.Mutex
	sessions := map[string]net.Conn{}
	buf := make([]byte, 65536)
	for {
		n, addr, err := m.pc.ReadFrom(buf)
		if err != nil {
			return
		}
		key := addr.String()
		mu.Lock()
		up, count := sessions[key], len(sessions)
		mu.Unlock()
		if up == nil {
			if count >= maxUDPSessions {
				continue
			}
			up, err = f.dial("udp4", m.cport)
			if err != nil {
				f.log.Debug("runc: udp forward", "port", m.cport, "err", err)
				continue
			}
			if !f.track(up) {
				up.Close()
				return
			}
			mu.Lock()
			sessions[key] = up
			mu.Unlock()
			f.wg.Add(1)
			go func(up net.Conn, addr net.Addr) {
				defer f.wg.Done()
				defer func() {
					mu.Lock()
					delete(sessions, key)
					mu.Unlock()
					f.untrack(up)
				}()
				rb := make([]byte, 65536)
				for {
					up.SetReadDeadline(time.Now().Add(udpIdleTimeout))
					n, err := up.Read(rb)
					if err != nil {
						if errors.Is(err, os.ErrDeadlineExceeded) || !isConnRefused(err) {
							return
						}
						continue
					}
					m.pc.WriteTo(rb[:n], addr)
				}
			}(up, addr)
		}
		up.SetWriteDeadline(time.Now().Add(time.Second))
		up.Write(buf[:n])
	}
}

// isConnRefused: a connected UDP socket reports ICMP port unreachable as
// ECONNREFUSED on the next read; the server may simply not be up yet.
func isConnRefused(err error) bool { return errors.Is(err, unix.ECONNREFUSED) }
