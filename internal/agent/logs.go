package agent

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/driverhub/driverhub"
)

// Log limits on the gateway: a rotated file per driver, and what waits to
// be shipped while the server is away.
const (
	logFileMax    = 5 << 20 // rotate the file past this size
	logFilesKept  = 3       // name.log, name.log.1, name.log.2
	shipBufferMax = 5000    // lines per driver kept for shipping; the oldest go first
	maxLineBytes  = driverhub.MaxLogLineBytes
)

// driverLog receives a driver's output: it writes lines to a rotated file
// and keeps them for shipping to the server.
type driverLog struct {
	name string
	path string

	mu      sync.Mutex
	file    *os.File
	size    int64
	pending []driverhub.LogLine
	dropped int
	partial map[string][]byte // unfinished line per stream
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
	return &driverLog{name: name, path: path, file: f, size: info.Size(), partial: map[string][]byte{}}, nil
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

func (l *driverLog) write(stream string, p []byte) {
	l.mu.Lock()
	defer l.mu.Unlock()
	buf := append(l.partial[stream], p...)
	for {
		i := bytes.IndexByte(buf, '\n')
		if i < 0 {
			break
		}
		l.line(stream, buf[:i])
		buf = buf[i+1:]
	}
	if len(buf) >= maxLineBytes { // a line without end: cut it rather than grow
		l.line(stream, buf)
		buf = nil
	}
	l.partial[stream] = append([]byte(nil), buf...)
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
	l.pending = append(l.pending, driverhub.LogLine{Time: now, Stream: stream, Text: string(text)})
	if len(l.pending) > shipBufferMax {
		drop := len(l.pending) - shipBufferMax
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

// take removes up to n lines waiting to be shipped.
func (l *driverLog) take(n int) []driverhub.LogLine {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.dropped > 0 {
		// Say so in the shipped log: the server should know lines are missing.
		gap := driverhub.LogLine{Time: time.Now().UTC(), Stream: "agent", Text: fmt.Sprintf("[%d lines dropped while the server was unreachable]", l.dropped)}
		l.pending = append([]driverhub.LogLine{gap}, l.pending...)
		l.dropped = 0
	}
	n = min(n, len(l.pending))
	out := append([]driverhub.LogLine(nil), l.pending[:n]...)
	l.pending = l.pending[n:]
	return out
}

// putBack returns lines that could not be shipped, ahead of newer ones.
func (l *driverLog) putBack(lines []driverhub.LogLine) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.pending = append(append([]driverhub.LogLine(nil), lines...), l.pending...)
	if len(l.pending) > shipBufferMax {
		drop := len(l.pending) - shipBufferMax
		l.pending = l.pending[drop:]
		l.dropped += drop
	}
}

func (l *driverLog) close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.file != nil {
		l.file.Close()
		l.file = nil
	}
}
