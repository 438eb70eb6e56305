package client

import (
	"context"
	"io"
	"net/http"
	"net/url"

	"github.com/driverhub/driverhub"
)

// ListDrivers lists one page of the tenant's drivers, filtered.
func (c *Client) ListDrivers(ctx context.Context, f driverhub.DriverFilter, p driverhub.Page) (driverhub.List[*driverhub.Driver], error) {
	q := pageQuery(p)
	q.Set("protocol", f.Protocol)
	q.Set("runtime", string(f.Runtime))
	q.Set("q", f.Q)
	return listPage[*driverhub.Driver](ctx, c, "/api/v1/drivers", q)
}

// GetDriver reads one driver.
func (c *Client) GetDriver(ctx context.Context, name string) (*driverhub.Driver, error) {
	return getJSON[driverhub.Driver](ctx, c, pathf("/api/v1/drivers/%s", name))
}

// CreateDriver creates a driver.
func (c *Client) CreateDriver(ctx context.Context, in driverhub.DriverInput) (*driverhub.Driver, error) {
	return sendJSON[driverhub.Driver](ctx, c, http.MethodPost, "/api/v1/drivers", in)
}

// UpdateDriver changes the fields of a driver that in holds.
func (c *Client) UpdateDriver(ctx context.Context, name string, in driverhub.DriverInput) (*driverhub.Driver, error) {
	return sendJSON[driverhub.Driver](ctx, c, http.MethodPatch, pathf("/api/v1/drivers/%s", name), in)
}

// DeleteDriver deletes a driver and its drafts.
func (c *Client) DeleteDriver(ctx context.Context, name string) error {
	return c.JSON(ctx, http.MethodDelete, pathf("/api/v1/drivers/%s", name), nil, nil)
}

// ListVersions lists one page of a driver's versions, newest first; status
// "" means every status.
func (c *Client) ListVersions(ctx context.Context, driver, status string, p driverhub.Page) (driverhub.List[*driverhub.DriverVersion], error) {
	q := pageQuery(p)
	q.Set("status", status)
	return listPage[*driverhub.DriverVersion](ctx, c, pathf("/api/v1/drivers/%s/versions", driver), q)
}

// GetVersion reads one version.
func (c *Client) GetVersion(ctx context.Context, driver, version string) (*driverhub.DriverVersion, error) {
	return getJSON[driverhub.DriverVersion](ctx, c, pathf("/api/v1/drivers/%s/versions/%s", driver, version))
}

// CreateVersion creates a draft version.
func (c *Client) CreateVersion(ctx context.Context, driver string, in driverhub.VersionInput) (*driverhub.DriverVersion, error) {
	return sendJSON[driverhub.DriverVersion](ctx, c, http.MethodPost, pathf("/api/v1/drivers/%s/versions", driver), in)
}

// UpdateVersion changes the fields of a version that in holds.
func (c *Client) UpdateVersion(ctx context.Context, driver, version string, in driverhub.VersionInput) (*driverhub.DriverVersion, error) {
	return sendJSON[driverhub.DriverVersion](ctx, c, http.MethodPatch, pathf("/api/v1/drivers/%s/versions/%s", driver, version), in)
}

// DeleteVersion deletes a draft.
func (c *Client) DeleteVersion(ctx context.Context, driver, version string) error {
	return c.JSON(ctx, http.MethodDelete, pathf("/api/v1/drivers/%s/versions/%s", driver, version), nil, nil)
}

// PublishVersion publishes a draft, for good.
func (c *Client) PublishVersion(ctx context.Context, driver, version string) (*driverhub.DriverVersion, error) {
	return sendJSON[driverhub.DriverVersion](ctx, c, http.MethodPost, pathf("/api/v1/drivers/%s/versions/%s/publish", driver, version), nil)
}

