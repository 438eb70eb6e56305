package service

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/driverhub/driverhub"
)

// CreateDeployment deploys an instance's bindings, configs and devices as
// they are now (deploy), or empties its gateway (reset). Every problem is
// reported at once (422). A new deployment supersedes any unfinished one,
// so nothing stays stuck behind an old deployment.
func (s *Service) CreateDeployment(ctx context.Context, instance string, typ driverhub.DeployType) (*driverhub.Deployment, error) {
	p, err := authorize(ctx, driverhub.RoleDeveloper)
	if err != nil {
		return nil, err
	}
	if typ == "" {
		typ = driverhub.DeployTypeDeploy
	}
	if typ != driverhub.DeployTypeDeploy && typ != driverhub.DeployTypeReset {
		return nil, driverhub.Invalid("type", "must be %s or %s", driverhub.DeployTypeDeploy, driverhub.DeployTypeReset)
	}
	var d *driverhub.Deployment
	var replaced []string
	err = s.store.Update(ctx, func(tx driverhub.Tx) error {
		i, err := instanceByName(ctx, tx, p, instance)
		if err != nil {
			return err
		}
		d, replaced, err = s.deployInTx(ctx, tx, p, i, typ)
		return err
	})
	if err != nil {
		return nil, err
	}
	s.deployed(ctx, d)
	s.followDeployments(ctx, replaced...) // rollout hook: a target superseded
	return d, nil
}

// deployInTx makes a deployment of instance i in tx. It is the one path
// of every deployment, a user's and a rollout's alike: the same snapshot
// and checks, the same supersede. It also returns the deployments it
// superseded, for their rollouts to follow once tx commits.
func (s *Service) deployInTx(ctx context.Context, tx driverhub.Tx, p *driverhub.Principal, i *driverhub.Instance, typ driverhub.DeployType) (*driverhub.Deployment, []string, error) {
	now := s.timestamp()
	d := &driverhub.Deployment{ID: driverhub.NewID(), InstanceID: i.ID, Instance: i.Name, Type: typ,
		Status: driverhub.DeployPending, CreatedAt: now, Resources: []driverhub.Resource{}}
	d.Manifest = &driverhub.Manifest{DeploymentID: d.ID, Type: typ, Drivers: []driverhub.ManifestDriver{}}
	if typ == driverhub.DeployTypeDeploy {
		if err := s.snapshot(ctx, tx, p, i, d); err != nil {
			return nil, nil, err
		}
	}
	unfinished, err := tx.UnfinishedDeployments(ctx, i.ID)
	if err != nil {
		return nil, nil, err
	}
	var replaced []string
	for _, old := range unfinished {
		old.Status, old.FinishedAt = driverhub.DeploySuperseded, &now
		old.Reason = "superseded by deployment " + d.ID
		if err := tx.UpdateDeployment(ctx, old); err != nil {
			return nil, nil, err
		}
		replaced = append(replaced, old.ID)
	}
	if err := tx.CreateDeployment(ctx, d); err != nil {
		return nil, nil, err
	}
	i.CurrentDeploymentID = d.ID
	i.UpdatedAt = now
	return d, replaced, tx.UpdateInstance(ctx, i)
}

// deployed wakes the gateways of new deployments once committed, with
// each manifest at hand for its fetch: a rollout batch's in one
// notification round trip.
func (s *Service) deployed(ctx context.Context, ds ...*driverhub.Deployment) {
	if len(ds) == 0 {
		return
	}
	ids := make([]string, len(ds))
	for k, d := range ds {
		s.fresh.put(d)
		s.gateways.redeployed(d.InstanceID, "")
		ids[k] = d.InstanceID
	}
	s.wakeGateways(ctx, ids)
}

// wakeGateways wakes the long-polls of the instances, on every replica.
func (s *Service) wakeGateways(ctx context.Context, ids []string) {
	if err := s.notifier.Notify(ctx, ids...); err != nil {
		// The gateways still find their deployments at their next poll.
		s.log.Warn("notify gateways", "instances", len(ids), "first", ids[0], "err", err)
	}
}

