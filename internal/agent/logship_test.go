package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/driverhub/driverhub"
)

// testLog gives the agent a log for driver "meter" that keeps up to
// maxPending bytes waiting (the default bound when 0).
func (ta *testAgent) testLog(t *testing.T, maxPending int) *driverLog {
	t.Helper()
	l, err := newDriverLog(t.TempDir(), "meter")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(l.close)
	if maxPending > 0 {
		l.maxPending = maxPending
	}
	ta.mu.Lock()
	ta.logs["meter"] = l
	ta.mu.Unlock()
	return l
}

// A driver printing long lines gets every line to the server, in bodies
// the server accepts, whatever the lines' lengths and characters.
func TestLogBatchesStayUnderTheBodyLimit(t *testing.T) {
	for _, tc := range []struct {
		name  string
		text  string // each line: a number, then text
		lines int
	}{
		{"1.2 KB lines", strings.Repeat("x", 1200), 3000},
		{"8 KiB lines", strings.Repeat("y", maxLineBytes-6), 500},
		{"8 KiB lines that JSON escapes", strings.Repeat("<\x01", (maxLineBytes-6)/2), 150},
		{"lines longer than the server keeps", strings.Repeat("é", 20000), 60},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ta := newTestAgent(t)
			l := ta.testLog(t, 64<<20) // everything waits: the server was away
			var want []string
			for i := range tc.lines {
				line := fmt.Sprintf("%05d %s", i, tc.text)
				l.write("stdout", []byte(line+"\n"))
				for len(line) > maxLineBytes { // the agent splits what the server would cut
					n := runeCut([]byte(line), maxLineBytes)
					want, line = append(want, line[:n]), line[n:]
				}
				want = append(want, line)
			}
			ta.shipAllLogs(context.Background())

			ta.gw.mu.Lock()
			bodies := append([]int(nil), ta.gw.logBodies...)
			ta.gw.mu.Unlock()
			for i, n := range bodies {
				if n >= driverhub.MaxGatewayBodyBytes {
					t.Errorf("body %d of %d is %d bytes: the server refuses %d and more", i+1, len(bodies), n, driverhub.MaxGatewayBodyBytes)
				}
			}
			got := ta.gw.received("meter")
			if len(got) != len(want) {
				t.Fatalf("the server received %d lines in %d bodies, want %d", len(got), len(bodies), len(want))
			}
			for i := range want {
				if got[i] != want[i] {
					t.Fatalf("line %d: got %.40q…, want %.40q…", i, got[i], want[i])
				}
			}
		})
	}
}

// logBuffer collects the agent's own log.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// A batch the server refuses is said in the agent's log once and dropped:
// later lines are not held back behind it. A batch the server could not
// take now is sent again.
func TestRefusedLogBatchIsLoggedAndDropped(t *testing.T) {
	for _, tc := range []struct {
		status    int
		delivered []string // the lines the server has in the end
		logged    bool
	}{
		{http.StatusBadRequest, []string{"second"}, true},
		{http.StatusRequestEntityTooLarge, []string{"second"}, true},
		{http.StatusServiceUnavailable, []string{"first", "second"}, false},
		{http.StatusTooManyRequests, []string{"first", "second"}, false},
	} {
		t.Run(fmt.Sprint(tc.status), func(t *testing.T) {
			ta := newTestAgent(t)
			var agentLog logBuffer
			ta.log = slog.New(slog.NewTextHandler(&agentLog, nil))
			ta.gw.refuseLogs = func(batch int) int {
				if batch == 1 {
					return tc.status
				}
				return 0
			}
			l := ta.testLog(t, 0)
			l.write("stdout", []byte("first\n"))
			ta.shipAllLogs(context.Background())
			l.write("stdout", []byte("second\n"))
			ta.shipAllLogs(context.Background())

			if got := ta.gw.received("meter"); fmt.Sprint(got) != fmt.Sprint(tc.delivered) {
				t.Errorf("the server has %q, want %q", got, tc.delivered)
			}
			if n := strings.Count(agentLog.String(), "refused a batch of driver output"); tc.logged != (n == 1) || n > 1 {
				t.Errorf("the agent logged the refusal %d times, want once if dropped: %s", n, agentLog.String())
			}
		})
	}
}

// wireSize is what batching counts: it must never be less than the JSON.
func TestWireSizeBoundsTheJSON(t *testing.T) {
	texts := []string{"", "plain", `<a href="x">&amp;</a>`, "tab\there\r\n\x00\x1f\x7f", "\xff\xfe broken UTF-8 \xc3",
		"\u2028\u2029", "中文 and emoji 😀", strings.Repeat("\\\"", 100)}
	rnd := rand.New(rand.NewPCG(1, 2))
	for range 200 {
		b := make([]byte, rnd.IntN(300))
		for i := range b {
			b[i] = byte(rnd.IntN(256))
		}
		texts = append(texts, string(b))
	}
	for _, text := range texts {
		ll := driverhub.LogLine{Time: time.Date(2026, 11, 30, 5, 38, 10, 123456789, time.UTC), Stream: "stderr", Text: text}
		j, err := json.Marshal(ll)
		if err != nil {
			t.Fatal(err)
		}
		if got, min := wireSize(ll), len(j)+1; got < min {
			t.Errorf("wireSize(%q) = %d, but its JSON and comma take %d", text, got, min)
		}
	}
}

// os/exec copies a runc driver's output with io.Copy: through ReadFrom,
// with the log's own small buffer, the lines arrive whole.
func TestStreamWriterReadsFromAPipe(t *testing.T) {
	ta := newTestAgent(t)
	l := ta.testLog(t, 0)
	long := strings.Repeat("z", 3*maxLineBytes/2)
	n, err := io.Copy(l.stream("stderr"), strings.NewReader("one\n"+long+"\ntwo"+"\nthree\n"))
	if err != nil || n != int64(len(long)+15) {
		t.Fatalf("copied %d bytes (%v)", n, err)
	}
	ta.shipAllLogs(context.Background())
	want := []string{"one", long[:maxLineBytes], long[maxLineBytes:], "two", "three"}
	if got := ta.gw.received("meter"); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("received %d lines, want %d: the first %.20q", len(got), len(want), got)
	}
}
