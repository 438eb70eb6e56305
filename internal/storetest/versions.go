package storetest

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/driverhub/driverhub"
	"github.com/google/go-cmp/cmp"
)

// getVersion reads a version back by its driver and name.
func getVersion(t testing.TB, s driverhub.Store, driverID, version string) *driverhub.DriverVersion {
	t.Helper()
	return fetch(t, s, func(ctx context.Context, tx driverhub.Tx) (*driverhub.DriverVersion, error) {
		return tx.VersionByName(ctx, driverID, version)
	})
}

// versionConfigs are the configs and containers the versions of
// testVersions hold.
type versionConfigs struct {
	kv, jsonCfg, fileCfg *driverhub.DriverConfig
	mappings, privileged driverhub.Container
}

func newVersionConfigs() *versionConfigs {
	kv := &driverhub.DriverConfig{Format: driverhub.ConfigKV, KV: []driverhub.KVPair{
		{Key: "host", Value: "10.0.0.1", Note: "PLC address"},
		{Key: "端口", Value: "502"},
		{Key: "empty", Value: ""},
	}}
	jsonCfg := &driverhub.DriverConfig{Format: driverhub.ConfigJSON,
		JSON: json.RawMessage(`{"host":"10.0.0.1","ports":[502,503],"nested":{"z":null,"a":"é"}}`)}
	fileCfg := &driverhub.DriverConfig{Format: driverhub.ConfigFile,
		File: &driverhub.ConfigFileRef{Name: "config.yaml", Size: 2048, SHA256: digest()}}
	mappings := driverhub.Container{
		HostNetwork: false,
		PortMappings: []driverhub.PortMapping{
			{HostPort: 8080, ContainerPort: 80, Protocol: "tcp"},
			{HostPort: 5020, ContainerPort: 502, Protocol: "udp"},
		},
		DeviceMappings: []driverhub.DeviceMapping{{HostPath: "/dev/ttyUSB0", Permission: "rw", Comment: "RS-485 adapter"}},
		VolumeMappings: []driverhub.VolumeMapping{
			{HostPath: "/var/lib/driver", ContainerPath: "/data", Permission: "rw"},
			{HostPath: "/etc/ssl", ContainerPath: "/certs", Permission: "ro"},
		},
		MemoryLimitMB: 256,
	}
	privileged := driverhub.DefaultContainer()
	privileged.Privileged, privileged.MemoryLimitMB = true, driverhub.MaxMemoryLimitMB
	return &versionConfigs{kv: kv, jsonCfg: jsonCfg, fileCfg: fileCfg, mappings: mappings, privileged: privileged}
}

