package server

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/driverhub/driverhub"
	"github.com/driverhub/driverhub/internal/service"
)

// rolloutCollector exports rollouts by state and the targets of active
// rollouts by state. It counts from the database at each scrape, with two
// grouped queries on indexed columns, rather than keeping gauges that
// every replica would have to update on every report: counts are the same
// whichever replica is scraped, and right after a restart.
type rolloutCollector struct {
	svc               *service.Service
	rollouts, targets *prometheus.Desc
	log               func(msg string, args ...any)
}

func newRolloutCollector(svc *service.Service, warn func(msg string, args ...any)) *rolloutCollector {
	return &rolloutCollector{svc: svc, log: warn,
		rollouts: prometheus.NewDesc("driverhub_rollouts", "Rollouts by state, across tenants.", []string{"state"}, nil),
		targets: prometheus.NewDesc("driverhub_rollout_targets",
			"Targets of running and paused rollouts by state, across tenants.", []string{"state"}, nil)}
}

func (c *rolloutCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.rollouts
	ch <- c.targets
}

func (c *rolloutCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	st, err := c.svc.RolloutStats(ctx)
	if err != nil {
		c.log("rollout metrics", "err", err)
		ch <- prometheus.NewInvalidMetric(c.rollouts, err)
		return
	}
	for _, s := range driverhub.AllRolloutStates {
		ch <- prometheus.MustNewConstMetric(c.rollouts, prometheus.GaugeValue, float64(st.Rollouts[s]), string(s))
	}
	for _, s := range driverhub.AllTargetStates {
		ch <- prometheus.MustNewConstMetric(c.targets, prometheus.GaugeValue, float64(st.Targets[s]), string(s))
	}
}
