package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/driverhub/driverhub/internal/server"
	"github.com/driverhub/driverhub/internal/sqlstore"
)

// newMigrateCommand is `driverhub migrate`: apply the schema migrations
// this build knows and exit. `driverhub server` applies them on start as
// well (under the same lock); running them first, once, is the usual step
// of an upgrade with several replicas.
func newMigrateCommand() *cobra.Command {
	var database, dataDir string
	cmd := &cobra.Command{
		Use:   "migrate",
		Short: "Apply pending database schema migrations and exit",
		Long: "Apply the schema migrations this build knows to the database, one at a time, under a lock\n" +
			"(replicas starting at the same time wait for it), and exit. Running servers of the previous\n" +
			"version keep working on the migrated schema: migrations only add.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, where, err := server.OpenStore(cmd.Context(), database, dataDir)
			if err != nil {
				return err
			}
			if err := s.Close(); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "driverhub: %s is at schema version %d\n", where, sqlstore.SchemaVersion())
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&database, "database", envOr("DRIVERHUB_DATABASE", ""), "postgres://… URL of the database; empty for the SQLite file in --data (env DRIVERHUB_DATABASE)")
	f.StringVar(&dataDir, "data", envOr("DRIVERHUB_DATA", "./driverhub-data"), "directory of the embedded SQLite database (env DRIVERHUB_DATA)")
	return cmd
}