// snapshot checks every binding of the instance and freezes the manifest
// the gateway will fetch. Package digests are pinned: a later edit of a
// draft never changes what this deployment delivers.
func (s *Service) snapshot(ctx context.Context, tx driverhub.Tx, p *driverhub.Principal, i *driverhub.Instance, d *driverhub.Deployment) error {
	bindings, err := tx.ListBindings(ctx, i.ID)
	if err != nil {
		return err
	}
	var problems []driverhub.Problem
	problem := func(resource string, code driverhub.ProblemCode, format string, args ...any) {
		problems = append(problems, driverhub.NewProblem(resource, code, format, args...))
	}
	sig, err := signaturePolicy(ctx, tx, p.TenantID, s.timestamp())
	if err != nil {
		return err
	}
	for _, b := range bindings {
		res := label(driverhub.ResourceDriver, b.Driver)
		drv, err := tx.DriverByID(ctx, b.DriverID)
		if err != nil {
			return fmt.Errorf("binding %s: %w", b.Driver, err)
		}
		if b.PublisherID != p.TenantID {
			if _, err := tx.AcquisitionOf(ctx, p.TenantID, drv.ID); errors.Is(err, driverhub.ErrNotFound) {
				problem(res, driverhub.ProblemAcquisitionMissing, "driver %s/%s is no longer among your acquisitions", b.Publisher, b.Driver)
				continue
			} else if err != nil {
				return err
			}
		}
		v, err := tx.VersionByName(ctx, drv.ID, b.Version)
		if errors.Is(err, driverhub.ErrNotFound) || (err == nil && b.PublisherID != p.TenantID && !v.Published()) {
			problem(res, driverhub.ProblemVersionMissing, "version %s of %s no longer exists: bind another version", b.Version, b.Driver)
			continue
		} else if err != nil {
			return err
		}
		devices, err := tx.DevicesOfBinding(ctx, b.ID)
		if err != nil {
			return err
		}
		if !drv.Builtin && v.Package == nil {
			problem(res, driverhub.ProblemPackageMissing, "version %s of %s has no package: upload it first", v.Version, b.Driver)
		}
		if v.ConfigChecks.DriverConfigRequired && b.Config == nil {
			problem(label(driverhub.ResourceDriverConfig, b.Driver), driverhub.ProblemDriverConfigMissing, "version %s of %s requires an instance driver config: set one for this instance", v.Version, b.Driver)
		}
		if v.ConfigChecks.DeviceConfigRequired {
			for _, dev := range devices {
				if dev.Config == nil {
					problem(label(driverhub.ResourceDeviceConfig, dev.Product+"/"+dev.Name), driverhub.ProblemDeviceConfigMissing, "driver %s requires a device config for every device: device %s/%s has none", b.Driver, dev.Product, dev.Name)
				}
			}
		}
		checkGateway(problem, &i.Gateway, drv, v)
		checkSignature(problem, sig, b.Publisher, drv, v)
		d.Manifest.Drivers = append(d.Manifest.Drivers, manifestDriver(drv, v, b, devices))
		d.Resources = append(d.Resources, resourcesOf(b, devices)...)
	}
	if len(problems) > 0 {
		e := driverhub.Errorf(driverhub.EFailedPrecondition, "instance %s cannot be deployed: %d problems", i.Name, len(problems))
		if len(problems) == 1 {
			e = driverhub.Errorf(driverhub.EFailedPrecondition, "instance %s cannot be deployed: 1 problem", i.Name)
		}
		e.Problems = problems
		return e
	}
	return nil
}

// problemf records a problem of a resource.
type problemf func(resource string, code driverhub.ProblemCode, format string, args ...any)

