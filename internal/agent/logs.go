package agent

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/driverhub/driverhub"
)

// Log limits on the gateway: a rotated file per driver, and what waits to
// be shipped while the server is away.
const (
	logFileMax   = 5 << 20 // rotate the file past this size
	logFilesKept = 3       // name.log, name.log.1, name.log.2
	// What waits to be shipped, per driver: lines and their bytes as JSON.
	// The oldest go first.
	shipBufferMax   = 5000
	shipBufferBytes = 1 << 20
	maxLineBytes    = driverhub.MaxLogLineBytes
)

// driverLog receives a driver's output: it writes lines to a rotated file
// and keeps them for shipping to the server.
type driverLog struct {
	name string
	path string

	// shipping is held while a batch is on its way, so that two shippers
	// (the shipping loop, a failed deployment) never reorder lines.
	shipping sync.Mutex

	mu           sync.Mutex
	file         *os.File
	size         int64
	pending      []driverhub.LogLine
	pendingBytes int // their JSON size, as wireSize counts it
	maxPending   int // bound of pendingBytes (shipBufferBytes)
	dropped      int
	partial      map[string][]byte // unfinished line per stream
}

func newDriverLog(dir, name string) (*driverLog, error) {
	path := filepath.Join(dir, name+".log")
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o640)
	if err != nil {
		return nil, err
	}
	info, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	return &driverLog{name: name, path: path, file: f, size: info.Size(), maxPending: shipBufferBytes, partial: map[string][]byte{}}, nil
}

// stream returns a writer for stdout or stderr.
func (l *driverLog) stream(name string) *streamWriter { return &streamWriter{log: l, stream: name} }

type streamWriter struct {
	log    *driverLog
	stream string
}

func (w *streamWriter) Write(p []byte) (int, error) {
	w.log.write(w.stream, p)
	return len(p), nil
}

// ReadFrom copies a driver's output with a buffer of one line's size,
// where io.Copy (os/exec's copier, for runc) would hold 32 KiB per stream
// of every driver.
func (w *streamWriter) ReadFrom(r io.Reader) (int64, error) {
	buf := make([]byte, maxLineBytes)
	var total int64
	for {
		n, err := r.Read(buf)
		if n > 0 {
			w.log.write(w.stream, buf[:n])
			total += int64(n)
		}
		if err == io.EOF {
			return total, nil
		}
		if err != nil {
			return total, err
		}
	}
}

func (l *driverLog) write(stream string, p []byte) {
	l.mu.Lock()
	defer l.mu.Unlock()
	buf := append(l.partial[stream], p...)
	for {
		i := bytes.IndexByte(buf, '\n')
		if i < 0 {
			break
		}
		l.longLine(stream, buf[:i])
		buf = buf[i+1:]
	}
	for len(buf) >= maxLineBytes { // a line without end: cut it rather than grow
		n := runeCut(buf, maxLineBytes)
		l.line(stream, buf[:n])
		buf = buf[n:]
	}
	l.partial[stream] = append([]byte(nil), buf...)
}

// longLine adds a line of any length as lines of at most maxLineBytes: the
// server keeps no more of one line.
func (l *driverLog) longLine(stream string, text []byte) {
	for len(text) > maxLineBytes {
		n := runeCut(text, maxLineBytes)
		l.line(stream, text[:n])
		text = text[n:]
	}
	l.line(stream, text)
}

// runeCut is where to cut b, at most n bytes in, without splitting a
// UTF-8 character (n itself in text that is not UTF-8).
func runeCut(b []byte, n int) int {
	if n >= len(b) {
		return len(b)
	}
	for i := n; i > n-utf8.UTFMax && i > 0; i-- {
		if utf8.RuneStart(b[i]) {
			return i
		}
	}
	return n
}

// note adds a line of the agent's own about the driver (start, exit, …).
func (l *driverLog) note(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.line("agent", []byte(fmt.Sprintf(format, args...)))
}

func (l *driverLog) line(stream string, text []byte) {
	now := time.Now().UTC()
	text = bytes.TrimRight(text, "\r")
	entry := fmt.Sprintf("%s %s %s\n", now.Format(time.RFC3339Nano), stream, text)
	if l.size+int64(len(entry)) > logFileMax {
		l.rotate()
	}
	if l.file != nil {
		n, _ := l.file.WriteString(entry)
		l.size += int64(n)
	}
	ll := driverhub.LogLine{Time: now, Stream: stream, Text: string(text)}
	l.pending = append(l.pending, ll)
	l.pendingBytes += wireSize(ll)
	l.trim()
}

