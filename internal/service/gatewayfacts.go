package service

import (
	"context"
	"slices"
	"strconv"
	"strings"

	"github.com/driverhub/driverhub"
)

// maxFleetScan bounds how many instances one summary of the fleet reads.
const maxFleetScan = 100_000

// EdgeVersions lists the distinct edge versions the caller's gateways
// reported, newest first: the versions a driver can be made for.
func (s *Service) EdgeVersions(ctx context.Context) ([]string, error) {
	instances, err := s.tenantGateways(ctx)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	out := []string{}
	for _, i := range instances {
		v := i.Gateway.EdgeVersion
		if v != "" && !seen[v] && driverhub.ValidateEdgeVersion("edge_version", v) == nil {
			seen[v] = true
			out = append(out, v)
		}
	}
	slices.SortFunc(out, func(a, b string) int { return driverhub.CompareEdgeVersions(b, a) })
	return out, nil
}

// RuntimeVersions lists, per language runtime, the distinct versions the
// caller's gateways found (python3 "3.11.2"…), newest first: what a driver
// of that language will run on.
func (s *Service) RuntimeVersions(ctx context.Context) (map[driverhub.Runtime][]string, error) {
	instances, err := s.tenantGateways(ctx)
	if err != nil {
		return nil, err
	}
	return runtimeVersionsOf(instances), nil
}

// runtimeVersionsOf gathers the gateways' runtime versions.
func runtimeVersionsOf(instances []*driverhub.Instance) map[driverhub.Runtime][]string {
	out := map[driverhub.Runtime][]string{}
	for _, i := range instances {
		for rt, v := range i.Gateway.RuntimeVersions {
			if v = strings.TrimSpace(v); v != "" && rt.Valid() && !slices.Contains(out[rt], v) {
				out[rt] = append(out[rt], v)
			}
		}
	}
	for _, vs := range out {
		slices.SortFunc(vs, func(a, b string) int { return compareLooseVersions(b, a) })
	}
	return out
}

// tenantGateways reads the caller's instances, every page.
func (s *Service) tenantGateways(ctx context.Context) ([]*driverhub.Instance, error) {
	p, err := authorize(ctx, driverhub.RoleViewer)
	if err != nil {
		return nil, err
	}
	var out []*driverhub.Instance
	err = s.store.View(ctx, func(tx driverhub.Tx) error {
		page := driverhub.Page{Limit: driverhub.MaxPageLimit}
		for len(out) < maxFleetScan {
			l, err := tx.ListInstances(ctx, p.TenantID, page)
			if err != nil {
				return err
			}
			out = append(out, l.Items...)
			if l.NextCursor == "" {
				return nil
			}
			page.Cursor = l.NextCursor
		}
		return nil
	})
	return out, err
}

// compareLooseVersions orders versions as runtimes print them ("3.9.2",
// "3.11.2", "17.0.9+9", "v18.19.0"): number by number, then as text.
func compareLooseVersions(a, b string) int {
	na, nb := versionNumbers(a), versionNumbers(b)
	if c := slices.Compare(na, nb); c != 0 {
		return c
	}
	return strings.Compare(a, b)
}

// versionNumbers are the runs of digits in v, in order.
func versionNumbers(v string) []int {
	var out []int
	for _, f := range strings.FieldsFunc(v, func(r rune) bool { return r < '0' || r > '9' }) {
		n, err := strconv.Atoi(f)
		if err != nil {
			n = int(^uint(0) >> 1)
		}
		out = append(out, n)
	}
	return out
}
