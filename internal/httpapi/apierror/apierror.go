// Package apierror is the wire form of driverhub's API errors: the JSON body
// of every error answer and the one table between the domain's error codes
// and HTTP statuses. The server writes errors with it, the Go client reads
// them back and the console picks its pages' statuses from it, so every
// side agrees by construction. It imports only the standard library and
// the domain: importing it does not pull in the server.
package apierror

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/driverhub/driverhub"
)

// Body is the JSON of every error answer.
type Body struct {
	Error Detail `json:"error"`
}

// Detail describes what went wrong.
type Detail struct {
	Code     string              `json:"code"`
	Message  string              `json:"message"`
	Field    string              `json:"field,omitempty"`
	Problems []driverhub.Problem `json:"problems,omitempty"`
}

// BodyOf is the answer's body for a domain error.
func BodyOf(e *driverhub.Error) Body {
	return Body{Error: Detail{Code: e.Code, Message: e.Message, Field: e.Field, Problems: e.Problems}}
}

// table is the one mapping between codes and statuses, read both ways.
// Where codes share a status, the first one listed is the code that
// status stands for.
var table = []struct {
	code   string
	status int
}{
	{driverhub.EInvalid, http.StatusBadRequest},
	{driverhub.EInvalidSignature, http.StatusBadRequest},
	{driverhub.EUnauthenticated, http.StatusUnauthorized},
	{driverhub.EPermissionDenied, http.StatusForbidden},
	{driverhub.ENotFound, http.StatusNotFound},
	{driverhub.EConflict, http.StatusConflict},
	{driverhub.EVersionPublished, http.StatusConflict},
	{driverhub.ETooLarge, http.StatusRequestEntityTooLarge},
	{driverhub.EFailedPrecondition, http.StatusUnprocessableEntity},
	{driverhub.ETooManyRequests, http.StatusTooManyRequests},
	{driverhub.EInsufficientStore, http.StatusInsufficientStorage},
	{driverhub.EQuotaExceeded, http.StatusInsufficientStorage},
	{driverhub.EInternal, http.StatusInternalServerError},
}

var statusByCode, codeByStatus = func() (map[string]int, map[int]string) {
	byCode, byStatus := map[string]int{}, map[int]string{}
	for _, row := range table {
		byCode[row.code] = row.status
		if _, taken := byStatus[row.status]; !taken {
			byStatus[row.status] = row.code
		}
	}
	return byCode, byStatus
}()

// Known reports whether code is one of the domain's error codes.
func Known(code string) bool { _, ok := statusByCode[code]; return ok }

// Status is the HTTP status that answers an error with code; 500 for a
// code the table does not know.
func Status(code string) int {
	if status, ok := statusByCode[code]; ok {
		return status
	}
	return http.StatusInternalServerError
}

// StatusOf is the HTTP status that answers err (500 for errors that are
// not *driverhub.Error).
func StatusOf(err error) int { return Status(driverhub.ErrorCode(err)) }

// CodeFor is the code an error status stands for when the body does not
// say (a proxy's page, say). A 4xx status the table does not know still
// means the request was refused (invalid_argument); anything else is
// internal.
func CodeFor(status int) string {
	if code, ok := codeByStatus[status]; ok {
		return code
	}
	if status >= 400 && status < 500 {
		return driverhub.EInvalid
	}
	return driverhub.EInternal
}

// maxBody bounds how much of an error answer is read; maxShown, how much
// of a body that is not driverhub's JSON goes into the message.
const (
	maxBody  = 64 << 10
	maxShown = 512
)

// Read turns an error answer back into the server's *driverhub.Error: its
// code, message, field and problems. A body that is not driverhub's error
// JSON gets the code its status stands for and a message quoting the
// status and the start of the body. Read does not close the body.
func Read(resp *http.Response) *driverhub.Error {
	data, _ := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	var b Body
	if json.Unmarshal(data, &b) == nil && b.Error.Code != "" {
		d := b.Error
		return &driverhub.Error{Code: d.Code, Message: d.Message, Field: d.Field, Problems: d.Problems}
	}
	msg := resp.Status
	if msg == "" {
		msg = fmt.Sprintf("%d %s", resp.StatusCode, http.StatusText(resp.StatusCode))
	}
	if text := shown(data); text != "" {
		msg += ": " + text
	}
	return &driverhub.Error{Code: CodeFor(resp.StatusCode), Message: msg}
}

// shown is the start of a body as one line of valid text.
func shown(data []byte) string {
	text := strings.Join(strings.Fields(strings.ToValidUTF8(string(data), "\uFFFD")), " ")
	if len(text) <= maxShown {
		return text
	}
	cut := maxShown
	for cut > 0 && !utf8.RuneStart(text[cut]) {
		cut--
	}
	return text[:cut] + "…"
}
