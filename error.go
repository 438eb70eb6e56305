package driverhub

import (
	"errors"
	"fmt"
	"strings"
)

// Error codes. They are part of the API: clients switch on them.
const (
	EInvalid            = "invalid_argument"
	EUnauthenticated    = "unauthenticated"
	EPermissionDenied   = "permission_denied"
	ENotFound           = "not_found"
	EConflict           = "conflict"
	EVersionPublished   = "version_published"
	ETooLarge           = "too_large"
	EFailedPrecondition = "failed_precondition"
	ETooManyRequests    = "too_many_requests"
	EInsufficientStore  = "insufficient_storage"
	EQuotaExceeded      = "quota_exceeded"
	EInternal           = "internal"
	// EInvalidSignature: uploaded TUF metadata is not signed by the keys
	// and threshold the tenant's root requires (SPEC §11).
	EInvalidSignature = "invalid_signature"
)

// Problem is one reason a deployment (or another compound action) cannot proceed.
// A failed_precondition error carries every problem found, not just the first;
// so does an invalid_argument error about several fields, each naming its Field.
type Problem struct {
	Resource string      `json:"resource,omitempty"`
	Code     ProblemCode `json:"code"`
	Message  string      `json:"message"`
	Field    string      `json:"field,omitempty"`
	// Format and Args made Message; a console in another language
	// formats the translated Format with them. Not sent.
	Format string `json:"-"`
	Args   []any  `json:"-"`
}

// NewProblem returns a problem of resource whose message is formatted.
func NewProblem(resource string, code ProblemCode, format string, args ...any) Problem {
	return Problem{Resource: resource, Code: code, Message: fmt.Sprintf(format, args...), Format: format, Args: args}
}

// Error is the one error type of the domain. Services return it for every
// failure a caller can act on; anything else is an internal error.
type Error struct {
	Code     string
	Message  string
	Field    string    // the request field at fault, when there is one
	Problems []Problem // with EFailedPrecondition, or every field at fault
	// Format and Args made Message (set by Errorf, Invalid, NotFound), so
	// that a console can show the message in another language.
	Format string
	Args   []any
}

func (e *Error) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("%s: %s: %s", e.Code, e.Field, e.Message)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

// Is lets errors.Is(err, &Error{Code: X}) match any Error with code X.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code && (t.Field == "" || t.Field == e.Field)
}

// Problem is e as one problem of resource ("" for a field of the request).
func (e *Error) Problem(resource string) Problem {
	return Problem{Resource: resource, Code: ProblemCode(e.Code), Message: e.Message, Field: e.Field, Format: e.Format, Args: e.Args}
}

// Errorf returns an Error with the given code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...), Format: format, Args: args}
}

// Invalid returns an invalid_argument error naming the field at fault.
func Invalid(field, format string, args ...any) *Error {
	return &Error{Code: EInvalid, Field: field, Message: fmt.Sprintf(format, args...), Format: format, Args: args}
}

// Word is a word or phrase of the product's vocabulary given as an argument
// of a message ("driver", "version"): a console translates it with the
// message's format.
type Word string

// Message is a text made from a format and its arguments, kept whole so
// that a console can show it in another language: a stored one (a
// rollout's event, its reason) or one given as an argument of another
// message, where it reads as its English text.
type Message struct {
	Format string
	Args   []any
}

// Messagef returns the message format makes of args.
func Messagef(format string, args ...any) Message { return Message{Format: format, Args: args} }

// String is the message in English.
func (m Message) String() string { return fmt.Sprintf(m.Format, m.Args...) }

// Text is e's message whole. One made without a format (a constant
// text) is its own format, as a console looks it up, unless it holds a
// '%' that would read as a verb.
func (e *Error) Text() Message {
	switch {
	case e.Format != "":
		return Message{Format: e.Format, Args: e.Args}
	case strings.Contains(e.Message, "%"):
		return Message{Format: "%s", Args: []any{e.Message}}
	}
	return Message{Format: e.Message}
}

// NotFound returns a not_found error for a kind of resource and its name.
func NotFound(kind Word, name string) *Error {
	return Errorf(ENotFound, "%s %q not found", kind, name)
}

// Sentinels for storage adapters, compared with errors.Is. Services turn them
// into messages that name the resource.
var (
	ErrNotFound  = &Error{Code: ENotFound, Message: "not found"}
	ErrConflict  = &Error{Code: EConflict, Message: "already exists"}
	ErrBlobCheck = errors.New("blob content does not match its digest")
	// ErrNoSpace is a blob store out of disk space (or keeping the last
	// of it for the database).
	ErrNoSpace = &Error{Code: EInsufficientStore, Message: "the server is out of storage space; try again later"}
)

// ErrorCode returns the code of err, EInternal for errors of other types and
// "" for nil.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EInternal
}

// AsError returns err as *Error when it is one.
func AsError(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}
