package service

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/driverhub/driverhub"
)

// What a gateway's reports may leave in a deployment (SPEC §13). A
// gateway's secret sits on a device in the field: whoever holds it must
// not be able to grow a deployment, which every report rewrites and every
// view reads, without bound. Long texts are cut rather than refused, so
// that a chatty driver's report still lands.

// limitReport cuts what a report carries: log messages and the reason at
// MaxReportLogMessageBytes (with a marker), levels at
// MaxReportLogLevelBytes, and each resource to its newest
// MaxReportLogEntries log entries.
func limitReport(r *driverhub.GatewayReport) {
	d := r.Deployment
	if d == nil {
		return
	}
	d.Reason = cutText(d.Reason, driverhub.MaxReportLogMessageBytes)
	for k := range d.Resources {
		res := &d.Resources[k]
		if n := len(res.Log); n > driverhub.MaxReportLogEntries {
			res.Log = res.Log[n-driverhub.MaxReportLogEntries:]
		}
		for j := range res.Log {
			e := &res.Log[j]
			e.Message = cutText(e.Message, driverhub.MaxReportLogMessageBytes)
			e.Level = cutText(e.Level, driverhub.MaxReportLogLevelBytes)
		}
	}
}

// cutText returns s without NULs (no text, and PostgreSQL refuses them)
// and, when longer than max bytes, cut at a character boundary and ending
// with a marker that says how long it was, max bytes in all.
func cutText(s string, max int) string {
	s = strings.ReplaceAll(s, "\x00", "\uFFFD")
	if len(s) <= max {
		return s
	}
	marker := fmt.Sprintf("…[cut from %d bytes]", len(s))
	if len(marker) >= max {
		marker = "…"
	}
	cut := max - len(marker)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + marker
}

// keepResourceLog appends a report's entries to a resource's log and
// keeps the newest that fit: at most MaxReportLogEntries, whose JSON is
// at most MaxResourceLogBytes.
func keepResourceLog(log, more []driverhub.LogEntry) []driverhub.LogEntry {
	log = append(log, more...)
	size, keep := 2, 0 // the brackets
	for k := len(log) - 1; k >= 0 && keep < driverhub.MaxReportLogEntries; k-- {
		n := logEntryJSONSize(log[k]) + 1 // and its comma
		if size+n > driverhub.MaxResourceLogBytes && keep > 0 {
			break
		}
		size, keep = size+n, keep+1
	}
	return log[len(log)-keep:]
}

// keepDeploymentLog bounds the logs of all of a deployment's resources
// together at MaxDeploymentLogBytes: while over, the largest log loses
// its oldest entry, so that one chatty resource cannot push out the one
// line that says why another failed.
func keepDeploymentLog(d *driverhub.Deployment) {
	sizes := make([]int, len(d.Resources))
	total := 0
	for k, res := range d.Resources {
		for _, e := range res.Log {
			sizes[k] += logEntryJSONSize(e) + 1
		}
		total += sizes[k]
	}
	for total > driverhub.MaxDeploymentLogBytes {
		largest := 0
		for k := range sizes {
			if sizes[k] > sizes[largest] {
				largest = k
			}
		}
		res := &d.Resources[largest]
		if len(res.Log) == 0 {
			return
		}
		n := logEntryJSONSize(res.Log[0]) + 1
		res.Log = res.Log[1:]
		sizes[largest] -= n
		total -= n
	}
}

// logEntryJSONSize bounds the size of an entry's compact JSON from above:
// its fixed part with the longest timestamp, and its texts with every
// character JSON may escape counted as an escape.
func logEntryJSONSize(e driverhub.LogEntry) int {
	const fixed = len(`{"time":"","level":"","stage":"","message":""}`) + len("2006-01-02T15:04:05.999999999+00:00")
	return fixed + jsonStringSize(e.Level) + jsonStringSize(string(e.Stage)) + jsonStringSize(e.Message)
}

// jsonStringSize is the most bytes s takes inside a JSON string: control
// characters, quotes, backslashes, HTML characters, U+2028, U+2029 and
// invalid bytes may each become a six-byte escape.
func jsonStringSize(s string) int {
	n := 0
	for _, r := range s {
		switch {
		case r < 0x20, r == '"', r == '\\', r == '<', r == '>', r == '&', r == '\u2028', r == '\u2029', r == utf8.RuneError:
			n += 6
		default:
			n += utf8.RuneLen(r)
		}
	}
	return n
}