// UploadPackage streams a draft's package (a zip of size bytes) from body,
// telling progress (when not nil) as bytes go out.
func (c *Client) UploadPackage(ctx context.Context, driver, version, filename string, body io.Reader, size int64, progress Progress) (*driverhub.DriverVersion, error) {
	path := withQuery(pathf("/api/v1/drivers/%s/versions/%s/package", driver, version), url.Values{"filename": {filename}})
	var v driverhub.DriverVersion
	if err := c.upload(ctx, path, body, size, progress, &v); err != nil {
		return nil, err
	}
	return &v, nil
}

// DownloadPackage writes a version's package into w.
func (c *Client) DownloadPackage(ctx context.Context, driver, version string, w io.Writer) (int64, error) {
	return c.Download(ctx, pathf("/api/v1/drivers/%s/versions/%s/package", driver, version), 0, w)
}

// UploadVersionConfigFile sets a draft's default driver config to a file
// named name, streamed from body.
func (c *Client) UploadVersionConfigFile(ctx context.Context, driver, version, name string, body io.Reader, size int64) (*driverhub.DriverVersion, error) {
	path := withQuery(pathf("/api/v1/drivers/%s/versions/%s/config-file", driver, version), url.Values{"name": {name}})
	var v driverhub.DriverVersion
	if err := c.upload(ctx, path, body, size, nil, &v); err != nil {
		return nil, err
	}
	return &v, nil
}

// DownloadVersionConfigFile writes a version's config file into w.
func (c *Client) DownloadVersionConfigFile(ctx context.Context, driver, version string, w io.Writer) (int64, error) {
	return c.Download(ctx, pathf("/api/v1/drivers/%s/versions/%s/config-file", driver, version), 0, w)
}

// PutListing lists a driver in the marketplace, or changes its listing.
func (c *Client) PutListing(ctx context.Context, driver string, in driverhub.ListingInput) (*driverhub.Listing, error) {
	return sendJSON[driverhub.Listing](ctx, c, http.MethodPut, pathf("/api/v1/drivers/%s/listing", driver), in)
}

// DeleteListing takes a driver out of the marketplace.
func (c *Client) DeleteListing(ctx context.Context, driver string) error {
	return c.JSON(ctx, http.MethodDelete, pathf("/api/v1/drivers/%s/listing", driver), nil, nil)
}

// ListMarket lists one page of the marketplace.
func (c *Client) ListMarket(ctx context.Context, p driverhub.Page) (driverhub.List[*driverhub.Listing], error) {
	return listPage[*driverhub.Listing](ctx, c, "/api/v1/marketplace", pageQuery(p))
}

// GetMarketDriver reads a listed driver with its published versions.
func (c *Client) GetMarketDriver(ctx context.Context, publisher, driver string) (*driverhub.MarketDriver, error) {
	return getJSON[driverhub.MarketDriver](ctx, c, pathf("/api/v1/marketplace/%s/%s", publisher, driver))
}

// Acquire acquires a listed driver (idempotent).
func (c *Client) Acquire(ctx context.Context, publisher, driver string) (*driverhub.Acquisition, error) {
	return sendJSON[driverhub.Acquisition](ctx, c, http.MethodPost, pathf("/api/v1/marketplace/%s/%s/acquire", publisher, driver), nil)
}

// ListAcquisitions lists one page of the drivers the tenant acquired.
func (c *Client) ListAcquisitions(ctx context.Context, p driverhub.Page) (driverhub.List[*driverhub.Acquisition], error) {
	return listPage[*driverhub.Acquisition](ctx, c, "/api/v1/acquisitions", pageQuery(p))
}

// DownloadMarketPackage writes a published version of an acquired driver into w.
func (c *Client) DownloadMarketPackage(ctx context.Context, publisher, driver, version string, w io.Writer) (int64, error) {
	return c.Download(ctx, pathf("/api/v1/marketplace/%s/%s/versions/%s/package", publisher, driver, version), 0, w)
}
