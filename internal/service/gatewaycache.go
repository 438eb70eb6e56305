package service

import (
	"sync"
	"time"

	"github.com/driverhub/driverhub"
)

// gatewayCache remembers, for a while, which instance a gateway secret
// belongs to and its current deployment, so that the polls and reports a
// fleet sends all day are authenticated without a database read. Changes
// made on this server forget the instance (or its current deployment) as
// they are announced — a user's at once, a rollout wave's when its
// gateways are woken — and an entry read from the database before such a
// change is not kept; a plain fetch reads the database. On other
// replicas, entries live for ttl (1 s) at most, and long-polls re-read
// the database before they wait.
type gatewayCache struct {
	ttl time.Duration
	// local: every change passes through this server (no replicas), so
	// the current deployment it learnt of a gateway stays true until its
	// own next deployment, and a long-poll can wait on it unread.
	local bool

	mu        sync.Mutex
	byHash    map[string]cachedGateway
	hashOf    map[string]string // instance id → secret hash
	nextSweep time.Time
	// gen counts forgets: an entry read before one may be stale.
	gen uint64
	// seq numbers the versions of entries: a change of one gets the next.
	seq uint64
}

type cachedGateway struct {
	inst  driverhub.Instance
	until time.Time
	ver   uint64
}

func newGatewayCache(ttl time.Duration, local bool) *gatewayCache {
	return &gatewayCache{ttl: ttl, local: local, byHash: map[string]cachedGateway{}, hashOf: map[string]string{}}
}

// get returns a copy of the cached instance for the secret hash.
func (c *gatewayCache) get(hash string, now time.Time) (*driverhub.Instance, bool) {
	if c.ttl <= 0 {
		return nil, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.byHash[hash]
	if !ok || now.After(e.until) {
		return nil, false
	}
	i := e.inst
	return &i, true
}

// generation is to be read before the database, and given to put.
func (c *gatewayCache) generation() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gen
}

// put keeps i, read from the database at generation gen, unless the
// cache forgot an instance since (it may have been i, changed).
func (c *gatewayCache) put(hash string, i *driverhub.Instance, now time.Time, gen uint64) {
	if c.ttl <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		return
	}
	if now.After(c.nextSweep) { // drop what expired, so the cache holds only active gateways
		for h, e := range c.byHash {
			if now.After(e.until) {
				delete(c.byHash, h)
				delete(c.hashOf, e.inst.ID)
			}
		}
		c.nextSweep = now.Add(10 * c.ttl)
	}
	c.seq++
	c.byHash[hash] = cachedGateway{inst: *i, until: now.Add(c.ttl), ver: c.seq}
	c.hashOf[i.ID] = hash
}

// forget drops an instance whose secret, deployment or gateway state changed.
func (c *gatewayCache) forget(instanceID string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	if h, ok := c.hashOf[instanceID]; ok {
		delete(c.byHash, h)
		delete(c.hashOf, instanceID)
	}
}

// deploymentUnknown stands for the current deployment of a cached
// instance that got a new one: read it from the database.
const deploymentUnknown = "\x00unknown"

// redeployed keeps the identity of an instance that got a new deployment;
// an entry read before is not kept (its deployment is the old one). Its
// current deployment is started, when the deployment was started here as
// it was made (handed to its gateway) and this is the only server; else
// unknown, for the next poll to read.
func (c *gatewayCache) redeployed(instanceID, started string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	current := deploymentUnknown
	if started != "" && c.local {
		current = started
	}
	c.edit(instanceID, func(e *cachedGateway) {
		c.seq++
		e.inst.CurrentDeploymentID, e.ver = current, c.seq
	})
}

// currentOf returns, on a single server, the current deployment of a
// cached instance (ok), or else the version of its entry (0: none) to
// hand to learnt with what the database says.
func (c *gatewayCache) currentOf(instanceID string, now time.Time) (id string, ver uint64, ok bool) {
	if !c.local {
		return "", 0, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, cached := c.byHash[c.hashOf[instanceID]]
	if !cached || now.After(e.until) {
		return "", 0, false
	}
	if e.inst.CurrentDeploymentID == deploymentUnknown {
		return "", e.ver, false
	}
	return e.inst.CurrentDeploymentID, e.ver, true
}

// learnt records the instance's current deployment, read (or proved
// current) after currentOf gave ver: unless the entry changed since.
func (c *gatewayCache) learnt(instanceID, deploymentID string, ver uint64) {
	if ver == 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.edit(instanceID, func(e *cachedGateway) {
		if e.ver == ver {
			e.inst.CurrentDeploymentID = deploymentID
		}
	})
}

// reported records the gateway row a report wrote: its facts and sync.
func (c *gatewayCache) reported(instanceID string, g driverhub.Gateway) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.edit(instanceID, func(e *cachedGateway) { e.inst.Gateway = g })
}

// seen records a sync written to the database, so that the next polls do
// not write it again.
func (c *gatewayCache) seen(instanceID string, t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.edit(instanceID, func(e *cachedGateway) { e.inst.Gateway.LastSeenAt = &t })
}

// edit changes the instance's entry, if it is cached; c.mu is held.
func (c *gatewayCache) edit(instanceID string, change func(e *cachedGateway)) {
	if h, ok := c.hashOf[instanceID]; ok {
		e := c.byHash[h]
		change(&e)
		c.byHash[h] = e
	}
}
