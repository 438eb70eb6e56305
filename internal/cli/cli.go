// Package cli is driverhub's command-line client: one cobra command per
// resource of the REST API, in the conventions of gh and kubectl, calling
// the server through the Go client package the edge agent also uses.
package cli

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/driverhub/driverhub/internal/httpapi/client"
)

// UsageError is a mistake in how a command was called: an unknown command
// or flag, a wrong number of arguments, a missing or bad flag value. It
// exits with status 2 and prints the command's usage.
type UsageError struct {
	Cmd *cobra.Command
	Err error
}

func (e *UsageError) Error() string { return e.Err.Error() }
func (e *UsageError) Unwrap() error { return e.Err }

// usagef returns a UsageError of cmd.
func usagef(cmd *cobra.Command, format string, args ...any) error {
	return &UsageError{Cmd: cmd, Err: fmt.Errorf(format, args...)}
}

// ExitError ends the program with Code after printing Err (when not nil).
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("exit status %d", e.Code)
	}
	return e.Err.Error()
}
func (e *ExitError) Unwrap() error { return e.Err }

// failf returns an ExitError with status 1.
func failf(format string, args ...any) error {
	return &ExitError{Code: 1, Err: fmt.Errorf(format, args...)}
}

// app holds what every client command shares: the connection settings
// and the process's streams.
type app struct {
	server string // --server
	token  string // --token
	// env reads the environment; tests of the package may replace it.
	env func(string) string
}

// Install adds the client's commands to root, makes every flag or argument
// mistake a UsageError, and makes unknown commands usage errors too.
func Install(root *cobra.Command) {
	a := &app{env: os.Getenv}
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
		return &UsageError{Cmd: cmd, Err: err}
	})
	groupify(root)
	// The version command gains subcommands for driver versions and still
	// prints driverhub's version when called alone.
	for _, c := range root.Commands() {
		if c.Name() == "version" {
			root.RemoveCommand(c)
		}
	}
	cmds := []*cobra.Command{
		a.loginCommand(), a.logoutCommand(),
		a.driverCommand(), a.versionCommand(), a.listingCommand(),
		a.marketCommand(), a.acquisitionsCommand(),
		a.instanceCommand(), a.deviceCommand(),
		a.deployCommand(), a.deploymentCommand(), a.logsCommand(),
		a.tokenCommand(), a.userCommand(), a.tenantCommand(),
		a.trustCommand(), a.signCommand(), a.unsignCommand(),
		a.rolloutCommand(),
	}
	for _, c := range cmds {
		a.addCompletions(c)
		c.Aliases = append(c.Aliases, otherNames[c.Name()].aliases...)
		c.SuggestFor = otherNames[c.Name()].suggestFor
	}
	root.AddCommand(cmds...)
}

// otherNames are what people type for a command group: its plural or
// singular works as well (as kubectl takes both), and words of the same
// meaning are answered with "Did you mean this?".
var otherNames = map[string]struct{ aliases, suggestFor []string }{
	"driver":       {aliases: []string{"drivers"}},
	"version":      {aliases: []string{"versions"}, suggestFor: []string{"package", "packages", "publish"}},
	"listing":      {aliases: []string{"listings"}},
	"market":       {aliases: []string{"marketplace"}},
	"acquisitions": {aliases: []string{"acquisition"}},
	"instance":     {aliases: []string{"instances"}, suggestFor: []string{"gateway", "gateways", "edge"}},
	"device":       {aliases: []string{"devices"}, suggestFor: []string{"subdevice", "subdevices"}},
	"deployment":   {aliases: []string{"deployments"}},
	"logs":         {aliases: []string{"log"}},
	"token":        {aliases: []string{"tokens"}},
	"user":         {aliases: []string{"users"}},
	"tenant":       {aliases: []string{"tenants"}},
	"rollout":      {aliases: []string{"rollouts"}, suggestFor: []string{"canary", "waves"}},
}

// groupify makes a command that only holds subcommands answer its help
// when called alone and a usage error when given an unknown subcommand.
func groupify(cmd *cobra.Command) *cobra.Command {
	cmd.Args = cobra.ArbitraryArgs
	cmd.SuggestionsMinimumDistance = 2 // SuggestionsFor, called directly, has no default
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if len(args) == 0 {
			return cmd.Help()
		}
		msg := fmt.Sprintf("unknown command %q for %q", args[0], cmd.CommandPath())
		if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
			msg += "\n\nDid you mean this?\n\t" + strings.Join(s, "\n\t")
		}
		return &UsageError{Cmd: cmd, Err: errors.New(msg)}
	}
	return cmd
}

