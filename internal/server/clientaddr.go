package server

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"

	"github.com/driverhub/driverhub"
)

// withClientAddr puts the address a request comes from in its context,
// for the throttling of failed sign-ins: the peer's, or, when the peer is
// one of the trusted proxies (--trusted-proxies: the load balancer of
// docs/production.md), the last address of X-Forwarded-For that is not
// a trusted proxy. Behind a proxy, without it, every client would share
// the proxy's address, and one attacker's failures would lock out all.
func withClientAddr(h http.Handler, trusted []netip.Prefix) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(w, r.WithContext(driverhub.WithClientAddr(r.Context(), clientAddr(r, trusted))))
	})
}

func clientAddr(r *http.Request, trusted []netip.Prefix) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	addr, err := netip.ParseAddr(host)
	if err != nil || !isTrusted(addr, trusted) {
		return host
	}
	// The proxies append: the last address not theirs is the client's.
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for k := len(hops) - 1; k >= 0; k-- {
		hop, err := netip.ParseAddr(strings.TrimSpace(hops[k]))
		if err != nil {
			break // not an address: what comes before it cannot be trusted
		}
		if !isTrusted(hop, trusted) {
			return hop.Unmap().String()
		}
		host = hop.Unmap().String()
	}
	return host
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
