package cli

import (
	"context"
	"errors"
	"time"

	"github.com/driverhub/driverhub"
)

// following is how a --wait follows one resource of the server (a
// deployment, a rollout) until it ends.
type following[T any] struct {
	every   time.Duration
	timeout time.Duration
	// get reads the resource afresh.
	get func(ctx context.Context) (T, error)
	// ended says the resource reached its end: following stops.
	ended func(T) bool
	// show prints what is new in a fresh read.
	show func(T)
	// gaveUp is the error when the user interrupted (timedOut false) or
	// timeout passed, with the last error reading it, if any.
	gaveUp func(cur T, timedOut bool, lastErr error) error
}

// follow reads cur's resource every f.every until f.ended, showing each
// read. An answer of the API ends it (but an internal error); the network
// or the server hiccuping is tried again until the timeout.
func follow[T any](ctx context.Context, cur T, f following[T]) (T, error) {
	wctx, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()
	tick := time.NewTicker(f.every)
	defer tick.Stop()
	var lastErr error
	for !f.ended(cur) {
		select {
		case <-wctx.Done():
			return cur, f.gaveUp(cur, ctx.Err() == nil, lastErr)
		case <-tick.C:
		}
		fresh, err := f.get(wctx)
		var apiErr *driverhub.Error
		switch {
		case errors.As(err, &apiErr) && apiErr.Code != driverhub.EInternal:
			return cur, err
		case err != nil:
			lastErr = err // the network or the server hiccuped: try again
			continue
		}
		cur, lastErr = fresh, nil
		f.show(cur)
	}
	return cur, nil
}

// lastErrorHint says what went wrong last while following, if anything.
func lastErrorHint(err error) string {
	if err == nil {
		return ""
	}
	return " (last error: " + errorText(err) + ")"
}