// checkGateway records the problems of version v of drv on the gateway g,
// as far as g has told what it is: its edge version, arch, built-ins and
// what it can enforce of the container settings. Deployments check each
// binding with it; a rollout checks each gateway of a wave alike.
func checkGateway(problem problemf, g *driverhub.Gateway, drv *driverhub.Driver, v *driverhub.DriverVersion) {
	res := label(driverhub.ResourceDriver, drv.Name)
	if g.EdgeVersion != "" && driverhub.CompareEdgeVersions(g.EdgeVersion, v.MinEdgeVersion) < 0 {
		problem(res, driverhub.ProblemEdgeVersionTooOld, "version %s of %s needs edge version %s or later; the gateway runs %s", v.Version, drv.Name, v.MinEdgeVersion, g.EdgeVersion)
	}
	if drv.Runtime.NeedsCPUArch() && g.Arch != "" && drv.CPUArch != g.Arch {
		problem(res, driverhub.ProblemArchMismatch, "driver %s is built for %s; the gateway is %s", drv.Name, drv.CPUArch, g.Arch)
	}
	if drv.Builtin && g.BuiltinsReported && !slices.Contains(g.BuiltinDrivers, drv.Name) {
		problem(res, driverhub.ProblemBuiltinMissing, "built-in driver %s is not installed on the gateway (it reported %v)", drv.Name, g.BuiltinDrivers)
	}
	isolationProblem(problem, res, g, drv.Name, v)
}

// manifestDriver is one driver as the gateway receives it.
func manifestDriver(drv *driverhub.Driver, v *driverhub.DriverVersion, b *driverhub.Binding, devices []*driverhub.Device) driverhub.ManifestDriver {
	m := driverhub.ManifestDriver{ID: drv.ID, Name: drv.Name, Publisher: b.Publisher, Version: v.Version, Runtime: drv.Runtime,
		CPUArch: drv.CPUArch, Builtin: drv.Builtin, JVMArgs: v.JVMArgs, MinEdge: v.MinEdgeVersion, Container: v.Container}
	if v.Package != nil {
		m.Package = &driverhub.BlobLink{SHA256: v.Package.SHA256, Size: v.Package.Size, URL: blobURL(v.Package.SHA256)}
	}
	m.RuntimeConfig.DeviceList = []driverhub.RuntimeDevice{}
	for _, dev := range devices {
		custom := "{}"
		if dev.Config != nil {
			custom = string(dev.Config)
		}
		m.RuntimeConfig.DeviceList = append(m.RuntimeConfig.DeviceList, driverhub.RuntimeDevice{ProductKey: dev.Product, DeviceName: dev.Name, Custom: custom})
	}
	cfg := b.Config
	if cfg == nil {
		cfg = v.DriverConfig
	}
	switch {
	case cfg == nil:
		m.RuntimeConfig.Config.KV = []driverhub.KVPair{}
	case cfg.Format == driverhub.ConfigKV:
		m.RuntimeConfig.Config.KV = append([]driverhub.KVPair{}, cfg.KV...)
	case cfg.Format == driverhub.ConfigJSON:
		m.RuntimeConfig.Config.JSON = cfg.JSON
	case cfg.Format == driverhub.ConfigFile:
		m.RuntimeConfig.Config.FileList = []driverhub.RuntimeFile{{Path: cfg.File.Name}}
		m.ConfigFile = &driverhub.BlobLink{Name: cfg.File.Name, SHA256: cfg.File.SHA256, Size: cfg.File.Size, URL: blobURL(cfg.File.SHA256)}
	}
	return m
}

func blobURL(sha string) string { return "/api/v1/gateway/blobs/" + sha }

// resourcesOf lists what the gateway reports progress on for a binding.
func resourcesOf(b *driverhub.Binding, devices []*driverhub.Device) []driverhub.Resource {
	res := []driverhub.Resource{newResource(driverhub.ResourceDriver, b.Driver), newResource(driverhub.ResourceDriverConfig, b.Driver)}
	for _, dev := range devices {
		res = append(res, newResource(driverhub.ResourceDeviceConfig, dev.Product+"/"+dev.Name))
	}
	return res
}

