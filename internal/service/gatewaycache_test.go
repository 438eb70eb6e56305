package service

import (
	"testing"
	"time"

	"github.com/driverhub/driverhub"
)

// TestGatewayCacheKeepsNoEntryReadBeforeAChange: an authentication that
// read the instance before its secret was rotated (or its deployment
// changed) must not cache what it read, or the old secret would work on
// for the cache's life.
func TestGatewayCacheKeepsNoEntryReadBeforeAChange(t *testing.T) {
	c := newGatewayCache(time.Hour, true)
	now := time.Now()
	i := &driverhub.Instance{ID: "i1", Name: "edge"}

	gen := c.generation() // the authentication reads the database…
	c.forget("i1")        // …while the secret is rotated
	c.put("old-hash", i, now, gen)
	if _, ok := c.get("old-hash", now); ok {
		t.Fatal("the cache kept an instance read before it was changed")
	}

	gen = c.generation()
	c.put("new-hash", i, now, gen)
	if got, ok := c.get("new-hash", now.Add(time.Minute)); !ok || got.ID != "i1" {
		t.Fatalf("a fresh entry: got %v, %v", got, ok)
	}
	if _, ok := c.get("new-hash", now.Add(2*time.Hour)); ok {
		t.Error("an entry outlived the cache's ttl")
	}
	c.forget("i1")
	if _, ok := c.get("new-hash", now); ok {
		t.Error("a forgotten instance is still cached")
	}
}

// TestGatewayCacheKeepsIdentityAcrossADeployment: a new deployment leaves
// the gateway authenticated from the cache, its current deployment to be
// read again; an entry read before the deployment is not kept.
func TestGatewayCacheKeepsIdentityAcrossADeployment(t *testing.T) {
	c := newGatewayCache(time.Hour, true)
	now := time.Now()
	c.put("hash", &driverhub.Instance{ID: "i1", CurrentDeploymentID: "d1"}, now, c.generation())
	gen := c.generation()  // another request reads the instance: current d1…
	c.redeployed("i1", "") // …while d2 is made
	got, ok := c.get("hash", now)
	if !ok || got.ID != "i1" || got.CurrentDeploymentID != deploymentUnknown {
		t.Fatalf("after a deployment the cache holds %+v, %v; want i1 with its deployment unknown", got, ok)
	}
	c.put("hash", &driverhub.Instance{ID: "i1", CurrentDeploymentID: "d1"}, now, gen)
	if got, _ := c.get("hash", now); got.CurrentDeploymentID != deploymentUnknown {
		t.Errorf("an entry read before the deployment replaced the cache's: current %q", got.CurrentDeploymentID)
	}
}

// TestGatewayCacheLifeFollowsTheNotifier: a single server (no Notifier
// given) sees every change and keeps identities for minutes; a replica,
// which does not see changes made elsewhere, for a second. The default
// Notifier made for a single server must not count as a given one (it did,
// and a fleet's every poll and report read its instance again).
func TestGatewayCacheLifeFollowsTheNotifier(t *testing.T) {
	store, blobs := struct{ driverhub.Store }{}, struct{ driverhub.BlobStore }{}
	single, err := New(Config{Store: store, Blobs: blobs})
	if err != nil {
		t.Fatal(err)
	}
	if single.gateways.ttl != 5*time.Minute || single.notifier == nil {
		t.Errorf("single server: cache ttl %s (want 5m0s), notifier %v", single.gateways.ttl, single.notifier)
	}
	replica, err := New(Config{Store: store, Blobs: blobs, Notifier: single.notifier})
	if err != nil {
		t.Fatal(err)
	}
	if replica.gateways.ttl != time.Second {
		t.Errorf("replica: cache ttl %s, want 1s", replica.gateways.ttl)
	}
}

// TestGatewayCacheKnowsTheCurrentDeploymentOnASingleServer: a single
// server answers a long-poll's "what is current" from the cache once it
// read or started it; what it read before a new deployment is not kept;
// replicas never answer from the cache.
func TestGatewayCacheKnowsTheCurrentDeploymentOnASingleServer(t *testing.T) {
	now := time.Now()
	c := newGatewayCache(time.Hour, true)
	c.put("hash", &driverhub.Instance{ID: "i1", CurrentDeploymentID: "d1"}, now, c.generation())
	if id, _, ok := c.currentOf("i1", now); !ok || id != "d1" {
		t.Fatalf("after authentication: current %q, %v; want d1", id, ok)
	}
	c.redeployed("i1", "") // d2 made
	_, ver, ok := c.currentOf("i1", now)
	if ok {
		t.Fatal("the current deployment is known right after a new one was made")
	}
	c.learnt("i1", "d2", ver) // read from the database
	if id, _, ok := c.currentOf("i1", now); !ok || id != "d2" {
		t.Fatalf("after reading it: current %q, %v; want d2", id, ok)
	}

	c.redeployed("i1", "")             // d3 made
	_, ver, _ = c.currentOf("i1", now) // a poll reads the database…
	c.redeployed("i1", "")             // …while d4 is made: what it read may be d3
	c.learnt("i1", "d3", ver)
	if id, _, ok := c.currentOf("i1", now); ok {
		t.Errorf("a read older than the newest deployment was kept: current %q", id)
	}
	if _, _, ok := c.currentOf("i1", now.Add(2*time.Hour)); ok {
		t.Error("an expired entry still answers")
	}
	c.redeployed("i1", "d5") // d5 made and handed to its gateway
	if id, _, ok := c.currentOf("i1", now); !ok || id != "d5" {
		t.Errorf("after a deployment started as it was made: current %q, %v; want d5", id, ok)
	}

	r := newGatewayCache(time.Hour, false)
	r.put("hash", &driverhub.Instance{ID: "i1", CurrentDeploymentID: "d1"}, now, r.generation())
	if _, _, ok := r.currentOf("i1", now); ok {
		t.Error("a replica answered the current deployment from its cache")
	}
	r.redeployed("i1", "d2")
	if i, ok := r.get("hash", now); !ok || i.CurrentDeploymentID != deploymentUnknown {
		t.Errorf("a replica's cached instance after a deployment started here: %+v, %v; want its current unknown", i, ok)
	}
}