func testVersions(t *testing.T, s driverhub.Store) {
	tn := newTenant("acme")
	d, other, java := newDriver(tn, "modbus"), newDriver(tn, "opcua"), newDriver(tn, "javaTool")
	java.Runtime = driverhub.RuntimeJava
	create(t, s, tn, d, other, java)
	c := newVersionConfigs()

	for _, tc := range []struct {
		name    string
		version *driverhub.DriverVersion
	}{
		{"minimal draft", newVersion(d, "1.0.0")},
		{"package", with(newVersion(d, "1.1.0"), func(v *driverhub.DriverVersion) {
			v.Package = &driverhub.PackageRef{Filename: "modbus-1.1.0.tar.gz", Size: 12345, SHA256: digest()}
		})},
		{"kv config", with(newVersion(d, "1.2.0"), func(v *driverhub.DriverVersion) { v.DriverConfig = c.kv })},
		{"json config", with(newVersion(d, "1.3.0"), func(v *driverhub.DriverVersion) { v.DriverConfig = c.jsonCfg })},
		{"file config", with(newVersion(d, "1.4.0"), func(v *driverhub.DriverVersion) { v.DriverConfig = c.fileCfg })},
		{"container with mappings", with(newVersion(d, "1.5.0"), func(v *driverhub.DriverVersion) { v.Container = c.mappings })},
		{"privileged container", with(newVersion(d, "1.6.0"), func(v *driverhub.DriverVersion) { v.Container = c.privileged })},
		{"config checks", with(newVersion(d, "1.7.0"), func(v *driverhub.DriverVersion) {
			v.ConfigChecks = driverhub.ConfigChecks{DriverConfigRequired: true, DeviceConfigRequired: true}
		})},
		{"device config check only", with(newVersion(d, "1.7.1"), func(v *driverhub.DriverVersion) {
			v.ConfigChecks.DeviceConfigRequired = true
		})},
		{"jvm args", with(newVersion(java, "1.0.0"), func(v *driverhub.DriverVersion) {
			v.JVMArgs = "-Xmx256m -Dfile.encoding=UTF-8"
		})},
		{"published", publish(newVersion(d, "2.0.0"), now().Add(-time.Minute))},
		{"unicode version and description", with(newVersion(d, "版本-1.0_β"), func(v *driverhub.DriverVersion) {
			v.Description, v.MinEdgeVersion = "第一版 — «first»", "10.20.30"
		})},
		{"everything", with(publish(newVersion(d, "3.0.0"), now()), func(v *driverhub.DriverVersion) {
			v.MinEdgeVersion = "2.3.4"
			v.Description = "all fields set"
			v.Package = &driverhub.PackageRef{Filename: "modbus.zip", Size: driverhub.MaxPackageBytes, SHA256: digest()}
			v.DriverConfig = c.kv
			v.Container = c.mappings
			v.ConfigChecks = driverhub.ConfigChecks{DriverConfigRequired: true}
			v.UpdatedAt = v.CreatedAt.Add(time.Second)
		})},
		{"same version of another driver", newVersion(other, "1.0.0")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := tc.version
			create(t, s, want)
			got := getVersion(t, s, want.DriverID, want.Version)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("VersionByName(%q) (-want +got):\n%s", want.Version, diff)
			}
		})
	}

	t.Run("UpdateVersion", func(t *testing.T) { checkUpdateVersion(t, s, d, c) })
	t.Run("DeleteVersion", func(t *testing.T) { checkDeleteVersion(t, s, d) })
}

