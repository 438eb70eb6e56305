package cli

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/driverhub/driverhub"
	"github.com/driverhub/driverhub/internal/httpapi/client"
)

// config is the file driverhub login writes: a token per server, and the
// server commands use when none is named.
type config struct {
	// Server is the server of the latest login: the default one.
	Server string `json:"server"`
	// Logins holds each server's token, under serverKey.
	Logins map[string]savedLogin `json:"logins,omitempty"`
	// Token is the one token of files written before there were several
	// logins; it belongs to Server.
	Token string `json:"token,omitempty"`
}

// savedLogin is what login keeps for one server.
type savedLogin struct {
	Token string `json:"token"`
}

// tokenFor returns the token saved for server, "" when none: a token is
// only ever sent to the server it was saved for.
func (c *config) tokenFor(server string) string {
	key := serverKey(server)
	if key == "" {
		return ""
	}
	if l, ok := c.Logins[key]; ok {
		return l.Token
	}
	if c.Token != "" && serverKey(c.Server) == key {
		return c.Token
	}
	return ""
}

// forget drops the login of server and reports whether there was one.
func (c *config) forget(server string) bool {
	key := serverKey(server)
	_, had := c.Logins[key]
	delete(c.Logins, key)
	if c.Token != "" && serverKey(c.Server) == key {
		c.Token, had = "", true
	}
	if serverKey(c.Server) == key {
		c.Server = ""
	}
	return had
}

// empty reports whether the config holds no login.
func (c *config) empty() bool { return len(c.Logins) == 0 && c.Token == "" }

// configPath is $XDG_CONFIG_HOME/driverhub/config.json, else the user's
// config directory (os.UserConfigDir) joined with driverhub/config.json.
func configPath(env func(string) string) (string, error) {
	dir := env("XDG_CONFIG_HOME")
	if dir == "" || !filepath.IsAbs(dir) {
		var err error
		if dir, err = os.UserConfigDir(); err != nil {
			return "", fmt.Errorf("find the config directory: %w", err)
		}
	}
	return filepath.Join(dir, "driverhub", "config.json"), nil
}

// loadConfig reads the config file; a missing file is an empty config.
func loadConfig(env func(string) string) (config, string, error) {
	var c config
	path, err := configPath(env)
	if err != nil {
		return c, "", nil // no home: nothing saved
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return c, path, nil
	} else if err != nil {
		return c, path, failf("read %s: %v", path, err)
	}
	if err := json.Unmarshal(b, &c); err != nil {
		return c, path, failf("read %s: %v (run driverhub login again)", path, err)
	}
	return c, path, nil
}

// saveConfig writes the config file atomically: directory 0700, file 0600.
func saveConfig(path string, c config) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, ".config-*.json") // mode 0600
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(append(b, '\n')); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

func (a *app) loginCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "login --server URL [--token TOKEN]",
		Short: "Save a server and an API token for later commands",
		Long: `Login checks an API token against a server and saves it in the config file
($XDG_CONFIG_HOME/driverhub/config.json, mode 0600), which later commands read when
neither --token nor DRIVERHUB_TOKEN is given. The server becomes the default one
for commands that name none (no --server, no DRIVERHUB_SERVER).

Each server keeps its own token, and a saved token is only ever sent to the server
it was saved for. Servers are compared by their normalised URL: the scheme and host
in lower case, without the default port, a trailing /api/v1 or slashes; localhost,
127.0.0.1 and ::1 are one host.

The token comes from --token, else from standard input when it is not a terminal,
else from a prompt that does not echo.`,
		Example: `  driverhub login --server https://hub.example.com
  echo "$TOKEN" | driverhub login --server https://hub.example.com
  grep -o 'dht_[0-9a-f]*' driverhub-data/initial-admin.json | driverhub login --server http://127.0.0.1:8080`,
		Args: exactArgs(),
		RunE: a.login,
	}
	a.connectionFlags(cmd)
	return cmd
}