// group returns a command holding subcommands, with the connection flags.
func (a *app) group(use, short string, subs ...*cobra.Command) *cobra.Command {
	cmd := groupify(&cobra.Command{Use: use, Short: short})
	a.connectionFlags(cmd)
	cmd.AddCommand(subs...)
	return cmd
}

// connectionFlags adds --server and --token, inherited by subcommands.
func (a *app) connectionFlags(cmd *cobra.Command) {
	f := cmd.PersistentFlags()
	f.StringVar(&a.server, "server", "", "server URL (default $DRIVERHUB_SERVER, else the one driverhub login saved)")
	f.StringVar(&a.token, "token", "", "API token (default $DRIVERHUB_TOKEN, else the one driverhub login saved)")
}

// Argument validators that answer usage errors.

func exactArgs(names ...string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != len(names) {
			if len(names) == 0 {
				return usagef(cmd, "%s takes no arguments, got %d", cmd.CommandPath(), len(args))
			}
			return usagef(cmd, "%s takes %s: %s; got %d", cmd.CommandPath(), plural(len(names), "argument", "arguments"), strings.Join(names, " "), len(args))
		}
		for i, v := range args {
			if v == "" {
				return usagef(cmd, "%s must not be empty", names[i])
			}
		}
		return nil
	}
}

func rangeArgs(min, max int, names ...string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) < min || len(args) > max {
			return usagef(cmd, "%s takes %d to %d arguments: %s; got %d", cmd.CommandPath(), min, max, strings.Join(names, " "), len(args))
		}
		return nil
	}
}

// required checks that flags were given, as a usage error.
func required(cmd *cobra.Command, names ...string) error {
	var missing []string
	for _, n := range names {
		if f := cmd.Flags().Lookup(n); f == nil || !f.Changed {
			missing = append(missing, "--"+n)
		}
	}
	if len(missing) > 0 {
		noun := "flags"
		if len(missing) == 1 {
			noun = "flag"
		}
		return usagef(cmd, "required %s not set: %s", noun, strings.Join(missing, ", "))
	}
	return nil
}

// settings resolves the server and token: flags, then the environment,
// then the file driverhub login wrote. The file's token is used only with
// the server it was saved for, so it never goes to another server.
func (a *app) settings(cmd *cobra.Command) (server, token string, err error) {
	server, token = a.server, a.token
	if f := cmd.Flags().Lookup("server"); f == nil || !f.Changed {
		server = a.env("DRIVERHUB_SERVER")
	}
	if f := cmd.Flags().Lookup("token"); f == nil || !f.Changed {
		token = a.env("DRIVERHUB_TOKEN")
	}
	if server != "" && token != "" {
		return server, token, nil
	}
	cfg, _, err := loadConfig(a.env)
	if err != nil {
		return "", "", err
	}
	if server == "" {
		server = cfg.Server
	}
	if token == "" {
		token = cfg.tokenFor(server)
	}
	return server, token, nil
}

// client returns an API client for the resolved server and token.
func (a *app) client(cmd *cobra.Command) (*client.Client, error) {
	server, token, err := a.settings(cmd)
	if err != nil {
		return nil, err
	}
	if server == "" {
		return nil, failf("no server: pass --server, set DRIVERHUB_SERVER or run driverhub login")
	}
	base, err := serverBase(server)
	if err != nil {
		return nil, failf("%v (from --server, DRIVERHUB_SERVER or driverhub login)", err)
	}
	if token == "" {
		return nil, failf("no token for %s: pass --token, set DRIVERHUB_TOKEN or run driverhub login --server %s", base, base)
	}
	c, err := client.New(base, token, &http.Client{})
	if err != nil {
		return nil, failf("%v", err)
	}
	return c, nil
}

// leaf makes a command with an argument validator and a run function that
// receives a connected client.
func (a *app) leaf(use, short string, args cobra.PositionalArgs, run func(cmd *cobra.Command, c *client.Client, args []string) error) *cobra.Command {
	return &cobra.Command{
		Use:   use,
		Short: short,
		Args:  args,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client(cmd)
			if err != nil {
				return err
			}
			return run(cmd, c, args)
		},
	}
}
