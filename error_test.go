package driverhub_test

import (
	"errors"
	"fmt"
	"io"
	"testing"

	"github.com/driverhub/driverhub"
)

func TestErrorString(t *testing.T) {
	for _, tt := range []struct {
		err  *driverhub.Error
		want string
	}{
		{driverhub.Invalid("name", "must be %d", 3), "invalid_argument: name: must be 3"},
		{driverhub.Errorf(driverhub.EConflict, "driver %q exists", "d"), `conflict: driver "d" exists`},
		{driverhub.NotFound("driver", "modbus"), `not_found: driver "modbus" not found`},
	} {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
}

func TestErrorIs(t *testing.T) {
	err := fmt.Errorf("wrapped: %w", driverhub.Invalid("name", "bad"))
	for _, tt := range []struct {
		name   string
		err    error
		target error
		want   bool
	}{
		{"same code", err, &driverhub.Error{Code: driverhub.EInvalid}, true},
		{"same code and field", err, &driverhub.Error{Code: driverhub.EInvalid, Field: "name"}, true},
		{"other field", err, &driverhub.Error{Code: driverhub.EInvalid, Field: "protocol"}, false},
		{"other code", err, &driverhub.Error{Code: driverhub.ENotFound}, false},
		{"sentinel not found", fmt.Errorf("x: %w", driverhub.NotFound("driver", "d")), driverhub.ErrNotFound, true},
		{"sentinel conflict", driverhub.Errorf(driverhub.EConflict, "x"), driverhub.ErrConflict, true},
		{"plain error", io.EOF, driverhub.ErrNotFound, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := errors.Is(tt.err, tt.target); got != tt.want {
				t.Errorf("errors.Is(%v, %v) = %v, want %v", tt.err, tt.target, got, tt.want)
			}
		})
	}
}

func TestErrorCode(t *testing.T) {
	for _, tt := range []struct {
		err  error
		want string
	}{
		{nil, ""},
		{io.EOF, driverhub.EInternal},
		{driverhub.Invalid("x", "y"), driverhub.EInvalid},
		{fmt.Errorf("a: %w", driverhub.Errorf(driverhub.ETooLarge, "b")), driverhub.ETooLarge},
	} {
		if got := driverhub.ErrorCode(tt.err); got != tt.want {
			t.Errorf("ErrorCode(%v) = %q, want %q", tt.err, got, tt.want)
		}
	}
	if e, ok := driverhub.AsError(fmt.Errorf("a: %w", driverhub.Invalid("f", "m"))); !ok || e.Field != "f" {
		t.Errorf("AsError = %v, %v; want the wrapped error", e, ok)
	}
	if _, ok := driverhub.AsError(io.EOF); ok {
		t.Error("AsError(io.EOF) = ok")
	}
}
