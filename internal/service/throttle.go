package service

import (
	"context"
	"net/netip"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/driverhub/driverhub"
)

// Failed sign-ins are throttled per user name and per client address
// (SPEC §13) with token buckets held by each replica, not in the
// database: an attacker's failures must not become writes to the shared
// database (thousands a second, on the same rows), and the gateways' hot
// path must not pay a database read for the check. The price is that N
// replicas allow N times the attempts of one; docs/production.md says so.

// throttleRule is one kind of bucket: how many failures a key may have
// at once, and how often one more is allowed.
type throttleRule struct {
	prefix string
	burst  int
	every  time.Duration
	what   driverhub.Word // the refusal's reason
}

var (
	loginUserRule = throttleRule{"user ", driverhub.LoginFailuresPerUser, driverhub.LoginUserRefill,
		"too many failed sign-ins for this user name"}
	loginAddrRule = throttleRule{"login ", driverhub.LoginFailuresPerAddress, driverhub.LoginAddressRefill,
		"too many failed sign-ins from your address"}
	gatewayAddrRule = throttleRule{"gateway ", driverhub.GatewayAuthFailuresPerAddress, driverhub.GatewayAuthAddressRefill,
		"too many failed gateway authentications from your address"}
)

// maxThrottleKeys bounds the buckets a replica holds (about 150 bytes
// each). Full buckets are forgotten every minute; past the bound, new
// keys go untracked until then: the other rule of the attempt still holds.
const maxThrottleKeys = 200_000

// throttles are the buckets of keys that failed recently; a key without
// one may try.
type throttles struct {
	mu        sync.RWMutex
	buckets   map[string]*rate.Limiter
	nextSweep time.Time
}

func newThrottles() *throttles { return &throttles{buckets: map[string]*rate.Limiter{}} }

// throttleKey is a rule and the key it applies to ("" applies no rule).
type throttleKey struct {
	rule *throttleRule
	key  string
}

// check refuses an attempt while any of its keys is out of tries, with
// the longest wait among them.
func (t *throttles) check(now time.Time, keys ...throttleKey) error {
	var wait time.Duration
	var what driverhub.Word
	t.mu.RLock()
	for _, k := range keys {
		l := t.buckets[k.rule.prefix+k.key]
		if k.key == "" || l == nil {
			continue
		}
		if tokens := l.TokensAt(now); tokens < 1 {
			if w := time.Duration((1 - tokens) * float64(k.rule.every)); w > wait {
				wait, what = w, k.rule.what
			}
		}
	}
	t.mu.RUnlock()
	if what == "" {
		return nil
	}
	return driverhub.Throttled(wait, what)
}

// fail takes one try from each key's bucket.
func (t *throttles) fail(now time.Time, keys ...throttleKey) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if now.After(t.nextSweep) {
		t.sweep(now)
	}
	for _, k := range keys {
		if k.key == "" {
			continue
		}
		l := t.buckets[k.rule.prefix+k.key]
		if l == nil {
			if len(t.buckets) >= maxThrottleKeys {
				continue
			}
			l = rate.NewLimiter(rate.Every(k.rule.every), k.rule.burst)
			t.buckets[k.rule.prefix+k.key] = l
		}
		l.AllowN(now, 1)
	}
}

// sweep forgets buckets that have refilled: they are as good as none.
func (t *throttles) sweep(now time.Time) {
	for key, l := range t.buckets {
		if l.TokensAt(now) >= float64(l.Burst()) {
			delete(t.buckets, key)
		}
	}
	t.nextSweep = now.Add(time.Minute)
}

// gatewayAuthAllowed refuses a gateway authentication from an address out
// of tries. It is on every gateway request: while no bucket exists it
// costs one read lock.
func (s *Service) gatewayAuthAllowed(ctx context.Context) error {
	if s.throttle.empty() {
		return nil
	}
	return s.throttle.check(s.now(), gatewayKey(ctx))
}

// gatewayAuthFailed counts a failed gateway authentication and returns
// its error.
func (s *Service) gatewayAuthFailed(ctx context.Context) error {
	s.throttle.fail(s.now(), gatewayKey(ctx))
	return driverhub.Errorf(driverhub.EUnauthenticated, "invalid gateway secret")
}

func gatewayKey(ctx context.Context) throttleKey {
	return throttleKey{&gatewayAddrRule, addressKey(driverhub.ClientAddrFrom(ctx))}
}

// empty reports whether no key failed lately.
func (t *throttles) empty() bool {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return len(t.buckets) == 0
}

// addressKey is the part of a client address that one client holds: the
// IPv4 address, or the /64 network of an IPv6 one. "" when unknown.
func addressKey(addr string) string {
	ip, err := netip.ParseAddr(addr)
	switch {
	case err != nil, ip.Is4():
		return addr
	case ip.Is4In6():
		return ip.Unmap().String()
	}
	p, _ := ip.Prefix(64)
	return p.String()
}
