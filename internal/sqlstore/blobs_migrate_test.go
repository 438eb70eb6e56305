package sqlstore_test

import (
	"testing"
	"time"

	"github.com/driverhub/driverhub"
	"github.com/driverhub/driverhub/internal/sqlstore/migrations"
)

// TestBlobsBackfill: migration 7 records the blobs stored before it, with
// the sizes the rows naming them give, so that quotas count them at once.
func TestBlobsBackfill(t *testing.T) {
	for _, b := range backends {
		t.Run(b.dialect.Name, func(t *testing.T) {
			ctx := t.Context()
			_, _, s := b.unmigrated(t)
			if err := s.MigrateTo(ctx, migrations.FS, 6); err != nil {
				t.Fatal(err)
			}
			now := time.Now().UTC().Truncate(time.Microsecond)
			tn := &driverhub.Tenant{ID: driverhub.NewID(), Name: "acme", CreatedAt: now}
			u := &driverhub.User{ID: driverhub.NewID(), TenantID: tn.ID, Username: "alice", Role: driverhub.RoleAdmin,
				PasswordHash: "x", CreatedAt: now, UpdatedAt: now}
			d := &driverhub.Driver{ID: driverhub.NewID(), TenantID: tn.ID, Name: "meter", Protocol: "modbus", Runtime: "python3",
				CreatedAt: now, UpdatedAt: now}
			file := func(size int64) *driverhub.DriverConfig {
				return &driverhub.DriverConfig{Format: driverhub.ConfigFile,
					File: &driverhub.ConfigFileRef{Name: "c.ini", Size: size, SHA256: driverhub.NewSecret("", 32)}}
			}
			v := &driverhub.DriverVersion{ID: driverhub.NewID(), DriverID: d.ID, Version: "1.0", MinEdgeVersion: "1.0.0",
				Package:      &driverhub.PackageRef{Filename: "p.zip", Size: 1000, SHA256: driverhub.NewSecret("", 32)},
				DriverConfig: file(100), Container: driverhub.DefaultContainer(), Status: driverhub.StatusDraft,
				CreatedAt: now, UpdatedAt: now}
			i := &driverhub.Instance{ID: driverhub.NewID(), TenantID: tn.ID, Name: "gw1", SecretHash: driverhub.NewSecret("", 32),
				CreatedAt: now, UpdatedAt: now}
			bd := &driverhub.Binding{ID: driverhub.NewID(), InstanceID: i.ID, DriverID: d.ID, Driver: d.Name, Version: "1.0",
				Config: file(10), CreatedAt: now, UpdatedAt: now}
			up := &driverhub.StagedUpload{ID: driverhub.NewID(), TenantID: tn.ID, UserID: u.ID, Kind: driverhub.UploadPackage,
				Filename: "q.zip", Size: 1, SHA256: driverhub.NewSecret("", 32), Runtime: "python3", CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
			err := s.Update(ctx, func(tx driverhub.Tx) error {
				for _, f := range []func() error{
					func() error { return tx.CreateTenant(ctx, tn) }, func() error { return tx.CreateUser(ctx, u) },
					func() error { return tx.CreateDriver(ctx, d) }, func() error { return tx.CreateVersion(ctx, v) },
					func() error { return tx.CreateInstance(ctx, i) }, func() error { return tx.CreateBinding(ctx, bd) },
					func() error { return tx.CreateUpload(ctx, up) },
				} {
					if err := f(); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if err := s.MigrateTo(ctx, migrations.FS, 7); err != nil {
				t.Fatal(err)
			}
			var used int64
			err = s.View(ctx, func(tx driverhub.Tx) error {
				used, err = tx.TenantBlobUsage(ctx, tn.ID)
				return err
			})
			if err != nil || used != 1111 {
				t.Errorf("TenantBlobUsage after migration 7 = %d, %v; want 1111 (package, both config files, staged upload)", used, err)
			}
		})
	}
}
