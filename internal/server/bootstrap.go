package server

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/driverhub/driverhub"
	"github.com/driverhub/driverhub/internal/service"
)

// InitialAdminFile is the file in the data directory where the first
// start keeps the admin it created (mode 0600).
const InitialAdminFile = "initial-admin.json"

// bootstrap creates the first tenant, admin and token on an empty
// database and keeps them in <data>/initial-admin.json; it returns nil
// when the database had tenants already. A configured password or token
// the server would not accept fails every start, not only the first.
func bootstrap(ctx context.Context, svc *service.Service, c Config) (*driverhub.InitialAdmin, error) {
	admin, err := svc.Bootstrap(ctx, c.AdminPassword, c.AdminToken)
	if e, ok := driverhub.AsError(err); ok && e.Code == driverhub.EConflict {
		// Another replica bootstrapped the same empty database at the same
		// time and won: there is nothing left to create.
		admin, err = svc.Bootstrap(ctx, c.AdminPassword, c.AdminToken)
	}
	if e, ok := driverhub.AsError(err); ok && e.Code == driverhub.EInvalid {
		// The configured credentials come from the environment.
		if env, ok := map[string]string{"token": "DRIVERHUB_ADMIN_TOKEN", "password": "DRIVERHUB_ADMIN_PASSWORD"}[e.Field]; ok {
			return nil, fmt.Errorf("%s %s", env, e.Message)
		}
	}
	if err != nil || admin == nil {
		return nil, err
	}
	b, err := json.MarshalIndent(admin, "", "  ")
	if err != nil {
		return nil, err
	}
	path := filepath.Join(c.DataDir, InitialAdminFile)
	if err := os.WriteFile(path, append(b, '\n'), 0o600); err != nil {
		return nil, fmt.Errorf("write %s: %w", path, err)
	}
	return admin, nil
}
