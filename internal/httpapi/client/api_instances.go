package client

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strconv"

	"github.com/driverhub/driverhub"
)

// ListInstances lists one page of the tenant's instances.
func (c *Client) ListInstances(ctx context.Context, p driverhub.Page) (driverhub.List[*driverhub.Instance], error) {
	return listPage[*driverhub.Instance](ctx, c, "/api/v1/instances", pageQuery(p))
}

// GetInstance reads one instance with its gateway and current deployment.
func (c *Client) GetInstance(ctx context.Context, name string) (*driverhub.Instance, error) {
	return getJSON[driverhub.Instance](ctx, c, pathf("/api/v1/instances/%s", name))
}

// CreateInstance creates an instance. The answer holds its gateway secret,
// shown only there.
func (c *Client) CreateInstance(ctx context.Context, in driverhub.InstanceInput) (*driverhub.Instance, error) {
	return sendJSON[driverhub.Instance](ctx, c, http.MethodPost, "/api/v1/instances", in)
}

// UpdateInstance changes the fields of an instance that in holds.
func (c *Client) UpdateInstance(ctx context.Context, name string, in driverhub.InstanceInput) (*driverhub.Instance, error) {
	return sendJSON[driverhub.Instance](ctx, c, http.MethodPatch, pathf("/api/v1/instances/%s", name), in)
}

// DeleteInstance deletes an instance that has no drivers or devices.
func (c *Client) DeleteInstance(ctx context.Context, name string) error {
	return c.JSON(ctx, http.MethodDelete, pathf("/api/v1/instances/%s", name), nil, nil)
}

// RotateGatewaySecret replaces an instance's gateway secret; the answer
// holds the new one.
func (c *Client) RotateGatewaySecret(ctx context.Context, name string) (*driverhub.Instance, error) {
	return sendJSON[driverhub.Instance](ctx, c, http.MethodPost, pathf("/api/v1/instances/%s/gateway/rotate-secret", name), nil)
}

// ListBindings lists the drivers bound to an instance.
func (c *Client) ListBindings(ctx context.Context, instance string) (driverhub.List[*driverhub.Binding], error) {
	return listPage[*driverhub.Binding](ctx, c, pathf("/api/v1/instances/%s/drivers", instance), nil)
}

// GetBinding reads one bound driver with the gateway's last report of it.
func (c *Client) GetBinding(ctx context.Context, instance, driver string) (*driverhub.Binding, error) {
	return getJSON[driverhub.Binding](ctx, c, pathf("/api/v1/instances/%s/drivers/%s", instance, driver))
}

// Bind binds a driver (own, or acquired from in.Publisher) to an instance
// at in.Version (default: the newest published).
func (c *Client) Bind(ctx context.Context, instance, driver string, in driverhub.BindingInput) (*driverhub.Binding, error) {
	return sendJSON[driverhub.Binding](ctx, c, http.MethodPut, pathf("/api/v1/instances/%s/drivers/%s", instance, driver), in)
}

// Unbind removes a driver from an instance.
func (c *Client) Unbind(ctx context.Context, instance, driver string) error {
	return c.JSON(ctx, http.MethodDelete, pathf("/api/v1/instances/%s/drivers/%s", instance, driver), nil, nil)
}

// GetBindingConfig reads a binding's instance driver config.
func (c *Client) GetBindingConfig(ctx context.Context, instance, driver string) (*driverhub.DriverConfig, error) {
	return getJSON[driverhub.DriverConfig](ctx, c, pathf("/api/v1/instances/%s/drivers/%s/config", instance, driver))
}

// SetBindingConfig sets a binding's instance driver config (kv or json).
func (c *Client) SetBindingConfig(ctx context.Context, instance, driver string, cfg driverhub.DriverConfig) (*driverhub.DriverConfig, error) {
	return sendJSON[driverhub.DriverConfig](ctx, c, http.MethodPut, pathf("/api/v1/instances/%s/drivers/%s/config", instance, driver), cfg)
}

// DeleteBindingConfig drops a binding's instance driver config: the
// version's default applies again.
func (c *Client) DeleteBindingConfig(ctx context.Context, instance, driver string) error {
	return c.JSON(ctx, http.MethodDelete, pathf("/api/v1/instances/%s/drivers/%s/config", instance, driver), nil, nil)
}

