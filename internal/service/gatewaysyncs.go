package service

import (
	"context"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/driverhub/driverhub"
)

// Gateway syncs: when a gateway's sync time (last_seen_at) is written,
// and writing it behind. It is due every 10 s of polls or reports
// (lastSeenWriteInterval): a fleet of ten thousand gateways long-polling
// every 30 s would write an instance row a poll, and a rollout wave's
// reports one each, every one a statement of its own for SQLite's one
// writer or a round trip to PostgreSQL. A gateway online by its stored
// time (with a poll period to spare) has a due sync noted instead, and
// the syncs noted are written together within a second (syncFlush). A
// gateway coming online, or one whose report says something new, is
// written at once, as before: what "online" and the checks read never
// waits for a flush. This server's views show the time noted; other
// replicas see it once written.

// lastSeenWriteInterval bounds how often a polling gateway's last_seen_at
// is written: polls are frequent, and "online" needs no finer grain.
const lastSeenWriteInterval = 10 * time.Second

// touchGateway records that the gateway synced. Polls are frequent, so the
// write happens at most every few seconds — often enough for "online",
// which allows three poll periods — and behind, with others, while the
// gateway is online; else at once, as a flush of one. Only last_seen_at
// changes (forward only): a report landing at the same moment keeps what
// it wrote.
func (s *Service) touchGateway(ctx context.Context, i *driverhub.Instance) {
	now := s.timestamp()
	if !s.syncDue(i.Gateway.LastSeenAt, now) {
		return
	}
	if s.syncBehind(i.Gateway.LastSeenAt, now) {
		s.noteSync(i.ID, now)
		return
	}
	err := s.store.UpdateRows(ctx, func(tx driverhub.Tx) error {
		return tx.TouchGateways(ctx, []driverhub.GatewaySync{{InstanceID: i.ID, At: now}})
	})
	if err != nil {
		s.log.Warn("record gateway sync", "instance", i.Name, "err", err)
		return
	}
	s.gateways.seen(i.ID, now)
}

// syncDue reports whether a gateway last seen at last (nil: never) is to
// have its sync written at now: at most every lastSeenWriteInterval, and
// at least every poll period.
func (s *Service) syncDue(last *time.Time, now time.Time) bool {
	return last == nil || now.Sub(*last) >= min(lastSeenWriteInterval, s.poll)
}

// syncFlushChunk bounds the syncs one transaction writes.
const syncFlushChunk = 1000

// gatewaySyncs are the syncs noted and not yet written, by instance id.
type gatewaySyncs struct {
	mu sync.Mutex
	m  map[string]time.Time
}

func newGatewaySyncs() *gatewaySyncs { return &gatewaySyncs{m: map[string]time.Time{}} }

// note keeps the later of the instance's noted sync and at.
func (g *gatewaySyncs) note(instanceID string, at time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if cur, ok := g.m[instanceID]; !ok || at.After(cur) {
		g.m[instanceID] = at
	}
}

// at returns the instance's sync noted and not yet written.
func (g *gatewaySyncs) at(instanceID string) (time.Time, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	at, ok := g.m[instanceID]
	return at, ok
}

// take returns the syncs noted, by instance id (replicas flushing at once
// lock rows in one order), and forgets them.
func (g *gatewaySyncs) take() []driverhub.GatewaySync {
	g.mu.Lock()
	m := g.m
	g.m = map[string]time.Time{}
	g.mu.Unlock()
	out := make([]driverhub.GatewaySync, 0, len(m))
	for _, id := range slices.Sorted(maps.Keys(m)) {
		out = append(out, driverhub.GatewaySync{InstanceID: id, At: m[id]})
	}
	return out
}

// lastSeen is when the instance's gateway last synced: the time this
// server noted, if later than the stored one.
func (s *Service) lastSeen(i *driverhub.Instance) *time.Time {
	if at, ok := s.syncs.at(i.ID); ok && (i.Gateway.LastSeenAt == nil || at.After(*i.Gateway.LastSeenAt)) {
		return &at
	}
	return i.Gateway.LastSeenAt
}

// syncBehind reports whether a due sync at now of a gateway last seen at
// last may be written behind: the gateway is online by last with a poll
// period to spare, more than a flush's delay.
func (s *Service) syncBehind(last *time.Time, now time.Time) bool {
	return last != nil && now.Sub(*last) <= 2*s.poll
}

// noteSync notes a gateway's sync for the next flush, and in the cache,
// so that the next polls do not note it again.
func (s *Service) noteSync(instanceID string, at time.Time) {
	s.syncs.note(instanceID, at)
	s.gateways.seen(instanceID, at)
}

// FlushGatewaySyncs writes the syncs noted. What it could not write is
// noted again, for the next flush.
func (s *Service) FlushGatewaySyncs(ctx context.Context) error {
	syncs := s.syncs.take()
	for len(syncs) > 0 {
		chunk := syncs[:min(len(syncs), syncFlushChunk)]
		err := s.store.UpdateRows(ctx, func(tx driverhub.Tx) error { return tx.TouchGateways(ctx, chunk) })
		if err != nil {
			for _, g := range syncs {
				s.syncs.note(g.InstanceID, g.At)
			}
			return err
		}
		syncs = syncs[len(chunk):]
	}
	return nil
}

// syncFlush is how often RunGatewaySyncs writes: every second, or twice a
// poll period when that is shorter.
func (s *Service) syncFlush() time.Duration {
	return max(min(time.Second, s.poll/2), time.Millisecond)
}

// RunGatewaySyncs writes the syncs noted every syncFlush until ctx ends,
// and then once more: the server stops it after its last request.
func (s *Service) RunGatewaySyncs(ctx context.Context) {
	t := time.NewTicker(s.syncFlush())
	defer t.Stop()
	for {
		select {
		case <-t.C:
			if err := s.FlushGatewaySyncs(ctx); err != nil && ctx.Err() == nil {
				s.log.Warn("write gateway syncs", "err", err)
			}
		case <-ctx.Done():
			last, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			if err := s.FlushGatewaySyncs(last); err != nil {
				s.log.Warn("write gateway syncs before stopping", "err", err)
			}
			return
		}
	}
}
