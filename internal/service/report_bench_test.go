package service_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/driverhub/driverhub"
)

// BenchmarkReport measures one gateway report that finishes a deployment
// of one bound driver, as a wave's gateways send them: the cost each
// report adds to the database's one writer (SQLite, one at a time).
func BenchmarkReport(b *testing.B) {
	ts := newTestService(b)
	ts.ready(b, ts.admin, driverIn("meter", driverhub.RuntimePython3))
	ctxs := make([]context.Context, b.N)
	reports := make([]driverhub.GatewayReport, b.N)
	for k := range b.N {
		name := fmt.Sprintf("gw%d", k)
		i := ts.newInstance(b, ts.admin, name)
		ts.bind(b, ts.admin, name, "meter", "")
		d := ts.deploy(b, ts.admin, name)
		ctxs[k] = ts.gatewayCtx(b, i.GatewaySecret)
		reports[k] = driverhub.GatewayReport{Deployment: &driverhub.DeploymentReport{ID: d.ID, Status: driverhub.DeploySucceeded}}
	}
	b.ResetTimer()
	for k := range b.N {
		if err := ts.Report(ctxs[k], reports[k]); err != nil {
			b.Fatal(err)
		}
	}
}
