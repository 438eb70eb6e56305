package service

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/driverhub/driverhub"
)

// AuthenticateGateway resolves a gateway secret to its instance.
func (s *Service) AuthenticateGateway(ctx context.Context, secret string) (*driverhub.Instance, error) {
	if err := s.gatewayAuthAllowed(ctx); err != nil {
		return nil, err
	}
	if !strings.HasPrefix(secret, driverhub.GatewaySecretPrefix) {
		return nil, s.gatewayAuthFailed(ctx)
	}
	hash := hashSecret(secret)
	if i, ok := s.gateways.get(hash, time.Now()); ok {
		return i, nil
	}
	var i *driverhub.Instance
	gen := s.gateways.generation()
	err := s.store.View(ctx, func(tx driverhub.Tx) error {
		var err error
		i, err = tx.InstanceBySecretHash(ctx, hash)
		return err
	})
	if errors.Is(err, driverhub.ErrNotFound) {
		return nil, s.gatewayAuthFailed(ctx)
	}
	if err == nil {
		s.gateways.put(hash, i, time.Now(), gen)
	}
	return i, err
}

func gatewayOf(ctx context.Context) (*driverhub.Instance, error) {
	i := driverhub.GatewayFrom(ctx)
	if i == nil {
		return nil, driverhub.Errorf(driverhub.EUnauthenticated, "gateway secret required")
	}
	return i, nil
}

// etagOf is the strong ETag of an instance's desired state: its current
// deployment, which never changes once made.
func etagOf(deploymentID string) string {
	if deploymentID == "" {
		return `"none"`
	}
	return `"` + deploymentID + `"`
}

// Desired returns the calling gateway's manifest and its ETag. When
// ifNoneMatch is the current ETag it waits up to wait for a new deployment
// and answers nil (not modified) at the deadline. The first fetch of a
// deployment moves it to processing.
func (s *Service) Desired(ctx context.Context, ifNoneMatch string, wait time.Duration) (*driverhub.Manifest, string, error) {
	i, err := gatewayOf(ctx)
	if err != nil {
		return nil, "", err
	}
	s.touchGateway(ctx, i)
	if wait <= 0 {
		current := i.CurrentDeploymentID
		if current == deploymentUnknown || etagOf(current) != ifNoneMatch {
			// i may come from the gateway cache, which a deployment made
			// on another replica leaves stale for up to its TTL (and one
			// made here leaves unknown): a change is answered from the
			// database only, so that a gateway moving between replicas
			// never gets an older deployment back; on a single server too,
			// whose cache learns of a rollout's deployments only when their
			// gateways are woken, once their batch has committed.
			if current, err = s.readCurrentDeployment(ctx, i.ID); err != nil {
				return nil, "", err
			}
		}
		etag := etagOf(current)
		if etag != ifNoneMatch {
			m, err := s.fetchManifest(ctx, i.ID, current)
			return m, etag, err
		}
		return nil, etag, nil
	}
	return s.awaitDeployment(ctx, i.ID, ifNoneMatch, wait)
}

// awaitDeployment is Desired's long-poll: it answers the instance's
// deployment once it is not ifNoneMatch, or nil at wait's end. Parked, the
// poll is woken by a new deployment, or handed one by a rollout batch
// (handoff.go).
func (s *Service) awaitDeployment(ctx context.Context, instanceID, ifNoneMatch string, wait time.Duration) (*driverhub.Manifest, string, error) {
	// Subscribe, then read: a deployment made in between still wakes us.
	wake, cancel := s.notifier.Subscribe(instanceID)
	defer cancel()
	poll := s.parked.park(instanceID)
	defer s.parked.leave(poll)
	timer := time.NewTimer(wait)
	defer timer.Stop()
	for {
		if m, id, ok, err := s.takeFresh(ctx, instanceID, ifNoneMatch); err != nil || ok {
			return m, etagOf(id), err
		}
		current, err := s.currentDeployment(ctx, instanceID)
		if err != nil {
			return nil, "", err
		}
		etag := etagOf(current)
		if etag != ifNoneMatch {
			m, err := s.fetchManifest(ctx, instanceID, current)
			return m, etag, err
		}
		select {
		case <-wake:
			select {
			case h := <-poll.handed: // the wake that follows a hand-off
				return h.manifest, etagOf(h.id), nil
			default:
				continue
			}
		case h := <-poll.handed:
			return h.manifest, etagOf(h.id), nil
		case <-timer.C:
		case <-ctx.Done():
		}
		// The wait is over; a deployment handed meanwhile is answered.
		if h := s.parked.leave(poll); h != nil {
			return h.manifest, etagOf(h.id), nil
		}
		return nil, etag, nil
	}
}