// checkUpdateVersion publishes a draft with every field changed, then takes
// it back to a draft without package nor config, next to a version that
// stays as it was.
func checkUpdateVersion(t *testing.T, s driverhub.Store, d *driverhub.Driver, c *versionConfigs) {
	v, bystander := newVersion(d, "4.0.0"), newVersion(d, "4.0.1")
	v.Package = &driverhub.PackageRef{Filename: "a.tar.gz", Size: 10, SHA256: digest()}
	v.DriverConfig = c.kv
	create(t, s, v, bystander)

	want := *v
	want.MinEdgeVersion = "1.2.3"
	want.Description = "changed"
	want.Package = &driverhub.PackageRef{Filename: "b.tar.gz", Size: 20, SHA256: digest()}
	want.DriverConfig = c.fileCfg
	want.Container = c.mappings
	want.ConfigChecks = driverhub.ConfigChecks{DriverConfigRequired: true, DeviceConfigRequired: true}
	want.UpdatedAt = v.UpdatedAt.Add(time.Hour)
	publish(&want, want.UpdatedAt)
	update(t, s, func(ctx context.Context, tx driverhub.Tx) error { return tx.UpdateVersion(ctx, &want) })
	if diff := cmp.Diff(&want, getVersion(t, s, d.ID, v.Version)); diff != "" {
		t.Errorf("after UpdateVersion (-want +got):\n%s", diff)
	}

	// Back to a draft without package nor config.
	want.Package, want.DriverConfig, want.PublishedAt = nil, nil, nil
	want.Status = driverhub.StatusDraft
	want.Container = driverhub.DefaultContainer()
	update(t, s, func(ctx context.Context, tx driverhub.Tx) error { return tx.UpdateVersion(ctx, &want) })
	if diff := cmp.Diff(&want, getVersion(t, s, d.ID, v.Version)); diff != "" {
		t.Errorf("after UpdateVersion clearing fields (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(bystander, getVersion(t, s, d.ID, bystander.Version)); diff != "" {
		t.Errorf("another version changed by UpdateVersion (-want +got):\n%s", diff)
	}
}

// checkDeleteVersion deletes a version, twice, next to one that stays.
func checkDeleteVersion(t *testing.T, s driverhub.Store, d *driverhub.Driver) {
	v, bystander := newVersion(d, "5.0.0"), newVersion(d, "5.0.1")
	create(t, s, v, bystander)
	update(t, s, func(ctx context.Context, tx driverhub.Tx) error { return tx.DeleteVersion(ctx, v.ID) })
	wantIs(t, "VersionByName after DeleteVersion", viewErr(t, s, func(ctx context.Context, tx driverhub.Tx) error {
		_, err := tx.VersionByName(ctx, d.ID, v.Version)
		return err
	}), driverhub.ErrNotFound)
	wantIs(t, "DeleteVersion twice", updateErr(t, s, func(ctx context.Context, tx driverhub.Tx) error {
		return tx.DeleteVersion(ctx, v.ID)
	}), driverhub.ErrNotFound)
	if diff := cmp.Diff(bystander, getVersion(t, s, d.ID, bystander.Version)); diff != "" {
		t.Errorf("another version changed by DeleteVersion (-want +got):\n%s", diff)
	}
	// The name is free again.
	create(t, s, newVersion(d, v.Version))
}

func testListVersions(t *testing.T, s driverhub.Store) {
	tn := newTenant("acme")
	d, other, empty := newDriver(tn, "modbus"), newDriver(tn, "opcua"), newDriver(tn, "empty")
	base := now().Add(-time.Hour)
	v1 := publish(newVersion(d, "1.0.0"), base)
	v2 := newVersion(d, "1.1.0-rc1")
	v3 := publish(newVersion(d, "1.1.0"), base.Add(time.Minute))
	v4 := newVersion(d, "1.2.0-rc1")
	create(t, s, tn, d, other, empty, v1, newVersion(other, "1.0.0"), v2, v3, publish(newVersion(other, "9.0.0"), base), v4)

	for _, tc := range []struct {
		name     string
		driverID string
		status   string
		want     []*driverhub.DriverVersion
	}{
		{"all", d.ID, "", []*driverhub.DriverVersion{v4, v3, v2, v1}},
		{"published", d.ID, driverhub.StatusPublished, []*driverhub.DriverVersion{v3, v1}},
		{"draft", d.ID, driverhub.StatusDraft, []*driverhub.DriverVersion{v4, v2}},
		{"unknown status", d.ID, "archived", []*driverhub.DriverVersion{}},
		{"driver without versions", empty.ID, "", []*driverhub.DriverVersion{}},
		{"unknown driver", driverhub.NewID(), "", []*driverhub.DriverVersion{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, limit := range []int{0, 1} {
				pages := pageAll(t, limit, func(p driverhub.Page) (driverhub.List[*driverhub.DriverVersion], error) {
					var l driverhub.List[*driverhub.DriverVersion]
					err := viewErr(t, s, func(ctx context.Context, tx driverhub.Tx) error {
						var err error
						l, err = tx.ListVersions(ctx, tc.driverID, tc.status, p)
						return err
					})
					return l, err
				})
				if diff := cmp.Diff(tc.want, flatten(pages)); diff != "" {
					t.Errorf("ListVersions(status %q), limit %d (-want +got):\n%s", tc.status, limit, diff)
				}
			}
		})
	}
}

func testLatestPublished(t *testing.T, newStore func(testing.TB) driverhub.Store) {
	base := now().Add(-24 * time.Hour)
	at := func(h int) time.Time { return base.Add(time.Duration(h) * time.Hour) }
	for _, tc := range []struct {
		name string
		// versions returns the versions to create, in order, and the one
		// LatestPublished(d) returns (nil: not found).
		versions func(d, other *driverhub.Driver) (create []*driverhub.DriverVersion, want *driverhub.DriverVersion)
	}{
		{"no versions", func(d, other *driverhub.Driver) ([]*driverhub.DriverVersion, *driverhub.DriverVersion) {
			return nil, nil
		}},
		{"drafts only", func(d, other *driverhub.Driver) ([]*driverhub.DriverVersion, *driverhub.DriverVersion) {
			return []*driverhub.DriverVersion{newVersion(d, "1"), newVersion(d, "2"),
				publish(newVersion(other, "1"), at(1))}, nil
		}},
		{"one published", func(d, other *driverhub.Driver) ([]*driverhub.DriverVersion, *driverhub.DriverVersion) {
			v := publish(newVersion(d, "1"), at(1))
			return []*driverhub.DriverVersion{v, newVersion(d, "2")}, v
		}},
		{"later publication wins", func(d, other *driverhub.Driver) ([]*driverhub.DriverVersion, *driverhub.DriverVersion) {
			v := publish(newVersion(d, "2"), at(3))
			return []*driverhub.DriverVersion{publish(newVersion(d, "1"), at(1)), v}, v
		}},
		{"by publication, not creation", func(d, other *driverhub.Driver) ([]*driverhub.DriverVersion, *driverhub.DriverVersion) {
			v := publish(newVersion(d, "1"), at(5))
			return []*driverhub.DriverVersion{v, publish(newVersion(d, "2"), at(2)), newVersion(d, "3")}, v
		}},
		{"by publication, not version name", func(d, other *driverhub.Driver) ([]*driverhub.DriverVersion, *driverhub.DriverVersion) {
			v := publish(newVersion(d, "1.0.0"), at(2))
			return []*driverhub.DriverVersion{publish(newVersion(d, "9.0.0"), at(1)), v}, v
		}},
		{"other driver ignored", func(d, other *driverhub.Driver) ([]*driverhub.DriverVersion, *driverhub.DriverVersion) {
			v := publish(newVersion(d, "1"), at(1))
			return []*driverhub.DriverVersion{v, publish(newVersion(other, "2"), at(9))}, v
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := newStore(t)
			tn := newTenant("acme")
			d, other := newDriver(tn, "modbus"), newDriver(tn, "opcua")
			versions, want := tc.versions(d, other)
			items := []any{tn, d, other}
			for _, v := range versions {
				items = append(items, v)
			}
			create(t, s, items...)
			var got *driverhub.DriverVersion
			err := viewErr(t, s, func(ctx context.Context, tx driverhub.Tx) error {
				var err error
				got, err = tx.LatestPublished(ctx, d.ID)
				return err
			})
			if want == nil {
				wantIs(t, "LatestPublished", err, driverhub.ErrNotFound)
				return
			}
			if err != nil {
				t.Fatalf("LatestPublished: %v", err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("LatestPublished (-want +got):\n%s", diff)
			}
		})
	}
}

func testCountVersions(t *testing.T, s driverhub.Store) {
	tn := newTenant("acme")
	d, other, empty := newDriver(tn, "modbus"), newDriver(tn, "opcua"), newDriver(tn, "empty")
	draft := newVersion(d, "0.3")
	create(t, s, tn, d, other, empty,
		publish(newVersion(d, "1.0"), now()), newVersion(d, "0.1"), publish(newVersion(d, "1.1"), now()),
		newVersion(d, "0.2"), draft, publish(newVersion(other, "1.0"), now()))

	count := func(t *testing.T, driverID, status string) int {
		t.Helper()
		return fetch(t, s, func(ctx context.Context, tx driverhub.Tx) (int, error) {
			return tx.CountVersions(ctx, driverID, status)
		})
	}
	for _, tc := range []struct {
		name     string
		driverID string
		status   string
		want     int
	}{
		{"all", d.ID, "", 5},
		{"published", d.ID, driverhub.StatusPublished, 2},
		{"draft", d.ID, driverhub.StatusDraft, 3},
		{"other driver", other.ID, "", 1},
		{"other driver drafts", other.ID, driverhub.StatusDraft, 0},
		{"no versions", empty.ID, "", 0},
		{"unknown driver", driverhub.NewID(), "", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := count(t, tc.driverID, tc.status); got != tc.want {
				t.Errorf("CountVersions(status %q) = %d, want %d", tc.status, got, tc.want)
			}
		})
	}
	t.Run("after delete", func(t *testing.T) {
		update(t, s, func(ctx context.Context, tx driverhub.Tx) error { return tx.DeleteVersion(ctx, draft.ID) })
		if got := count(t, d.ID, driverhub.StatusDraft); got != 2 {
			t.Errorf("CountVersions(draft) = %d, want 2", got)
		}
	})
}

func testBlobReferenced(t *testing.T, s driverhub.Store) {
	tn, other := newTenant("acme"), newTenant("globex")
	d, od := newDriver(tn, "modbus"), newDriver(other, "modbus")
	pkg, shared, file, unused := digest(), digest(), digest(), digest()
	withPkg := newVersion(d, "1.0")
	withPkg.Package = &driverhub.PackageRef{Filename: "p.tar.gz", Size: 1, SHA256: pkg}
	withFile := newVersion(d, "1.1")
	withFile.DriverConfig = &driverhub.DriverConfig{Format: driverhub.ConfigFile,
		File: &driverhub.ConfigFileRef{Name: "c.ini", Size: 1, SHA256: file}}
	sharedA := newVersion(d, "1.2")
	sharedA.Package = &driverhub.PackageRef{Filename: "s.tar.gz", Size: 1, SHA256: shared}
	sharedB := newVersion(od, "1.0") // another tenant holds the same bytes
	sharedB.Package = &driverhub.PackageRef{Filename: "s.tar.gz", Size: 1, SHA256: shared}
	kv := newVersion(d, "1.3")
	kv.DriverConfig = &driverhub.DriverConfig{Format: driverhub.ConfigKV, KV: []driverhub.KVPair{{Key: unused, Value: unused}}}
	create(t, s, tn, other, d, od, withPkg, withFile, sharedA, sharedB, kv)

	check := func(t *testing.T, sha string, want bool) {
		t.Helper()
		got := fetch(t, s, func(ctx context.Context, tx driverhub.Tx) (bool, error) { return tx.BlobReferenced(ctx, sha) })
		if got != want {
			t.Errorf("BlobReferenced(%s) = %v, want %v", sha, got, want)
		}
	}
	for _, tc := range []struct {
		name   string
		digest string
		want   bool
	}{
		{"package", pkg, true},
		{"config file", file, true},
		{"package of two tenants", shared, true},
		{"unreferenced", unused, false},
		{"empty", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) { check(t, tc.digest, tc.want) })
	}

	t.Run("after UpdateVersion drops the package", func(t *testing.T) {
		withPkg.Package = nil
		update(t, s, func(ctx context.Context, tx driverhub.Tx) error { return tx.UpdateVersion(ctx, withPkg) })
		check(t, pkg, false)
	})
	t.Run("after UpdateVersion drops the config file", func(t *testing.T) {
		withFile.DriverConfig = &driverhub.DriverConfig{Format: driverhub.ConfigJSON, JSON: json.RawMessage(`{}`)}
		update(t, s, func(ctx context.Context, tx driverhub.Tx) error { return tx.UpdateVersion(ctx, withFile) })
		check(t, file, false)
	})
	t.Run("after UpdateVersion adds a config file", func(t *testing.T) {
		kv.DriverConfig = &driverhub.DriverConfig{Format: driverhub.ConfigFile,
			File: &driverhub.ConfigFileRef{Name: "c.ini", Size: 1, SHA256: unused}}
		update(t, s, func(ctx context.Context, tx driverhub.Tx) error { return tx.UpdateVersion(ctx, kv) })
		check(t, unused, true)
	})
	t.Run("after DeleteVersion of one of two", func(t *testing.T) {
		update(t, s, func(ctx context.Context, tx driverhub.Tx) error { return tx.DeleteVersion(ctx, sharedA.ID) })
		check(t, shared, true)
		update(t, s, func(ctx context.Context, tx driverhub.Tx) error { return tx.DeleteVersion(ctx, sharedB.ID) })
		check(t, shared, false)
	})
}
