package driverhub

import (
	"context"
	"errors"
	"time"
)

// Throttling of failed sign-ins (SPEC §13) needs to know where a request
// comes from, and its refusals say when to try again.

type clientAddrKey struct{}

// WithClientAddr returns a context carrying the address (an IP, without
// port) the request comes from, as the server determined it.
func WithClientAddr(ctx context.Context, addr string) context.Context {
	return context.WithValue(ctx, clientAddrKey{}, addr)
}

// ClientAddrFrom returns the client address stored in ctx, or "".
func ClientAddrFrom(ctx context.Context) string {
	a, _ := ctx.Value(clientAddrKey{}).(string)
	return a
}

// ThrottledError is a too_many_requests Error with how long to wait
// before the next attempt (an HTTP answer's Retry-After).
type ThrottledError struct {
	Err        *Error
	RetryAfter time.Duration
}

func (e *ThrottledError) Error() string { return e.Err.Error() }

// Unwrap lets AsError and errors.Is see the Error.
func (e *ThrottledError) Unwrap() error { return e.Err }

// Throttled returns a too_many_requests error saying why, that asks to
// wait at least wait, rounded up to whole seconds.
func Throttled(wait time.Duration, why Word) error {
	wait = max(time.Second, (wait + time.Second - 1).Truncate(time.Second))
	return &ThrottledError{Err: Errorf(ETooManyRequests, "%s: try again in %d s", why, int(wait/time.Second)), RetryAfter: wait}
}

// RetryAfterOf returns the wait a throttled error asks for.
func RetryAfterOf(err error) (time.Duration, bool) {
	var t *ThrottledError
	if errors.As(err, &t) {
		return t.RetryAfter, true
	}
	return 0, false
}