// takeFresh answers a gateway woken for a deployment made here, without
// reading its instance: the newest deployment made here for it is its
// current one while still pending (superseding one finishes it), which
// the conditional start of its fetch proves. ok is false when it cannot
// tell (none made here, made on another replica since, fetched already):
// the database says then.
func (s *Service) takeFresh(ctx context.Context, instanceID, ifNoneMatch string) (m *driverhub.Manifest, id string, ok bool, err error) {
	id, ok = s.fresh.newestOf(instanceID)
	if !ok || etagOf(id) == ifNoneMatch {
		return nil, "", false, nil
	}
	if m, ok = s.fresh.take(instanceID, id); !ok {
		return nil, "", false, nil
	}
	_, ver, _ := s.gateways.currentOf(instanceID, time.Now())
	if ok, err = s.startDeployment(ctx, instanceID, id); ok {
		s.gateways.learnt(instanceID, id, ver) // started: current until the next
	}
	return m, id, ok, err
}

// startDeployment moves the deployment from pending to processing, its
// first fetch, and reports whether it was pending.
func (s *Service) startDeployment(ctx context.Context, instanceID, id string) (started bool, err error) {
	err = s.store.UpdateRows(ctx, func(tx driverhub.Tx) error {
		started, err = tx.StartDeployment(ctx, instanceID, id, s.timestamp())
		return err
	})
	return started, err
}

// currentDeployment returns the instance's current deployment id for a
// long-poll to wait on: from the gateway cache on a single server once
// known there (a deployment made since wakes the poll), else from the
// database.
func (s *Service) currentDeployment(ctx context.Context, instanceID string) (string, error) {
	if current, _, ok := s.gateways.currentOf(instanceID, time.Now()); ok {
		return current, nil
	}
	return s.readCurrentDeployment(ctx, instanceID)
}

// readCurrentDeployment reads the instance's current deployment id from
// the database, and has the cache learn it.
func (s *Service) readCurrentDeployment(ctx context.Context, instanceID string) (string, error) {
	_, ver, _ := s.gateways.currentOf(instanceID, time.Now())
	var current string
	err := s.store.View(ctx, func(tx driverhub.Tx) (err error) {
		current, err = tx.CurrentDeploymentOf(ctx, instanceID)
		return err
	})
	if err == nil {
		s.gateways.learnt(instanceID, current, ver)
	}
	return current, err
}

func (s *Service) fetchManifest(ctx context.Context, instanceID, deploymentID string) (*driverhub.Manifest, error) {
	if deploymentID == "" {
		return &driverhub.Manifest{Type: "none", Drivers: []driverhub.ManifestDriver{}}, nil
	}
	// A deployment made here is fetched from its copy, and is pending
	// unless superseded or closed since: the conditional start tells.
	m, fresh := s.fresh.take(instanceID, deploymentID)
	if !fresh {
		var d *driverhub.Deployment
		err := s.store.View(ctx, func(tx driverhub.Tx) error {
			var err error
			d, err = tx.DeploymentByID(ctx, instanceID, deploymentID)
			return err
		})
		if err != nil || d.Status != driverhub.DeployPending {
			return manifestOf(d), err
		}
		m = d.Manifest
	}
	_, err := s.startDeployment(ctx, instanceID, deploymentID)
	return m, err
}

func manifestOf(d *driverhub.Deployment) *driverhub.Manifest {
	if d == nil {
		return nil
	}
	return d.Manifest
}

// OpenGatewayBlob opens a package or config file that one of the calling
// gateway's deployments names, and nothing else.
func (s *Service) OpenGatewayBlob(ctx context.Context, sha string) (*driverhub.Download, error) {
	i, err := gatewayOf(ctx)
	if err != nil {
		return nil, err
	}
	if !driverhub.ValidSHA256(sha) {
		return nil, driverhub.NotFound("blob", sha)
	}
	var ok bool
	err = s.store.View(ctx, func(tx driverhub.Tx) error {
		ok, err = tx.InstanceCanFetchBlob(ctx, i.ID, sha)
		return err
	})
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, driverhub.NotFound("blob", sha)
	}
	return s.openBlob(ctx, sha, sha, time.Time{})
}