func (a *app) login(cmd *cobra.Command, _ []string) error {
	cfg, path, err := loadConfig(a.env)
	if err != nil {
		return err
	}
	if path == "" {
		return failf("cannot find a config directory: set XDG_CONFIG_HOME or HOME")
	}
	server := a.server
	if !cmd.Flags().Changed("server") {
		server = a.env("DRIVERHUB_SERVER")
		if server == "" {
			server = cfg.Server
		}
	}
	if server == "" {
		return usagef(cmd, "--server is required")
	}
	base, err := serverBase(server)
	if err != nil {
		return usagef(cmd, "%v", err)
	}
	token := a.token
	if !cmd.Flags().Changed("token") {
		if token, err = readSecret(cmd, "API token for "+base+": "); err != nil {
			return err
		}
	}
	if token == "" {
		return failf("no token given")
	}
	c, err := client.New(base, token, &http.Client{})
	if err != nil {
		return failf("%v", err)
	}
	if _, err := c.ListTokens(cmd.Context(), driverhub.Page{Limit: 1}); err != nil {
		return err
	}
	cfg.forget(base)
	if cfg.Logins == nil {
		cfg.Logins = map[string]savedLogin{}
	}
	if cfg.Token != "" && cfg.Server != "" { // keep an older file's login, under its key
		cfg.Logins[serverKey(cfg.Server)] = savedLogin{Token: cfg.Token}
	}
	cfg.Token = ""
	cfg.Server = base
	cfg.Logins[serverKey(base)] = savedLogin{Token: token}
	if err := saveConfig(path, cfg); err != nil {
		return failf("save %s: %v", path, err)
	}
	fmt.Fprintf(cmd.ErrOrStderr(), "Logged in to %s; saved in %s\n", base, path)
	return nil
}

func (a *app) logoutCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "logout [--server URL | --all]",
		Short: "Forget the token driverhub login saved for a server (default: the default server)",
		Args:  exactArgs(),
		RunE:  a.logout,
	}
	a.connectionFlags(cmd)
	cmd.Flags().Bool("all", false, "forget every saved login: remove the config file")
	return cmd
}

func (a *app) logout(cmd *cobra.Command, _ []string) error {
	cfg, path, err := loadConfig(a.env)
	if err != nil && !cmd.Flags().Changed("all") {
		return err
	}
	if path == "" {
		return failf("cannot find a config directory: set XDG_CONFIG_HOME or HOME")
	}
	if all, _ := cmd.Flags().GetBool("all"); all {
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return failf("%v", err)
		}
		notice(cmd, "Removed %s", path)
		return nil
	}
	server := a.server
	if !cmd.Flags().Changed("server") {
		if server = a.env("DRIVERHUB_SERVER"); server == "" {
			server = cfg.Server
		}
	}
	if server == "" || !cfg.forget(server) {
		notice(cmd, "No saved login for %s", orDash(server))
		return nil
	}
	if cfg.empty() {
		err = os.Remove(path)
	} else {
		err = saveConfig(path, cfg)
	}
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return failf("%v", err)
	}
	notice(cmd, "Logged out of %s", server)
	return nil
}

// isTerminal reports whether f is a terminal.
func isTerminal(f any) bool {
	file, ok := f.(*os.File)
	return ok && term.IsTerminal(int(file.Fd()))
}

// readSecret reads a secret from standard input: one line when it is not
// a terminal, else after prompting on stderr without echo.
func readSecret(cmd *cobra.Command, prompt string) (string, error) {
	in := cmd.InOrStdin()
	if f, ok := in.(*os.File); ok && isTerminal(f) {
		fmt.Fprint(cmd.ErrOrStderr(), prompt)
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(cmd.ErrOrStderr())
		if err != nil {
			return "", failf("read from the terminal: %v", err)
		}
		return strings.TrimSpace(string(b)), nil
	}
	line, err := bufio.NewReader(in).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", failf("read standard input: %v", err)
	}
	return strings.TrimSpace(line), nil
}
