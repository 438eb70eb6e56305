package agent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path"
	"time"

	"github.com/theupdateframework/go-tuf/v2/metadata"

	"github.com/driverhub/driverhub/internal/httpapi/client"
)

// tufMetadataPath is where the server serves the gateway's tenant's TUF
// repository (root.json, N.root.json, timestamp.json, N.snapshot.json,
// N.targets.json), authenticated by the gateway secret like every
// gateway call.
const tufMetadataPath = "/api/v1/gateway/tuf/"

// gatewayFetcher is go-tuf's Fetcher over the agent's API client: the
// same credential, transport and proxy settings as the desired-state
// poll. go-tuf's Fetcher has no context, so one fetcher serves one
// refresh and carries its context.
type gatewayFetcher struct {
	ctx    context.Context
	client *client.Client
	last   string // the file fetched last: the one go-tuf verifies when it fails
}

// DownloadFile gets one metadata file, at most maxLength bytes. An error
// status becomes go-tuf's ErrDownloadHTTP: the updater ends its walk of
// root versions at the first 404.
func (f *gatewayFetcher) DownloadFile(url string, maxLength int64, _ time.Duration) ([]byte, error) {
	f.last = path.Base(url)
	req, err := f.client.NewRequest(f.ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := f.client.Do(req)
	if err != nil {
		var ce *client.CallError
		if errors.As(err, &ce) {
			return nil, fmt.Errorf("%w (%s)", &metadata.ErrDownloadHTTP{StatusCode: ce.Status, URL: url}, ce.Err.Message)
		}
		return nil, &metadata.ErrDownload{Msg: err.Error()}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxLength+1))
	if err != nil {
		return nil, &metadata.ErrDownload{Msg: fmt.Sprintf("%s: %v", url, err)}
	}
	if int64(len(b)) > maxLength {
		return nil, &metadata.ErrDownloadLengthMismatch{Msg: fmt.Sprintf("%s is longer than %d bytes", url, maxLength)}
	}
	return b, nil
}
