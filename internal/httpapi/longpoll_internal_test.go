package httpapi

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"testing"
	"time"
)

// TestParkedAnswersAreFramedAsNetHTTPWould: a gateway reads a parked
// long-poll's answers on its kept-alive connection as any HTTP/1.1
// answers: a 200 with its body, headers and length, then a 304 with no
// body (were either framed wrong, the next answer would not parse).
func TestParkedAnswersAreFramedAsNetHTTPWould(t *testing.T) {
	server, client := net.Pipe()
	defer client.Close()
	body := `{"deployment_id":"d1","type":"deploy","drivers":[]}` + "\n"
	wrote := make(chan error, 1)
	go func() {
		defer server.Close()
		ok := &bufferedAnswer{header: http.Header{}, status: http.StatusOK}
		ok.Header().Set("Content-Type", "application/json")
		ok.Header().Set("ETag", `"d1"`)
		io.WriteString(ok, body)
		same := &bufferedAnswer{header: http.Header{}, status: http.StatusOK}
		same.Header().Set("ETag", `"d1"`)
		same.WriteHeader(http.StatusNotModified)
		for _, a := range []*bufferedAnswer{ok, same} {
			if err := a.writeTo(server); err != nil {
				wrote <- err
				return
			}
		}
		wrote <- nil
	}()
	br := bufio.NewReader(client)
	client.SetReadDeadline(time.Now().Add(10 * time.Second))
	for _, want := range []struct {
		status int
		body   string
		length string
	}{{http.StatusOK, body, "52"}, {http.StatusNotModified, "", ""}} {
		resp, err := http.ReadResponse(br, &http.Request{Method: http.MethodGet})
		if err != nil {
			t.Fatalf("reading the %d answer: %v", want.status, err)
		}
		got, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatalf("reading the %d answer's body: %v", want.status, err)
		}
		if resp.StatusCode != want.status || string(got) != want.body || resp.Header.Get("Content-Length") != want.length {
			t.Errorf("answer %d %q, Content-Length %q; want %d %q, Content-Length %q",
				resp.StatusCode, got, resp.Header.Get("Content-Length"), want.status, want.body, want.length)
		}
		if resp.Header.Get("ETag") != `"d1"` || resp.ProtoMajor != 1 || resp.ProtoMinor != 1 {
			t.Errorf("answer %d: ETag %q, HTTP/%d.%d", resp.StatusCode, resp.Header.Get("ETag"), resp.ProtoMajor, resp.ProtoMinor)
		}
		if _, err := http.ParseTime(resp.Header.Get("Date")); err != nil {
			t.Errorf("answer %d: Date %q: %v", resp.StatusCode, resp.Header.Get("Date"), err)
		}
	}
	if err := <-wrote; err != nil {
		t.Errorf("writeTo: %v", err)
	}
}
