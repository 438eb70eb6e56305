// Server URLs: the one commands call, and the key a login is saved under.

package cli

import (
	"fmt"
	"net"
	"net/url"
	"strings"
)

// apiPrefix is the API's path; people often paste the API's base URL
// (http://host:8080/api/v1) where the server's is wanted.
const apiPrefix = "/api/v1"

// serverBase returns the URL commands call: the server URL as given, with
// the scheme and host lower-cased and without trailing slashes or a
// trailing /api/v1. A path before that stays (a server behind a proxy at
// /driverhub). It refuses what is not http(s)://host[:port][/path].
func serverBase(raw string) (string, error) {
	s := strings.TrimSpace(raw)
	u, err := url.Parse(s)
	if err != nil || !strings.Contains(s, "://") {
		return "", fmt.Errorf("server URL %q: want http(s)://HOST[:PORT], e.g. http://127.0.0.1:8080", raw)
	}
	u.Scheme = strings.ToLower(u.Scheme)
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("server URL %q: want http(s)://HOST[:PORT], e.g. http://127.0.0.1:8080", raw)
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("server URL %q: want http(s)://HOST[:PORT] without a user, query or fragment", raw)
	}
	u.Host = strings.ToLower(u.Host)
	path := strings.TrimRight(u.Path, "/")
	path = strings.TrimRight(strings.TrimSuffix(path, apiPrefix), "/")
	u.Path, u.RawPath = path, ""
	return u.String(), nil
}

// serverKey names a server for the saved logins: its base URL with the
// default port dropped and every loopback name (localhost, 127.0.0.1,
// ::1) spelt localhost, so that one login serves every way of writing
// one server. "" for a URL serverBase refuses.
func serverKey(raw string) string {
	base, err := serverBase(raw)
	if err != nil {
		return ""
	}
	u, _ := url.Parse(base)
	host, port := u.Hostname(), u.Port()
	switch host {
	case "localhost", "127.0.0.1", "::1":
		host = "localhost"
	}
	if (u.Scheme == "http" && port == "80") || (u.Scheme == "https" && port == "443") {
		port = ""
	}
	if port != "" {
		u.Host = net.JoinHostPort(host, port)
	} else if strings.Contains(host, ":") {
		u.Host = "[" + host + "]"
	} else {
		u.Host = host
	}
	return u.String()
}

// sameServer reports whether two server URLs name one server.
func sameServer(a, b string) bool {
	ka := serverKey(a)
	return ka != "" && ka == serverKey(b)
}
