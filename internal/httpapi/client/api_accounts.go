package client

import (
	"context"
	"net/http"

	"github.com/driverhub/driverhub"
)

// CreateTenant creates a tenant (system admins only). The answer holds its
// admin's password and token, shown only there.
func (c *Client) CreateTenant(ctx context.Context, name string) (*driverhub.NewTenant, error) {
	return sendJSON[driverhub.NewTenant](ctx, c, http.MethodPost, "/api/v1/tenants", map[string]string{"name": name})
}

// ListUsers lists one page of the tenant's users.
func (c *Client) ListUsers(ctx context.Context, p driverhub.Page) (driverhub.List[*driverhub.User], error) {
	return listPage[*driverhub.User](ctx, c, "/api/v1/users", pageQuery(p))
}

// GetUser reads one user.
func (c *Client) GetUser(ctx context.Context, username string) (*driverhub.User, error) {
	return getJSON[driverhub.User](ctx, c, pathf("/api/v1/users/%s", username))
}

// CreateUser creates a user.
func (c *Client) CreateUser(ctx context.Context, in driverhub.UserInput) (*driverhub.User, error) {
	return sendJSON[driverhub.User](ctx, c, http.MethodPost, "/api/v1/users", in)
}

// UpdateUser changes a user's role or password.
func (c *Client) UpdateUser(ctx context.Context, username string, in driverhub.UserInput) (*driverhub.User, error) {
	return sendJSON[driverhub.User](ctx, c, http.MethodPatch, pathf("/api/v1/users/%s", username), in)
}

// DeleteUser deletes a user.
func (c *Client) DeleteUser(ctx context.Context, username string) error {
	return c.JSON(ctx, http.MethodDelete, pathf("/api/v1/users/%s", username), nil, nil)
}

// ListTokens lists one page of the API tokens the caller may see.
func (c *Client) ListTokens(ctx context.Context, p driverhub.Page) (driverhub.List[*driverhub.Token], error) {
	return listPage[*driverhub.Token](ctx, c, "/api/v1/tokens", pageQuery(p))
}

// GetToken reads one API token (never its secret).
func (c *Client) GetToken(ctx context.Context, id string) (*driverhub.Token, error) {
	return getJSON[driverhub.Token](ctx, c, pathf("/api/v1/tokens/%s", id))
}

// CreateToken creates an API token; the answer holds the secret, shown
// only there.
func (c *Client) CreateToken(ctx context.Context, name string, role driverhub.Role) (*driverhub.Token, error) {
	in := map[string]any{"name": name, "role": role}
	return sendJSON[driverhub.Token](ctx, c, http.MethodPost, "/api/v1/tokens", in)
}

// RevokeToken revokes an API token.
func (c *Client) RevokeToken(ctx context.Context, id string) error {
	return c.JSON(ctx, http.MethodDelete, pathf("/api/v1/tokens/%s", id), nil, nil)
}
