package client

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"

	"github.com/driverhub/driverhub"
)

// The caller's TUF repository (SPEC §11). Metadata travels as the bytes
// the server stores: signatures cover them, so they are never re-encoded.

// TUFFile reads a file of the caller's TUF repository: root.json,
// timestamp.json, N.root.json, N.snapshot.json or N.targets.json.
func (c *Client) TUFFile(ctx context.Context, file string) ([]byte, error) {
	req, err := c.NewRequest(ctx, http.MethodGet, pathf("/api/v1/tuf/%s", file), nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	return io.ReadAll(io.LimitReader(resp.Body, driverhub.MaxTUFMetadataBytes+1))
}

// TUFOnlineKeys reads the public keys the server signs the caller's
// snapshot and timestamp with.
func (c *Client) TUFOnlineKeys(ctx context.Context) (*driverhub.TUFOnlineKeys, error) {
	return getJSON[driverhub.TUFOnlineKeys](ctx, c, "/api/v1/tuf/online-keys")
}

// PutTUFRoot uploads a signed root.
func (c *Client) PutTUFRoot(ctx context.Context, body []byte) (*driverhub.TUFUpload, error) {
	return c.putMetadata(ctx, "/api/v1/tuf/root", body)
}

// PutTUFTargets uploads signed targets.
func (c *Client) PutTUFTargets(ctx context.Context, body []byte) (*driverhub.TUFUpload, error) {
	return c.putMetadata(ctx, "/api/v1/tuf/targets", body)
}

func (c *Client) putMetadata(ctx context.Context, path string, body []byte) (*driverhub.TUFUpload, error) {
	req, err := c.NewRequest(ctx, http.MethodPut, path, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var out driverhub.TUFUpload
	return &out, json.NewDecoder(resp.Body).Decode(&out)
}

// GetTenant reads the caller's tenant.
func (c *Client) GetTenant(ctx context.Context) (*driverhub.TenantView, error) {
	return getJSON[driverhub.TenantView](ctx, c, "/api/v1/tenant")
}

// UpdateTenant changes the caller's tenant's settings.
func (c *Client) UpdateTenant(ctx context.Context, in driverhub.TenantSettings) (*driverhub.TenantView, error) {
	return sendJSON[driverhub.TenantView](ctx, c, http.MethodPatch, "/api/v1/tenant", in)
}
