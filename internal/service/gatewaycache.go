package service

import (
	"sync"
	"time"

	"github.com/driverhub/driverhub"
)

// gatewayCache remembers, for a while, which instance a gateway secret
// belongs to and its current deployment, so that the polls and reports a
// fleet sends all day are authenticated without a database read. Changes
// made on this server forget the instance at once (and an entry read
// from the database before such a change is not kept); on other
// replicas, entries live for ttl (1 s) at most, and long-polls re-read
// the database before they wait.
type gatewayCache struct {
	ttl time.Duration

	mu        sync.Mutex
	byHash    map[string]cachedGateway
	hashOf    map[string]string // instance id → secret hash
	nextSweep time.Time
	// gen counts forgets: an entry read before one may be stale.
	gen uint64
}

type cachedGateway struct {
	inst  driverhub.Instance
	until time.Time
}

func newGatewayCache(ttl time.Duration) *gatewayCache {
	return &gatewayCache{ttl: ttl, byHash: map[string]cachedGateway{}, hashOf: map[string]string{}}
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
	c.byHash[hash] = cachedGateway{inst: *i, until: now.Add(c.ttl)}
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

// redeployed keeps the identity of an instance that got a new deployment
// but not its current deployment, which the next poll reads; an entry
// read before is not kept (its deployment is the old one).
func (c *gatewayCache) redeployed(instanceID string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	if h, ok := c.hashOf[instanceID]; ok {
		e := c.byHash[h]
		e.inst.CurrentDeploymentID = deploymentUnknown
		c.byHash[h] = e
	}
}

// seen records a sync written to the database, so that the next polls do
// not write it again.
func (c *gatewayCache) seen(instanceID string, t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if h, ok := c.hashOf[instanceID]; ok {
		e := c.byHash[h]
		e.inst.Gateway.LastSeenAt = &t
		c.byHash[h] = e
	}
}
