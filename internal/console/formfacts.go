package console

import (
	"context"
	"slices"

	"github.com/driverhub/driverhub"
)

// otherEdgeVersion is the choice of the edge version list that asks for a
// version typed beside it.
const otherEdgeVersion = "other"

// formFacts is what the driver form shows beside its choices, from the
// tenant's gateways: the edge versions they run (the seed's 选择驱动适配的
// 边缘版本 is a choice among them) and the language runtimes they have.
type formFacts struct {
	EdgeVersions []edgeOption
	Runtimes     map[driverhub.Runtime][]string
}

// edgeOption is one edge version to choose, and who runs it.
type edgeOption struct {
	Version string
	Server  bool // this server's own release: its agents run it
	Fleet   bool // a gateway of the tenant reported it
}

// loadFormFacts fills what the form shows of the fleet and of its staged
// files. Not knowing them is no reason to refuse the form: the form then
// offers this server's version and shows the files by name.
func (c *Console) loadFormFacts(ctx context.Context, f *driverForm) {
	fleet, err := c.instances.EdgeVersions(ctx)
	if err != nil {
		c.log.Warn("console: edge versions of the gateways", "err", err)
	}
	f.Facts.EdgeVersions = edgeOptions(fleet, f.MinEdge)
	if f.Facts.Runtimes, err = c.instances.RuntimeVersions(ctx); err != nil {
		c.log.Warn("console: runtime versions of the gateways", "err", err)
	}
	for field, st := range f.Staged {
		if st != nil && f.Uploads[field] == nil {
			if u, err := c.drivers.GetUpload(ctx, st.ID); err == nil {
				f.Uploads[field] = u
			}
		}
	}
}

// edgeOptions are this server's version, the fleet's and the one chosen
// (when it is a valid version), newest first.
func edgeOptions(fleet []string, chosen string) []edgeOption {
	out := []edgeOption{{Version: driverhub.Version, Server: true}}
	add := func(v string, fromFleet bool) {
		for i := range out {
			if out[i].Version == v {
				out[i].Fleet = out[i].Fleet || fromFleet
				return
			}
		}
		out = append(out, edgeOption{Version: v, Fleet: fromFleet})
	}
	for _, v := range fleet {
		add(v, true)
	}
	if driverhub.ValidateEdgeVersion("", chosen) == nil {
		add(chosen, false)
	}
	slices.SortFunc(out, func(a, b edgeOption) int { return driverhub.CompareEdgeVersions(b.Version, a.Version) })
	return out
}

// MinEdgeOther tells whether the chosen edge version is not in the list
// (typed and refused, or left empty): the form shows it in the field for
// another version rather than seem to have chosen one.
func (f *driverForm) MinEdgeOther() bool {
	for _, o := range f.Facts.EdgeVersions {
		if o.Version == f.MinEdge {
			return false
		}
	}
	return true
}

// uploadView is a staged file as the form shows it: what it holds, so that
// the user confirms the file they meant.
type uploadView struct {
	Field    string
	ID, Name string
	Info     *driverhub.StagedUpload // nil when the services no longer hold it
	Entry    string                  // a package's entry file, which its check found
	Confirm  bool                    // uploaded by this submit: the user confirms it
}

// UploadOf is the staged file of a file field, or nil.
func (f *driverForm) UploadOf(field string) *uploadView {
	st := f.Staged[field]
	if st == nil {
		return nil
	}
	v := &uploadView{Field: field, ID: st.ID, Name: st.Name, Info: f.Uploads[field], Confirm: f.Confirm && field == "package"}
	if v.Info != nil && v.Info.Kind == driverhub.UploadPackage {
		v.Entry = v.Info.Runtime.EntryFile() // the staging check refuses a package without it
	}
	return v
}
