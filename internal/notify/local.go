// Package notify wakes long-polling gateways within one server process.
package notify

import (
	"context"
	"sync"

	"github.com/driverhub/driverhub"
)

// Local is an in-process driverhub.Notifier.
type Local struct {
	mu   sync.Mutex
	subs map[string]map[chan struct{}]struct{}
}

var _ driverhub.Notifier = (*Local)(nil)

// NewLocal returns an empty Local notifier.
func NewLocal() *Local { return &Local{subs: map[string]map[chan struct{}]struct{}{}} }

// Subscribe registers a waiter for the instance.
func (l *Local) Subscribe(instanceID string) (<-chan struct{}, func()) {
	ch := make(chan struct{}, 1)
	l.mu.Lock()
	set := l.subs[instanceID]
	if set == nil {
		set = map[chan struct{}]struct{}{}
		l.subs[instanceID] = set
	}
	set[ch] = struct{}{}
	l.mu.Unlock()
	return ch, func() {
		l.mu.Lock()
		delete(set, ch)
		if len(set) == 0 && l.subs[instanceID] != nil && len(l.subs[instanceID]) == 0 {
			delete(l.subs, instanceID)
		}
		l.mu.Unlock()
	}
}

// Notify wakes every waiter of the instances; a waiter already woken stays woken.
func (l *Local) Notify(_ context.Context, instanceIDs ...string) error {
	for _, id := range instanceIDs {
		l.Wake(id)
	}
	return nil
}

// Wake is Notify without a context, for notifiers that deliver remote wake-ups.
func (l *Local) Wake(instanceID string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for ch := range l.subs[instanceID] {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

// Waiters counts the subscribers, for metrics and tests.
func (l *Local) Waiters() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, set := range l.subs {
		n += len(set)
	}
	return n
}