// label names a deployment resource in a problem: "driver_config modbus".
func label(t driverhub.ResourceType, name string) string { return string(t) + " " + name }

func newResource(typ driverhub.ResourceType, name string) driverhub.Resource {
	return driverhub.Resource{Type: typ, Name: name, Stage: driverhub.StageInit, Status: driverhub.DeployPending, Log: []driverhub.LogEntry{}}
}

// GetDeployment returns one of an instance's deployments.
func (s *Service) GetDeployment(ctx context.Context, instance, id string) (*driverhub.Deployment, error) {
	p, err := authorize(ctx, driverhub.RoleViewer)
	if err != nil {
		return nil, err
	}
	var d *driverhub.Deployment
	err = s.store.View(ctx, func(tx driverhub.Tx) error {
		i, err := instanceByName(ctx, tx, p, instance)
		if err != nil {
			return err
		}
		d, err = tx.DeploymentByID(ctx, i.ID, id)
		return notFound(err, "deployment", id)
	})
	return d, err
}

// ListDeployments lists an instance's deployments, newest first.
func (s *Service) ListDeployments(ctx context.Context, instance string, page driverhub.Page) (driverhub.List[*driverhub.Deployment], error) {
	var out driverhub.List[*driverhub.Deployment]
	p, err := authorize(ctx, driverhub.RoleViewer)
	if err != nil {
		return out, err
	}
	err = s.store.View(ctx, func(tx driverhub.Tx) error {
		i, err := instanceByName(ctx, tx, p, instance)
		if err != nil {
			return err
		}
		out, err = tx.ListDeployments(ctx, i.ID, page)
		return err
	})
	return out, err
}

// CloseDeployment stops tracking an unfinished deployment: it becomes
// closed and later reports for it change nothing. What the gateway runs
// changes only with a new deployment (or a reset).
func (s *Service) CloseDeployment(ctx context.Context, instance, id string) (*driverhub.Deployment, error) {
	p, err := authorize(ctx, driverhub.RoleDeveloper)
	if err != nil {
		return nil, err
	}
	var d *driverhub.Deployment
	err = s.store.Update(ctx, func(tx driverhub.Tx) error {
		i, err := instanceByName(ctx, tx, p, instance)
		if err != nil {
			return err
		}
		if d, err = tx.DeploymentProgress(ctx, i.ID, id); err != nil {
			return notFound(err, "deployment", id)
		}
		if d.Finished() {
			return driverhub.Errorf(driverhub.EConflict, "deployment %s is %s already", id, d.Status)
		}
		now := s.timestamp()
		d.Status, d.FinishedAt, d.Reason = driverhub.DeployClosed, &now, "closed by "+p.Username
		return tx.UpdateDeployment(ctx, d)
	})
	if err == nil {
		s.followDeployments(ctx, d.ID) // rollout hook: a target superseded
	}
	return d, err
}

// FailStaleDeployments fails every deployment that has been processing for
// longer than timeout without a final report. Replicas may all call it: the
// store fails each deployment once.
func (s *Service) FailStaleDeployments(ctx context.Context, timeout time.Duration) (int, error) {
	var ids []string
	err := s.store.Update(ctx, func(tx driverhub.Tx) error {
		now := s.timestamp()
		var err error
		ids, err = tx.FailStaleDeployments(ctx, now.Add(-timeout), now,
			fmt.Sprintf("no final report from the gateway within the deploy timeout (%s)", timeout))
		return err
	})
	if len(ids) > 0 {
		s.log.Warn("deployments timed out", "count", len(ids), "timeout", timeout)
		s.followInstances(ctx, ids) // rollout hook: targets failed
	}
	return len(ids), err
}

// RunDeployTimeouts fails stale deployments every interval until ctx ends.
func (s *Service) RunDeployTimeouts(ctx context.Context, timeout, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if _, err := s.FailStaleDeployments(ctx, timeout); err != nil && ctx.Err() == nil {
				s.log.Error("deploy timeouts", "err", err)
			}
		}
	}
}
