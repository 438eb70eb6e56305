package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"

	"github.com/driverhub/driverhub"
	"github.com/driverhub/driverhub/internal/httpapi/apierror"
)

// writeError answers err. Errors that are not *driverhub.Error are internal:
// logged with their detail, answered as "internal error".
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	e, ok := driverhub.AsError(err)
	if !ok || !apierror.Known(e.Code) {
		s.log.Error("internal error", "method", r.Method, "path", r.URL.Path, "err", err)
		e = &driverhub.Error{Code: driverhub.EInternal, Message: "internal error"}
	}
	if e.Code == driverhub.EInvalid && e.Field != "" && len(e.Problems) == 0 {
		one := *e // a 400 about a field lists it in problems too (SPEC §8)
		one.Problems = []driverhub.Problem{e.Problem("")}
		e = &one
	}
	status := apierror.Status(e.Code)
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="driverhub"`)
	}
	writeJSON(w, status, apierror.BodyOf(e))
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		slog.Debug("write response", "err", err)
	}
}

// maxJSONBody bounds JSON request bodies; uploads have their own limits.
const maxJSONBody = 1 << 20

// decode reads a JSON body into v, refusing unknown fields, trailing data
// and malformed JSON with an error that names the field or the position,
// and keys repeated in an object, or differing only in case, at any depth
// (SPEC §13: Go would keep the last silently).
func decode(w http.ResponseWriter, r *http.Request, v any) error {
	body := http.MaxBytesReader(w, r.Body, maxJSONBody)
	data, err := io.ReadAll(body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return &driverhub.Error{Code: driverhub.ETooLarge, Message: fmt.Sprintf("request body is larger than %d bytes", maxJSONBody)}
		}
		return driverhub.Invalid("", "reading request body: %v", err)
	}
	if len(strings.TrimSpace(string(data))) == 0 {
		return driverhub.Invalid("", "request body is empty: send a JSON object")
	}
	if err := driverhub.CheckJSONKeys("", data); err != nil {
		return err
	}
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return driverhub.Invalid(te.Field, "must be %s, not %s", jsonKind(te.Type.Kind().String()), te.Value)
		}
		if msg, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
			return driverhub.Invalid(strings.Trim(msg, `"`), "is not a field of this request")
		}
		return driverhub.Invalid("", "malformed JSON body: %s", driverhub.DescribeJSONError(data, err))
	}
	if dec.More() {
		return driverhub.Invalid("", "request body holds more than one JSON value")
	}
	return nil
}

func jsonKind(goKind string) string {
	switch goKind {
	case "int", "int64", "int32", "uint", "uint64", "float64":
		return "a number"
	case "bool":
		return "true or false"
	case "string":
		return "a string"
	case "slice", "array":
		return "an array"
	case "struct", "map", "ptr":
		return "an object"
	}
	return goKind
}
