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

// config is the file driverhub login writes: one server and its token.
type config struct {
	Server string `json:"server"`
	Token  string `json:"token"`
}

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
		Long: `Login checks an API token against a server and saves both in the config file
($XDG_CONFIG_HOME/driverhub/config.json, mode 0600), which later commands read when
neither --server/--token nor DRIVERHUB_SERVER/DRIVERHUB_TOKEN is given.

The token comes from --token, else from standard input when it is not a terminal,
else from a prompt that does not echo.`,
		Example: `  driverhub login --server https://hub.example.com
  echo "$TOKEN" | driverhub login --server https://hub.example.com`,
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
	token := a.token
	if !cmd.Flags().Changed("token") {
		if token, err = readSecret(cmd, "API token for "+server+": "); err != nil {
			return err
		}
	}
	if token == "" {
		return failf("no token given")
	}
	c, err := client.New(server, token, &http.Client{})
	if err != nil {
		return failf("%v", err)
	}
	if _, err := c.ListTokens(cmd.Context(), driverhub.Page{Limit: 1}); err != nil {
		return err
	}
	if err := saveConfig(path, config{Server: c.Server(), Token: token}); err != nil {
		return failf("save %s: %v", path, err)
	}
	fmt.Fprintf(cmd.ErrOrStderr(), "Logged in to %s; saved in %s\n", c.Server(), path)
	return nil
}

func (a *app) logoutCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "logout",
		Short: "Forget the server and token driverhub login saved",
		Args:  exactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			path, err := configPath(a.env)
			if err != nil {
				return failf("%v", err)
			}
			if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return failf("%v", err)
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "Removed %s\n", path)
			return nil
		},
	}
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