// Report records what the gateway says: its version, arch, built-in
// drivers, capabilities and runtime versions, its progress on a
// deployment, and its drivers' states (the whole list: see
// recordDriverStates). A report for a deployment that is finished
// (superseded, closed, timed out, …) changes nothing of it.
func (s *Service) Report(ctx context.Context, r driverhub.GatewayReport) error {
	i, err := gatewayOf(ctx)
	if err != nil {
		return err
	}
	if err := validateReport(&r); err != nil {
		return err
	}
	limitReport(&r)
	now := s.timestamp()
	var finished string
	var written *driverhub.Gateway
	// The gateway's row is written when its facts change, and its sync
	// time as often as a poll writes it (behind, with others, while the
	// gateway is online): a wave's thousands of reports each say only how
	// their deployment went. It is read only when the cached instance
	// says one of those is due; a replica's copy (a second old at most)
	// may miss a change made through another, which the first report
	// after the copy expires puts right.
	reported := i.Gateway
	reportGatewayFacts(&reported, &r)
	same, due := sameFacts(reported, i.Gateway), s.syncDue(i.Gateway.LastSeenAt, now)
	behind := same && due && s.syncBehind(i.Gateway.LastSeenAt, now)
	mayWrite := !same || (due && !behind)
	// Rows of its own only (its instance, deployment, bindings): the
	// fleet's reports must not fail for sharing index pages.
	err = s.store.UpdateRows(ctx, func(tx driverhub.Tx) (err error) {
		written = nil // the store may run fn again
		if mayWrite {
			if written, err = s.recordGateway(ctx, tx, i.ID, &r, now); err != nil {
				return err
			}
		}
		if r.Deployment != nil {
			if finished, err = s.applyDeploymentReport(ctx, tx, i.ID, r.Deployment, now); err != nil {
				return err
			}
		}
		if r.Drivers == nil {
			return nil // no list of drivers: their states stay as they were
		}
		return recordDriverStates(ctx, tx, i.ID, r.Drivers, now)
	})
	if err != nil {
		return err
	}
	// The cached instance keeps its identity and current deployment,
	// which a report does not change.
	if written != nil {
		s.gateways.reported(i.ID, *written)
	}
	if behind {
		s.noteSync(i.ID, now)
	}
	if finished != "" {
		s.followDeployments(ctx, finished) // rollout hook: a target finished, its wave may be decided
	}
	return nil
}

// recordGateway writes what the report says of the gateway when it
// differs from the stored facts or the sync time is due, and returns what
// it wrote (nil: nothing).
func (s *Service) recordGateway(ctx context.Context, tx driverhub.Tx, instanceID string, r *driverhub.GatewayReport, now time.Time) (*driverhub.Gateway, error) {
	fresh, err := tx.InstanceByID(ctx, instanceID)
	if err != nil {
		return nil, err
	}
	g := fresh.Gateway
	reportGatewayFacts(&g, r)
	if !s.syncDue(g.LastSeenAt, now) && sameFacts(g, fresh.Gateway) {
		return nil, nil
	}
	g.LastSeenAt = &now
	return &g, tx.UpdateGateway(ctx, instanceID, g)
}

// applyDeploymentReport records a gateway's progress on a deployment and
// returns its id when the report finished it.
func (s *Service) applyDeploymentReport(ctx context.Context, tx driverhub.Tx, instanceID string, r *driverhub.DeploymentReport, now time.Time) (string, error) {
	d, err := tx.DeploymentProgress(ctx, instanceID, r.ID)
	if errors.Is(err, driverhub.ErrNotFound) {
		return "", driverhub.NotFound("deployment", r.ID)
	} else if err != nil {
		return "", err
	}
	if d.Finished() {
		return "", nil
	}
	if d.StartedAt == nil {
		d.StartedAt = &now
	}
	d.Status = r.Status
	if r.Status == driverhub.DeploySucceeded || r.Status == driverhub.DeployFailed {
		d.FinishedAt = &now
		d.Reason = r.Reason
	}
	for _, rr := range r.Resources {
		idx := slices.IndexFunc(d.Resources, func(x driverhub.Resource) bool { return x.Type == rr.Type && x.Name == rr.Name })
		if idx < 0 {
			continue // not a resource of this deployment: nothing to record
		}
		res := &d.Resources[idx]
		res.Stage, res.Status = rr.Stage, rr.Status
		res.Log = keepResourceLog(res.Log, rr.Log)
	}
	keepDeploymentLog(d)
	if r.Status == driverhub.DeploySucceeded {
		// A gateway that says the whole deployment succeeded vouches for
		// every resource, reported one by one or not.
		for i := range d.Resources {
			res := &d.Resources[i]
			if res.Status == driverhub.DeployPending || res.Status == driverhub.DeployProcessing {
				res.Stage, res.Status = driverhub.StageFinish, driverhub.DeploySucceeded
			}
		}
	}
	if err := tx.UpdateDeployment(ctx, d); err != nil || !d.Finished() {
		return "", err
	}
	return d.ID, nil
}

