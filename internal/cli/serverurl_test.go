package cli

import "testing"

// Every spelling of one server finds its login; other servers do not.
func TestServerKey(t *testing.T) {
	same := [][]string{
		{"http://127.0.0.1:8080", "http://localhost:8080", "http://[::1]:8080", "HTTP://LOCALHOST:8080/",
			"http://127.0.0.1:8080/api/v1", "http://localhost:8080/api/v1/", "http://127.0.0.1:8080//"},
		{"https://hub.example.com", "https://HUB.example.com:443", "https://hub.example.com/api/v1"},
		{"http://hub.example.com", "http://hub.example.com:80/"},
		{"https://proxy.example.com/driverhub", "https://proxy.example.com/driverhub/api/v1/"},
	}
	for _, group := range same {
		for _, s := range group[1:] {
			if !sameServer(group[0], s) {
				t.Errorf("%s and %s are not the same server: keys %q and %q", group[0], s, serverKey(group[0]), serverKey(s))
			}
		}
	}
	for _, pair := range [][2]string{
		{"http://127.0.0.1:8080", "http://127.0.0.1:8081"},
		{"http://hub.example.com", "https://hub.example.com"},
		{"http://127.0.0.1:8080", "http://10.0.0.1:8080"},
		{"https://proxy.example.com/a", "https://proxy.example.com/b"},
		{"", ""},
		{"localhost:8080", "localhost:8080"},
	} {
		if sameServer(pair[0], pair[1]) {
			t.Errorf("%q and %q count as one server", pair[0], pair[1])
		}
	}
}

func TestServerBase(t *testing.T) {
	for in, want := range map[string]string{
		"http://127.0.0.1:8080/api/v1":      "http://127.0.0.1:8080",
		" HTTPS://Hub.Example.com/api/v1/ ": "https://hub.example.com",
		"http://localhost:8080":             "http://localhost:8080",
		"https://proxy.example.com/dh//":    "https://proxy.example.com/dh",
	} {
		if got, err := serverBase(in); err != nil || got != want {
			t.Errorf("serverBase(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"localhost:8080", "127.0.0.1:8080", "ftp://hub", "http://", "http://u:p@hub", "http://hub?x=1"} {
		if got, err := serverBase(bad); err == nil {
			t.Errorf("serverBase(%q) = %q, want an error", bad, got)
		}
	}
}
