package apierror_test

import (
	"net/http"
	"testing"

	"github.com/driverhub/driverhub"
	"github.com/driverhub/driverhub/internal/httpapi/apierror"
)

// Every code of the domain (error.go) and the status that answers it: the
// API documents these pairs (openapi.json), clients rely on them.
var codes = []struct {
	code   string
	status int
}{
	{driverhub.EInvalid, 400},
	{driverhub.EInvalidSignature, 400},
	{driverhub.EUnauthenticated, 401},
	{driverhub.EPermissionDenied, 403},
	{driverhub.ENotFound, 404},
	{driverhub.EConflict, 409},
	{driverhub.EVersionPublished, 409},
	{driverhub.ETooLarge, 413},
	{driverhub.EFailedPrecondition, 422},
	{driverhub.EInternal, 500},
}

func TestEveryCodeMapsToAStatusAndBack(t *testing.T) {
	for _, tt := range codes {
		if !apierror.Known(tt.code) {
			t.Errorf("Known(%q) = false", tt.code)
		}
		if got := apierror.Status(tt.code); got != tt.status {
			t.Errorf("Status(%q) = %d, want %d", tt.code, got, tt.status)
		}
		back := apierror.CodeFor(tt.status)
		if apierror.Status(back) != tt.status {
			t.Errorf("CodeFor(%d) = %q, whose status is %d", tt.status, back, apierror.Status(back))
		}
	}
	// Where codes share a status, the status stands for the general code.
	if got := apierror.CodeFor(http.StatusConflict); got != driverhub.EConflict {
		t.Errorf("CodeFor(409) = %q, want %q", got, driverhub.EConflict)
	}
}

func TestUnknownCodesAndStatuses(t *testing.T) {
	if apierror.Known("teapot") {
		t.Error(`Known("teapot") = true`)
	}
	if got := apierror.Status("teapot"); got != http.StatusInternalServerError {
		t.Errorf(`Status("teapot") = %d, want 500`, got)
	}
	for status, want := range map[int]string{
		http.StatusMethodNotAllowed:     driverhub.EInvalid, // refused: retrying will not help
		http.StatusUnsupportedMediaType: driverhub.EInvalid,
		http.StatusBadGateway:           driverhub.EInternal,
		http.StatusServiceUnavailable:   driverhub.EInternal,
		http.StatusGatewayTimeout:       driverhub.EInternal,
		http.StatusFound:                driverhub.EInternal, // not an error answer at all
	} {
		if got := apierror.CodeFor(status); got != want {
			t.Errorf("CodeFor(%d) = %q, want %q", status, got, want)
		}
	}
}

func TestStatusOf(t *testing.T) {
	for _, tt := range []struct {
		name string
		err  error
		want int
	}{
		{"invalid", driverhub.Invalid("name", "bad"), 400},
		{"not found sentinel", driverhub.ErrNotFound, 404},
		{"version published", &driverhub.Error{Code: driverhub.EVersionPublished}, 409},
		{"not a domain error", http.ErrHandlerTimeout, 500},
		{"unknown code", &driverhub.Error{Code: "teapot"}, 500},
	} {
		if got := apierror.StatusOf(tt.err); got != tt.want {
			t.Errorf("%s: StatusOf = %d, want %d", tt.name, got, tt.want)
		}
	}
}