// What a gateway may report of a deployment and of each of its resources;
// superseded and closed are the server's alone.
var (
	reportedDeployStatuses   = []driverhub.DeployStatus{driverhub.DeployProcessing, driverhub.DeploySucceeded, driverhub.DeployFailed}
	reportedResourceStatuses = []driverhub.DeployStatus{driverhub.DeployPending, driverhub.DeployProcessing, driverhub.DeploySucceeded, driverhub.DeployFailed}
)

func validateReport(r *driverhub.GatewayReport) error {
	if r.EdgeVersion != "" {
		if err := driverhub.ValidateEdgeVersion("edge_version", r.EdgeVersion); err != nil {
			return err
		}
	}
	if len(r.Arch) > driverhub.MaxGatewayArchBytes {
		return driverhub.Invalid("arch", "must be at most %d bytes", driverhub.MaxGatewayArchBytes)
	}
	if r.BuiltinDrivers != nil && len(*r.BuiltinDrivers) > driverhub.MaxBuiltinDrivers {
		return driverhub.Invalid("builtin_drivers", "must list at most %d drivers", driverhub.MaxBuiltinDrivers)
	}
	if d := r.Deployment; d != nil {
		if !slices.Contains(reportedDeployStatuses, d.Status) {
			return driverhub.Invalid("deployment.status", "must be one of %s", driverhub.Words(reportedDeployStatuses))
		}
		for k, res := range d.Resources {
			if !res.Type.Valid() {
				return driverhub.Invalid(fmt.Sprintf("deployment.resources[%d].type", k), "must be one of %s", driverhub.Words(driverhub.AllResourceTypes))
			}
			if !res.Stage.Valid() {
				return driverhub.Invalid(fmt.Sprintf("deployment.resources[%d].stage", k), "must be one of %s", driverhub.Words(driverhub.AllStages))
			}
			if !slices.Contains(reportedResourceStatuses, res.Status) {
				return driverhub.Invalid(fmt.Sprintf("deployment.resources[%d].status", k), "must be one of %s", driverhub.Words(reportedResourceStatuses))
			}
		}
	}
	if err := validateCapabilities(r); err != nil {
		return err
	}
	return validateDriverReports(r.Drivers)
}

// PostLogs appends a driver's output lines to its bounded ring. Lines
// longer than 8 KiB are cut, not refused: logs are never worth losing.
func (s *Service) PostLogs(ctx context.Context, driver string, lines []driverhub.LogLine) error {
	i, err := gatewayOf(ctx)
	if err != nil {
		return err
	}
	if len(lines) > driverhub.MaxLogLinesPerPost {
		return driverhub.Invalid("lines", "at most %d lines per request, got %d", driverhub.MaxLogLinesPerPost, len(lines))
	}
	now := s.timestamp()
	for k := range lines {
		l := &lines[k]
		if len(l.Text) > driverhub.MaxLogLineBytes {
			cut := driverhub.MaxLogLineBytes
			for cut > 0 && !utf8.RuneStart(l.Text[cut]) {
				cut--
			}
			l.Text = l.Text[:cut] + "…"
		}
		// NUL is no text: PostgreSQL refuses it, and no log reader wants it.
		l.Text = strings.ReplaceAll(l.Text, "\x00", "\uFFFD")
		if l.Time.IsZero() {
			l.Time = now
		}
		l.Time = l.Time.UTC().Truncate(time.Microsecond)
		if l.Stream == "" {
			l.Stream = "stdout"
		}
	}
	return s.store.Update(ctx, func(tx driverhub.Tx) error {
		b, err := tx.BindingByName(ctx, i.ID, driver)
		if err != nil {
			return notFound(err, "driver", driver)
		}
		return tx.AppendDriverLogs(ctx, b.ID, lines, driverhub.DriverLogRing)
	})
}
