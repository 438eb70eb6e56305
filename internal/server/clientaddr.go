package server

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"

	"github.com/driverhub/driverhub"
)

// The address a request comes from goes in its context, for the
// throttling of failed sign-ins: the peer's, set once per connection
// (connClientAddr), or, when the peer is one of the trusted proxies
// (--trusted-proxies: the load balancer of docs/production.md), the last
// address of X-Forwarded-For that is not a trusted proxy
// (withForwardedFor). Behind a proxy, without it, every client would
// share the proxy's address, and one attacker's failures would lock out
// all.

// connClientAddr is http.Server's ConnContext: the peer's address.
func connClientAddr(ctx context.Context, c net.Conn) context.Context {
	host, _, err := net.SplitHostPort(c.RemoteAddr().String())
	if err != nil {
		return ctx
	}
	return driverhub.WithClientAddr(ctx, host)
}

// withForwardedFor takes the client's address from X-Forwarded-For when
// the peer is a trusted proxy.
func withForwardedFor(h http.Handler, trusted []netip.Prefix) http.Handler {
	if len(trusted) == 0 {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		peer := driverhub.ClientAddrFrom(r.Context())
		if client := forwardedFor(peer, r.Header.Values("X-Forwarded-For"), trusted); client != peer {
			r = r.WithContext(driverhub.WithClientAddr(r.Context(), client))
		}
		h.ServeHTTP(w, r)
	})
}

// forwardedFor is the client behind peer: peer itself, unless it is a
// trusted proxy; then the last address of the X-Forwarded-For values that
// is not one (the proxies append theirs).
func forwardedFor(peer string, values []string, trusted []netip.Prefix) string {
	addr, err := netip.ParseAddr(peer)
	if err != nil || !isTrusted(addr, trusted) {
		return peer
	}
	hops := strings.Split(strings.Join(values, ","), ",")
	for k := len(hops) - 1; k >= 0; k-- {
		hop, err := netip.ParseAddr(strings.TrimSpace(hops[k]))
		if err != nil {
			break // not an address: what comes before it cannot be trusted
		}
		if !isTrusted(hop, trusted) {
			return hop.Unmap().String()
		}
		peer = hop.Unmap().String()
	}
	return peer
}

func isTrusted(addr netip.Addr, trusted []netip.Prefix) bool {
	addr = addr.Unmap()
	for _, p := range trusted {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

// ParseTrustedProxies reads --trusted-proxies: addresses and CIDR
// networks, separated by commas.
func ParseTrustedProxies(list string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, item := range strings.Split(list, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		if p, err := netip.ParsePrefix(item); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(item)
		if err != nil {
			return nil, fmt.Errorf("--trusted-proxies: %q is neither an address nor a CIDR network such as 10.0.0.0/8", item)
		}
		out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
	}
	return out, nil
}
