package service

import (
	"context"
	"sync"

	"github.com/driverhub/driverhub"
)

// Hand-off: a rollout batch that deploys to a gateway long-polling this
// server claims its poll, writes the deployment already started (its
// fetch begun) in the batch's own transaction, and hands the gateway its
// manifest once that commits. A wave's gateways then get their
// deployments as their batch commits, rather than each through a write of
// its own (the fetch's start) queued behind the wave's reports for the
// one writer. The start is recorded before the gateway is answered, as on
// any fetch; a gateway that went away in between finds its deployment,
// started, at its next poll, as it would had its connection dropped after
// an ordinary fetch.

// parkedPolls are the long-polls waiting on this server, one per instance
// (a gateway's newer poll replaces its older one, which is still woken).
type parkedPolls struct {
	mu sync.Mutex
	m  map[string]*parkedPoll // by instance id
}

// parkedPoll is one waiting long-poll. While claimed, a batch may hand it
// a deployment (committed and started), which handed then holds; decided
// is closed when the claiming batch handed it one or let it go.
type parkedPoll struct {
	instanceID string
	claimed    bool
	decided    chan struct{}
	handed     chan *handoff // room for the one deployment a poll is handed
}

// handoff is a deployment handed to a parked poll.
type handoff struct {
	id       string
	manifest *driverhub.Manifest
}

func newParkedPolls() *parkedPolls { return &parkedPolls{m: map[string]*parkedPoll{}} }

// park registers a long-poll of the instance.
func (ps *parkedPolls) park(instanceID string) *parkedPoll {
	p := &parkedPoll{instanceID: instanceID, handed: make(chan *handoff, 1)}
	ps.mu.Lock()
	ps.m[instanceID] = p
	ps.mu.Unlock()
	return p
}

// claim takes the instance's parked poll for a batch, nil when none waits
// here (or another batch holds it): that gateway is woken as before.
func (ps *parkedPolls) claim(instanceID string) *parkedPoll {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	p := ps.m[instanceID]
	if p == nil || p.claimed {
		return nil
	}
	p.claimed, p.decided = true, make(chan struct{})
	return p
}

// hand gives the claimed poll its deployment, committed and started; the
// poll answers with it, and no longer waits here.
func (ps *parkedPolls) hand(p *parkedPoll, h *handoff) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if ps.m[p.instanceID] == p {
		delete(ps.m, p.instanceID)
	}
	p.claimed = false
	p.handed <- h // never full: a poll handed one is claimed no more
	close(p.decided)
}

// release gives back a claimed poll whose batch did not commit: it waits
// on, and may be claimed again.
func (ps *parkedPolls) release(p *parkedPoll) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	p.claimed = false
	close(p.decided)
}

// leave ends a poll's wait. A poll a batch holds waits for the batch's
// outcome first. It returns the deployment handed to the poll, if any,
// for it to answer with: it was started for this gateway.
func (ps *parkedPolls) leave(p *parkedPoll) *handoff {
	ps.mu.Lock()
	if ps.m[p.instanceID] == p {
		delete(ps.m, p.instanceID)
	}
	decided := p.decided
	claimed := p.claimed
	ps.mu.Unlock()
	if claimed {
		<-decided
	}
	select {
	case h := <-p.handed:
		return h
	default:
		return nil
	}
}

// claimedPoll is a poll a batch claimed, with the deployment it will hand
// (nil until the batch makes one).
type claimedPoll struct {
	poll *parkedPoll
	d    *driverhub.Deployment
}

// claimPolls claims the parked polls of the batch's instances, by
// instance id, before it makes their deployments: those are written
// started (batchTx.CreateDeployment), to be fetched at the commit.
func (s *Service) claimPolls(instanceIDs []string) map[string]*claimedPoll {
	claimed := map[string]*claimedPoll{}
	for _, id := range instanceIDs {
		if p := s.parked.claim(id); p != nil {
			claimed[id] = &claimedPoll{poll: p}
		}
	}
	return claimed
}

// splitClaims returns the claims with a deployment to hand, and the
// deployments of made whose gateways wait elsewhere or not at all, to be
// woken; it releases the claims the batch made no deployment for (a
// target that failed or left), whose polls wait on.
func (s *Service) splitClaims(claimed map[string]*claimedPoll, made []*driverhub.Deployment) (handing []*claimedPoll, woken []*driverhub.Deployment) {
	for _, d := range made {
		if c := claimed[d.InstanceID]; c != nil && c.d == d {
			handing = append(handing, c)
		} else {
			woken = append(woken, d)
		}
	}
	for id, c := range claimed {
		if c.d == nil {
			s.parked.release(c.poll)
			delete(claimed, id)
		}
	}
	return handing, woken
}

// handPolls gives the claimed polls their deployments, committed; the
// gateway cache learns that each is its instance's current one. The
// gateways are also woken: one whose connection dropped while its poll
// was claimed may wait again already (here or on another replica), and
// would otherwise hear of its deployment only when that wait ends. A
// handed poll answers what it was handed, not the wake.
func (s *Service) handPolls(ctx context.Context, handing []*claimedPoll) {
	if len(handing) == 0 {
		return
	}
	ids := make([]string, len(handing))
	for k, c := range handing {
		s.gateways.redeployed(c.d.InstanceID, c.d.ID)
		s.parked.hand(c.poll, &handoff{id: c.d.ID, manifest: c.d.Manifest})
		ids[k] = c.d.InstanceID
	}
	s.wakeGateways(ctx, ids)
}

// releasePolls gives back the polls a batch that did not commit holds.
func (s *Service) releasePolls(claimed map[string]*claimedPoll) {
	for _, c := range claimed {
		s.parked.release(c.poll)
	}
}
