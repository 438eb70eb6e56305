// Package client is the Go client of driverhub's API, used by the
// command-line client and the edge agent. It imports only the standard
// library, the domain and the API's error format, so the agent stays small.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/driverhub/driverhub"
	"github.com/driverhub/driverhub/internal/httpapi/apierror"
)

// Client calls one driverhub server with one bearer credential: an API
// token, or an instance's gateway secret.
type Client struct {
	base  *url.URL
	token string
	http  *http.Client
	agent string
}

// New returns a client for the server at baseURL (scheme, host, port).
func New(baseURL, token string, hc *http.Client) (*Client, error) {
	u, err := url.Parse(strings.TrimRight(baseURL, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("server URL %q: want http(s)://host[:port]", baseURL)
	}
	if hc == nil {
		hc = &http.Client{}
	}
	return &Client{base: u, token: token, http: hc, agent: "driverhub/" + driverhub.Version}, nil
}

// URL returns the absolute URL of an API path such as /api/v1/drivers.
func (c *Client) URL(path string) string { return c.base.String() + path }

// NewRequest makes a request with the client's credential.
func (c *Client) NewRequest(ctx context.Context, method, path string, body io.Reader) (*http.Request, error) {
	target := path
	if !strings.HasPrefix(path, "http://") && !strings.HasPrefix(path, "https://") {
		target = c.URL(path)
	}
	req, err := http.NewRequestWithContext(ctx, method, target, body)
	if err != nil {
		return nil, err
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	req.Header.Set("User-Agent", c.agent)
	return req, nil
}

// Do sends req and, on an error status, returns a *CallError holding the
// server's *driverhub.Error. The caller closes the body of a successful
// response.
func (c *Client) Do(req *http.Request) (*http.Response, error) {
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode < 400 {
		return resp, nil
	}
	defer resp.Body.Close()
	return nil, callError(resp)
}

// CallError is an error answer with the call that got it. errors.As finds
// the server's *driverhub.Error inside, with its code, message, field and
// problems; Method and Path say which call failed.
type CallError struct {
	Method string
	Path   string
	Status int
	Err    *driverhub.Error
}

func (e *CallError) Error() string { return e.Method + " " + e.Path + ": " + e.Err.Error() }

func (e *CallError) Unwrap() error { return e.Err }

func callError(resp *http.Response) *CallError {
	return &CallError{Method: resp.Request.Method, Path: resp.Request.URL.Path, Status: resp.StatusCode, Err: apierror.Read(resp)}
}

// JSON sends in (nil for no body) as JSON and decodes the answer into out
// (nil to discard it).
func (c *Client) JSON(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := c.NewRequest(ctx, method, path, body)
	if err != nil {
		return err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil {
		_, err = io.Copy(io.Discard, resp.Body)
		return err
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

// Desired long-polls the gateway's desired state. It returns nil with the
// same etag when nothing changed within wait.
func (c *Client) Desired(ctx context.Context, etag string, wait time.Duration) (*driverhub.Manifest, string, error) {
	path := "/api/v1/gateway/desired"
	if wait > 0 {
		path += "?wait=" + wait.String()
	}
	req, err := c.NewRequest(ctx, http.MethodGet, path, nil)
	if err != nil {
		return nil, "", err
	}
	if etag != "" {
		req.Header.Set("If-None-Match", etag)
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotModified {
		return nil, etag, nil
	}
	var m driverhub.Manifest
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		return nil, "", fmt.Errorf("decode desired state: %w", err)
	}
	return &m, resp.Header.Get("ETag"), nil
}

// Report posts the gateway's report.
func (c *Client) Report(ctx context.Context, r driverhub.GatewayReport) error {
	return c.JSON(ctx, http.MethodPost, "/api/v1/gateway/report", r, nil)
}

// PostLogs ships a driver's output lines.
func (c *Client) PostLogs(ctx context.Context, driver string, lines []driverhub.LogLine) error {
	return c.JSON(ctx, http.MethodPost, "/api/v1/gateway/logs", map[string]any{"driver": driver, "lines": lines}, nil)
}

// Download writes the blob at path (an API path or URL) into w, starting at
// offset: a resumed download asks only for the bytes it lacks. It returns
// the number of bytes written.
func (c *Client) Download(ctx context.Context, path string, offset int64, w io.Writer) (int64, error) {
	req, err := c.NewRequest(ctx, http.MethodGet, path, nil)
	if err != nil {
		return 0, err
	}
	if offset > 0 {
		req.Header.Set("Range", fmt.Sprintf("bytes=%d-", offset))
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	switch {
	case offset > 0 && resp.StatusCode == http.StatusRequestedRangeNotSatisfiable:
		return 0, nil // we have every byte already
	case offset > 0 && resp.StatusCode != http.StatusPartialContent:
		if resp.StatusCode >= 400 {
			return 0, callError(resp)
		}
		return 0, fmt.Errorf("download %s: server ignored the range (status %d)", path, resp.StatusCode)
	case resp.StatusCode >= 400:
		return 0, callError(resp)
	}
	return io.Copy(w, resp.Body)
}
