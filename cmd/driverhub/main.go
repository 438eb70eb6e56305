// Command driverhub is the control plane server, the edge agent and the
// command-line client, in one binary.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/driverhub/driverhub"
	"github.com/driverhub/driverhub/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := newRootCommand().ExecuteContext(ctx)
	stop()
	if err != nil {
		os.Exit(cli.ReportError(os.Stderr, err))
	}
}

func newRootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:           "driverhub",
		Short:         "Publish IoT edge drivers from the cloud and run them on gateways",
		Version:       driverhub.Version, // --version, as `driverhub version`
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetVersionTemplate("driverhub version {{.Version}}\n")
	root.AddCommand(newServerCommand(), newMigrateCommand(), newFsckCommand(), newAgentCommand(), &cobra.Command{
		Use:   "version",
		Short: "Print driverhub's version",
		Args:  cobra.NoArgs,
		Run: func(cmd *cobra.Command, _ []string) {
			fmt.Fprintln(cmd.OutOrStdout(), driverhub.Version)
		},
	})
	cli.Install(root)
	return root
}

// envOr returns the environment variable key, or def when it is unset.
func envOr(key, def string) string {
	if v, ok := os.LookupEnv(key); ok {
		return v
	}
	return def
}
