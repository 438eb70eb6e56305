package main

import (
	"github.com/spf13/cobra"

	"github.com/driverhub/driverhub/internal/agentcmd"
)

// newAgentCommand is the agent role: agentcmd's flags and start-up in a
// cobra command (agentcmd itself links no cobra, for the agent binary).
func newAgentCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "agent", Short: agentcmd.Short, Long: agentcmd.Long, Args: cobra.NoArgs}
	c := agentcmd.Flags(cmd.Flags())
	cmd.RunE = func(cmd *cobra.Command, _ []string) error { return agentcmd.Run(cmd.Context(), *c) }
	return cmd
}
