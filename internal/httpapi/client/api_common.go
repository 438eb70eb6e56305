package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/driverhub/driverhub"
)

// path builds an API path from a format whose %s verbs each take one path
// segment, escaped: pathf("/api/v1/drivers/%s", name).
func pathf(format string, segments ...string) string {
	args := make([]any, len(segments))
	for i, s := range segments {
		args[i] = url.PathEscape(s)
	}
	return fmt.Sprintf(format, args...)
}

// withQuery appends the non-empty values of q to path.
func withQuery(path string, q url.Values) string {
	for k, vs := range q {
		if len(vs) == 0 || (len(vs) == 1 && vs[0] == "") {
			delete(q, k)
		}
	}
	if len(q) == 0 {
		return path
	}
	return path + "?" + q.Encode()
}

// pageQuery holds a page's limit and cursor as query parameters.
func pageQuery(p driverhub.Page) url.Values {
	q := url.Values{}
	if p.Limit > 0 {
		q.Set("limit", strconv.Itoa(p.Limit))
	}
	if p.Cursor != "" {
		q.Set("cursor", p.Cursor)
	}
	return q
}

// getJSON fetches one object.
func getJSON[T any](ctx context.Context, c *Client, path string) (*T, error) {
	var out T
	if err := c.JSON(ctx, http.MethodGet, path, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// sendJSON sends in and decodes the answer.
func sendJSON[T any](ctx context.Context, c *Client, method, path string, in any) (*T, error) {
	var out T
	if err := c.JSON(ctx, method, path, in, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// listPage fetches one page of a list.
func listPage[T any](ctx context.Context, c *Client, path string, q url.Values) (driverhub.List[T], error) {
	var out driverhub.List[T]
	err := c.JSON(ctx, http.MethodGet, withQuery(path, q), nil, &out)
	return out, err
}

// Progress is told how many bytes of an upload were sent so far, and the
// total (-1 when unknown).
type Progress func(sent, total int64)

// progressReader counts what is read through it.
type progressReader struct {
	r     io.Reader
	sent  int64
	total int64
	fn    Progress
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	if n > 0 {
		p.sent += int64(n)
		p.fn(p.sent, p.total)
	}
	return n, err
}

// upload streams body (of size bytes, -1 when unknown) with PUT to path
// and decodes the JSON answer into out. The body is never held in memory.
func (c *Client) upload(ctx context.Context, path string, body io.Reader, size int64, progress Progress, out any) error {
	if progress != nil {
		body = &progressReader{r: body, total: size, fn: progress}
	}
	req, err := c.NewRequest(ctx, http.MethodPut, path, io.NopCloser(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/octet-stream")
	if size >= 0 {
		req.ContentLength = size
		if size == 0 {
			req.Body = http.NoBody
		}
	}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	return decodeJSON(resp.Body, out)
}

func decodeJSON(r io.Reader, out any) error {
	if out == nil {
		_, err := io.Copy(io.Discard, r)
		return err
	}
	return json.NewDecoder(r).Decode(out)
}

// IsNotFound reports whether err is the server's not_found.
func IsNotFound(err error) bool {
	return hasCode(err, driverhub.ENotFound)
}

func hasCode(err error, code string) bool {
	var e *driverhub.Error
	return errors.As(err, &e) && e.Code == code
}

// Server returns the base URL the client calls.
func (c *Client) Server() string { return strings.TrimRight(c.base.String(), "/") }
