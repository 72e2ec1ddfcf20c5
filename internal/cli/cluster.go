package cli

import (
	"github.com/spf13/cobra"
)

func newCmdCluster(f *factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "cluster",
		Short: "Set up a cluster of daemons: certificates, credentials and configuration",
	}
	cmd.AddCommand(newCmdClusterInit(f))
	return cmd
}
