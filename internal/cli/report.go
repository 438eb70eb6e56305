// How an error reaches the user: one "Error:" line (and the usage, or the
// server's problems), and an exit status.

package cli

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"syscall"

	"github.com/driverhub/driverhub"
	"github.com/driverhub/driverhub/internal/httpapi/client"
)

// ReportError prints err the way a user should read it on w and returns
// the exit status: 2 for usage errors, 1 for the server's errors (with
// the field and every problem), an ExitError's own code, 130 when
// interrupted. Whatever came from the server is printed with its control
// characters escaped.
func ReportError(w io.Writer, err error) int {
	var usage *UsageError
	var exit *ExitError
	var apiErr *driverhub.Error
	switch {
	case errors.As(err, &usage):
		fmt.Fprintf(w, "Error: %v\n", usage.Err)
		if usage.Cmd != nil {
			fmt.Fprint(w, usage.Cmd.UsageString())
		}
		return 2
	case errors.As(err, &exit) && exit.Err == nil:
		return exit.Code
	case errors.As(err, &apiErr):
		printAPIError(w, err, apiErr)
		if errors.As(err, &exit) {
			return exit.Code
		}
		return 1
	case errors.Is(err, context.Canceled):
		fmt.Fprintln(w, "Interrupted")
		return 130
	}
	fmt.Fprintf(w, "Error: %s\n", safeText(errorText(err)))
	if errors.As(err, &exit) {
		return exit.Code
	}
	return 1
}

// errorText is err's message, or the sentence that says a server cannot
// be reached.
func errorText(err error) string {
	if m, ok := unreachable(err); ok {
		return m
	}
	return err.Error()
}

// printAPIError writes the server's message, its field and each problem of
// a refused deployment. An internal error says little by itself, so it
// names the call that got it.
func printAPIError(w io.Writer, err error, e *driverhub.Error) {
	msg := e.Message
	if e.Field != "" {
		msg = e.Field + ": " + msg
	}
	var call *client.CallError
	if e.Code == driverhub.EInternal && errors.As(err, &call) {
		msg = call.Method + " " + call.Path + ": " + msg
	}
	fmt.Fprintf(w, "Error: %s (%s)\n", safeText(msg), safeText(e.Code))
	for _, p := range e.Problems {
		where := p.Resource
		switch {
		case where == "":
			where = p.Field
		case p.Field != "": // a problem of many fields (a rollout's input) names its field
			where += " " + p.Field
		}
		fmt.Fprintf(w, "  - %s: %s (%s)\n", safeText(where), safeText(p.Message), safeText(string(p.Code)))
	}
}

// unreachable turns a failure to reach the server into a sentence that
// says which server and what to check, instead of Go's "dial tcp …".
func unreachable(err error) (string, bool) {
	var ue *url.Error
	if !errors.As(err, &ue) {
		return "", false
	}
	server := ue.URL
	if u, perr := url.Parse(ue.URL); perr == nil {
		server = (&url.URL{Scheme: u.Scheme, Host: u.Host}).String()
	}
	why, hint := netReason(ue.Err)
	msg := fmt.Sprintf("cannot reach the driverhub server at %s: %s", server, why)
	if hint != "" {
		msg += " — " + hint
	}
	return msg, true
}

// What to check when the server cannot be reached.
const (
	hintRunning = "is `driverhub server` running? (--server / DRIVERHUB_SERVER)"
	hintURL     = "check the server URL (--server / DRIVERHUB_SERVER)"
)

// netReason says in a few words why a connection failed, and what to
// check.
func netReason(err error) (why, hint string) {
	var dns *net.DNSError
	var unknownCA x509.UnknownAuthorityError
	var hostname x509.HostnameError
	var record tls.RecordHeaderError
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused", hintRunning
	case errors.As(err, &dns):
		return "cannot resolve " + dns.Name + ": " + dns.Err, hintURL
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		return "no route to the host", hintURL
	case errors.Is(err, syscall.ECONNRESET):
		return "the connection was reset", hintRunning
	case errors.As(err, &record):
		return "it does not speak TLS", "use http:// rather than https://"
	case errors.As(err, &unknownCA), errors.As(err, &hostname):
		return "its TLS certificate is not trusted: " + err.Error(), ""
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return "timed out", hintRunning
	}
	return err.Error(), ""
}