// UploadBindingConfigFile sets a binding's instance driver config to a
// file named name, streamed from body.
func (c *Client) UploadBindingConfigFile(ctx context.Context, instance, driver, name string, body io.Reader, size int64) (*driverhub.DriverConfig, error) {
	path := withQuery(pathf("/api/v1/instances/%s/drivers/%s/config-file", instance, driver), url.Values{"name": {name}})
	var cfg driverhub.DriverConfig
	if err := c.upload(ctx, path, body, size, nil, &cfg); err != nil {
		return nil, err
	}
	return &cfg, nil
}

// DriverLogs reads the last tail lines (0: the server's default) a bound
// driver wrote on the gateway.
func (c *Client) DriverLogs(ctx context.Context, instance, driver string, tail int) ([]driverhub.LogLine, error) {
	q := url.Values{}
	if tail > 0 {
		q.Set("tail", strconv.Itoa(tail))
	}
	var out struct {
		Lines []driverhub.LogLine `json:"lines"`
	}
	err := c.JSON(ctx, http.MethodGet, withQuery(pathf("/api/v1/instances/%s/drivers/%s/logs", instance, driver), q), nil, &out)
	return out.Lines, err
}

// ListDevices lists one page of the tenant's devices, or of one instance's
// when instance is not "".
func (c *Client) ListDevices(ctx context.Context, instance string, p driverhub.Page) (driverhub.List[*driverhub.Device], error) {
	q := pageQuery(p)
	q.Set("instance", instance)
	return listPage[*driverhub.Device](ctx, c, "/api/v1/devices", q)
}

// GetDevice reads one device.
func (c *Client) GetDevice(ctx context.Context, product, name string) (*driverhub.Device, error) {
	return getJSON[driverhub.Device](ctx, c, pathf("/api/v1/devices/%s/%s", product, name))
}

// CreateDevice creates a sub-device.
func (c *Client) CreateDevice(ctx context.Context, in driverhub.DeviceInput) (*driverhub.Device, error) {
	return sendJSON[driverhub.Device](ctx, c, http.MethodPost, "/api/v1/devices", in)
}

// DeleteDevice deletes a device.
func (c *Client) DeleteDevice(ctx context.Context, product, name string) error {
	return c.JSON(ctx, http.MethodDelete, pathf("/api/v1/devices/%s/%s", product, name), nil, nil)
}

// AssociateDevice puts a device on an instance with one of its bound
// drivers and an optional device config.
func (c *Client) AssociateDevice(ctx context.Context, instance, product, name string, in driverhub.DeviceAssociation) (*driverhub.Device, error) {
	return sendJSON[driverhub.Device](ctx, c, http.MethodPut, pathf("/api/v1/instances/%s/devices/%s/%s", instance, product, name), in)
}

// DissociateDevice removes a device from an instance.
func (c *Client) DissociateDevice(ctx context.Context, instance, product, name string) error {
	return c.JSON(ctx, http.MethodDelete, pathf("/api/v1/instances/%s/devices/%s/%s", instance, product, name), nil, nil)
}

// CreateDeployment deploys an instance, or resets its gateway.
func (c *Client) CreateDeployment(ctx context.Context, instance string, typ driverhub.DeployType) (*driverhub.Deployment, error) {
	return sendJSON[driverhub.Deployment](ctx, c, http.MethodPost, pathf("/api/v1/instances/%s/deployments", instance), map[string]driverhub.DeployType{"type": typ})
}

// GetDeployment reads one deployment with its resources' progress.
func (c *Client) GetDeployment(ctx context.Context, instance, id string) (*driverhub.Deployment, error) {
	return getJSON[driverhub.Deployment](ctx, c, pathf("/api/v1/instances/%s/deployments/%s", instance, id))
}

// ListDeployments lists one page of an instance's deployments, newest first.
func (c *Client) ListDeployments(ctx context.Context, instance string, p driverhub.Page) (driverhub.List[*driverhub.Deployment], error) {
	return listPage[*driverhub.Deployment](ctx, c, pathf("/api/v1/instances/%s/deployments", instance), pageQuery(p))
}

// CloseDeployment closes an unfinished deployment.
func (c *Client) CloseDeployment(ctx context.Context, instance, id string) (*driverhub.Deployment, error) {
	return sendJSON[driverhub.Deployment](ctx, c, http.MethodPost, pathf("/api/v1/instances/%s/deployments/%s/close", instance, id), nil)
}