// trim drops the oldest waiting lines beyond the buffer's bounds.
func (l *driverLog) trim() {
	drop := 0
	for len(l.pending)-drop > shipBufferMax || (l.pendingBytes > l.maxPending && drop < len(l.pending)) {
		l.pendingBytes -= wireSize(l.pending[drop])
		drop++
	}
	if drop > 0 {
		l.pending = append(l.pending[:0:0], l.pending[drop:]...)
		l.dropped += drop
	}
}

func (l *driverLog) rotate() {
	if l.file != nil {
		l.file.Close()
	}
	for i := logFilesKept - 1; i > 0; i-- {
		from := l.path
		if i > 1 {
			from = fmt.Sprintf("%s.%d", l.path, i-1)
		}
		os.Rename(from, fmt.Sprintf("%s.%d", l.path, i))
	}
	f, err := os.OpenFile(l.path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o640)
	if err != nil {
		l.file = nil
		return
	}
	l.file, l.size = f, 0
}

// take removes the oldest lines waiting to be shipped: at most n, whose
// JSON takes at most maxBytes (always one line at least).
func (l *driverLog) take(n, maxBytes int) []driverhub.LogLine {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.dropped > 0 {
		// Say so in the shipped log: the server should know lines are missing.
		gap := driverhub.LogLine{Time: time.Now().UTC(), Stream: "agent", Text: fmt.Sprintf("[%d lines dropped while the server was unreachable]", l.dropped)}
		l.pending = append([]driverhub.LogLine{gap}, l.pending...)
		l.pendingBytes += wireSize(gap)
		l.dropped = 0
	}
	k, size := 0, 0
	for k < min(n, len(l.pending)) {
		s := wireSize(l.pending[k])
		if k > 0 && size+s > maxBytes {
			break
		}
		size += s
		k++
	}
	out := append([]driverhub.LogLine(nil), l.pending[:k]...)
	l.pending = l.pending[k:]
	l.pendingBytes -= size
	if len(l.pending) == 0 {
		l.pending = nil // let the backing array go
	}
	return out
}

// putBack returns lines that could not be shipped, ahead of newer ones.
func (l *driverLog) putBack(lines []driverhub.LogLine) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.pending = append(append([]driverhub.LogLine(nil), lines...), l.pending...)
	for _, ll := range lines {
		l.pendingBytes += wireSize(ll)
	}
	l.trim()
}

// wireSize bounds the bytes a line takes in a JSON body, with its comma:
// every byte that encoding/json may escape counts as a six-byte \u escape.
func wireSize(ll driverhub.LogLine) int {
	const fixed = len(`{"time":"2006-01-02T15:04:05.999999999+07:00","stream":"","text":""},`)
	return fixed + jsonStringSize(ll.Stream) + jsonStringSize(ll.Text)
}

func jsonStringSize(s string) int {
	n := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c < 0x20 || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
				n += 6
			} else {
				n++
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 || r == '\u2028' || r == '\u2029' {
			n += 6 // \ufffd, \u2028, \u2029
		} else {
			n += size
		}
		i += size
	}
	return n
}

func (l *driverLog) close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.file != nil {
		l.file.Close()
		l.file = nil
	}
}

// remove closes the log, forgets what waits to be shipped and deletes its
// files, rotated ones included.
func (l *driverLog) remove() error {
	l.close()
	l.mu.Lock()
	l.pending, l.pendingBytes, l.dropped = nil, 0, 0
	l.mu.Unlock()
	return removeLogFiles(l.path)
}

// removeLogFiles deletes a driver's log file and its rotated copies.
func removeLogFiles(path string) error {
	var first error
	for i := range logFilesKept {
		p := path
		if i > 0 {
			p = fmt.Sprintf("%s.%d", path, i)
		}
		if err := os.Remove(p); err != nil && !os.IsNotExist(err) && first == nil {
			first = err
		}
	}
	return first
}

// lastRunOutput reads back from the file the driver's output (stdout and
// stderr) since the agent last started it: its last maxLines lines.
func (l *driverLog) lastRunOutput(maxLines int) []string {
	const window = 32 << 10 // enough for the lines a failure message shows
	f, err := os.Open(l.path)
	if err != nil {
		return nil
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil
	}
	from := max(0, info.Size()-window)
	buf := make([]byte, info.Size()-from)
	n, _ := f.ReadAt(buf, from)
	lines := strings.Split(string(buf[:n]), "\n")
	if from > 0 {
		lines = lines[1:] // the first one is cut
	}
	var out []string
	for _, line := range lines {
		_, rest, _ := strings.Cut(line, " ")
		stream, text, _ := strings.Cut(rest, " ")
		switch stream {
		case "agent":
			if strings.HasPrefix(text, "starting ") {
				out = out[:0]
			}
		case "stdout", "stderr":
			out = append(out, text)
		}
	}
	return out[max(0, len(out)-maxLines):]
}
