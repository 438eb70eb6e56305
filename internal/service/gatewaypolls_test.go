package service_test

import (
	"context"
	"testing"
	"time"

	"github.com/driverhub/driverhub"
	"github.com/driverhub/driverhub/internal/service"
)

// What a gateway's fetches and long-polls are answered when the server's
// gateway cache may not know the newest deployment: a replica's (changes
// made elsewhere) and a single server's (a rollout wave's deployments
// before its gateways are woken).

func TestGatewayMovingBetweenReplicasNeverGoesBack(t *testing.T) {
	t.Parallel()
	replicas := asReplicas()
	ts := newTestService(t, replicas)
	// Replica b remembers gateways long: its view of the instance goes stale.
	b := ts.replica(t, replicas, func(c *service.Config) { c.GatewayCacheTTL = time.Hour })
	i := ts.newInstance(t, ts.admin, "edge")
	onB := func() context.Context {
		g, err := b.AuthenticateGateway(context.Background(), i.GatewaySecret)
		if err != nil {
			t.Fatal(err)
		}
		return driverhub.WithGateway(context.Background(), g)
	}
	onB() // before any deployment
	d := ts.deploy(t, ts.admin, "edge")
	_, etag := ts.fetch(t, i.GatewaySecret, `"none"`) // from replica a
	if etag != `"`+d.ID+`"` {
		t.Fatalf("replica a answered ETag %s", etag)
	}
	m, e, err := b.Desired(onB(), etag, 0)
	if err != nil || m != nil || e != etag {
		t.Errorf("replica b answered %+v, %s, %v; want not modified at %s", m, e, err, etag)
	}
	// A long poll reads the database before it waits: no notice from
	// replica a is needed.
	m, e, err = b.Desired(onB(), `"none"`, time.Hour)
	if err != nil || m == nil || m.DeploymentID != d.ID || e != etag {
		t.Errorf("replica b's long poll answered %+v, %s, %v; want deployment %s", m, e, err, d.ID)
	}
}

// TestPlainFetchAnswersWhatIsCommitted: a single server's cache learns of
// a rollout wave's deployments when their gateways are woken, once the
// wave's last batch commits; a plain fetch (no ETag) in between must
// still get the committed deployment, as the wave's page already shows
// it. The not-yet-announced deployment is made here by a
// second service over the same database, which this one never hears of.
func TestPlainFetchAnswersWhatIsCommitted(t *testing.T) {
	t.Parallel()
	ts := newTestService(t)
	i := ts.newInstance(t, ts.admin, "edge")
	g := ts.gatewayCtx(t, i.GatewaySecret) // cached: no deployment yet
	if m, etag, err := ts.Desired(g, "", 0); err != nil || m == nil || etag != `"none"` {
		t.Fatalf("before any deployment: %+v, %s, %v", m, etag, err)
	}
	d := must(ts.replica(t).CreateDeployment(ts.admin, "edge", driverhub.DeployTypeDeploy))(t)
	m, etag, err := ts.Desired(ts.gatewayCtx(t, i.GatewaySecret), "", 0)
	if err != nil || m == nil || m.DeploymentID != d.ID || etag != `"`+d.ID+`"` {
		t.Errorf("plain fetch: %+v, %s, %v; want deployment %s", m, etag, err, d.ID)
	}
}

// TestWokenPollNeverGetsADeploymentSupersededElsewhere: a long poll on
// replica a, whose deployment made there was superseded on replica b
// before the gateway fetched it, answers b's deployment, not a's copy.
func TestWokenPollNeverGetsADeploymentSupersededElsewhere(t *testing.T) {
	t.Parallel()
	replicas := asReplicas()
	ts := newTestService(t, replicas)
	b := ts.replica(t, replicas)
	i := ts.newInstance(t, ts.admin, "edge")
	g, err := ts.AuthenticateGateway(context.Background(), i.GatewaySecret) // before any deployment
	if err != nil {
		t.Fatal(err)
	}
	onA := driverhub.WithGateway(context.Background(), g)
	first := ts.deploy(t, ts.admin, "edge")
	second := must(b.CreateDeployment(ts.admin, "edge", driverhub.DeployTypeDeploy))(t)
	m, etag, err := ts.Desired(onA, `"none"`, time.Hour)
	if err != nil || m == nil || m.DeploymentID != second.ID || etag != `"`+second.ID+`"` {
		t.Fatalf("the poll answered %+v, %s, %v; want %s (not %s, superseded)", m, etag, err, second.ID, first.ID)
	}
	if d := ts.deployment(t, ts.admin, "edge", second.ID); d.Status != driverhub.DeployProcessing {
		t.Errorf("the fetched deployment is %s, want processing", d.Status)
	}
}
