package service

import (
	"sync"

	"github.com/driverhub/driverhub"
)

// freshManifests holds the manifests of deployments this server made that
// no gateway fetched yet, so that a wave's gateways, woken together, get
// theirs without reading and decoding them again. A deployment's manifest
// never changes once made, so a copy is as good as a read; the first
// fetch takes it out. Deployments made on other replicas are read.
type freshManifests struct {
	mu sync.Mutex
	m  map[string]freshManifest // by deployment id
	// newest is, by instance, the last deployment put: the one a gateway
	// woken for it is to fetch, unless another replica made a newer one.
	newest map[string]string
}

type freshManifest struct {
	instanceID string
	manifest   *driverhub.Manifest
}

// maxFreshManifests bounds the copies: past it (gateways that stay
// offline never take theirs), the copies are dropped and read again.
const maxFreshManifests = 20000

func newFreshManifests() *freshManifests {
	return &freshManifests{m: map[string]freshManifest{}, newest: map[string]string{}}
}

func (f *freshManifests) put(d *driverhub.Deployment) {
	if d.Manifest == nil {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.m) >= maxFreshManifests {
		clear(f.m)
		clear(f.newest)
	}
	// The instance's copy before, never fetched, never will be: d
	// superseded it.
	delete(f.m, f.newest[d.InstanceID])
	f.m[d.ID] = freshManifest{instanceID: d.InstanceID, manifest: d.Manifest}
	f.newest[d.InstanceID] = d.ID
}

// take returns and forgets the manifest of the instance's deployment id.
func (f *freshManifests) take(instanceID, id string) (*driverhub.Manifest, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	e, ok := f.m[id]
	if !ok || e.instanceID != instanceID {
		return nil, false
	}
	delete(f.m, id)
	if f.newest[instanceID] == id {
		delete(f.newest, instanceID)
	}
	return e.manifest, true
}

// newestOf returns the id of the last deployment of the instance made
// here and not fetched yet.
func (f *freshManifests) newestOf(instanceID string) (string, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	id, ok := f.newest[instanceID]
	return id, ok
}
