package runc

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/driverhub/driverhub/internal/driverrt"
)

// A container gets its own small /etc, never the host's: the host's holds
// shadow, the gateway secret (/etc/driverhub) and whatever else the
// gateway keeps there. The rootfs holds the files written for the driver
// (passwd and group naming its user, hosts, resolv.conf, nsswitch.conf);
// hostEtc lists what is bind-mounted read-only from the host when
// present: configuration the language runtimes read, none of it secret.
var hostEtc = []string{
	"/etc/alternatives", // Debian's /usr/bin/java -> /etc/alternatives/java
	"/etc/java-*",       // the JDK's conf/security files are symlinks here
	"/etc/python3*",     // Debian's sitecustomize
	"/etc/ssl/certs",    // CA certificates (never /etc/ssl/private)
	"/etc/ssl/openssl.cnf",
	"/etc/ca-certificates",
	"/etc/pki/ca-trust", // CA certificates on RHEL-likes
	"/etc/pki/tls/certs",
	"/etc/pki/tls/openssl.cnf",
	"/etc/pki/java",
	"/etc/crypto-policies", // which RHEL's OpenSSL and JDK read
	"/etc/ld.so.cache",     // libraries outside the loader's default directories
	"/etc/localtime",
	"/etc/timezone",
	"/etc/protocols",
	"/etc/services",
	"/etc/mime.types",
}

// nsswitch keeps name lookups to the files the container has: no NSS
// module that would try the host's daemons.
const nsswitch = `passwd: files
group: files
shadow: files
hosts: files dns
networks: files
protocols: files
services: files
`

// etcFiles are the files written into the rootfs's /etc for the driver.
func etcFiles(u driverrt.User, home string) map[string][]byte {
	passwd := "root:x:0:0:root:/root:/usr/sbin/nologin\n"
	group := "root:x:0:\n"
	if u.UID != 0 {
		passwd += fmt.Sprintf("%s:x:%d:%d:driverhub driver:%s:/usr/sbin/nologin\n", u.Name, u.UID, u.GID, home)
	}
	if u.GID != 0 {
		group += fmt.Sprintf("%s:x:%d:\n", u.Group, u.GID)
	}
	if u.UID != 65534 {
		passwd += "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n"
	}
	if u.GID != 65534 {
		group += "nogroup:x:65534:\n"
	}
	files := map[string][]byte{"passwd": []byte(passwd), "group": []byte(group), "nsswitch.conf": []byte(nsswitch)}
	// The host's name service configuration, copied at start: a copy, so
	// that a later change on the host does not reach in half-written.
	for name, fallback := range map[string]string{"hosts": "127.0.0.1\tlocalhost\n::1\tlocalhost\n", "resolv.conf": ""} {
		b, err := os.ReadFile(filepath.Join("/etc", name))
		if err != nil {
			b = []byte(fallback)
		}
		files[name] = b
	}
	return files
}

// etcMounts bind-mounts the hostEtc entries that exist, read-only.
func etcMounts() []specs.Mount {
	var ms []specs.Mount
	for _, pattern := range hostEtc {
		matches, _ := filepath.Glob(pattern)
		for _, p := range matches {
			if strings.ContainsAny(filepath.Base(p), "~#") { // editors' leftovers
				continue
			}
			if _, err := os.Stat(p); err == nil {
				ms = append(ms, bindMount(p, p, true))
			}
		}
	}
	return ms
}

// writeEtc writes the files into the rootfs's /etc.
func writeEtc(rootfs string, files map[string][]byte) error {
	etc := filepath.Join(rootfs, "etc")
	if err := os.MkdirAll(etc, 0o755); err != nil {
		return fmt.Errorf("runc: bundle: %w", err)
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(etc, name), data, 0o644); err != nil {
			return fmt.Errorf("runc: bundle: %w", err)
		}
	}
	return nil
}
