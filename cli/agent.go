package cli

import (
	"github.com/spf13/cobra"
)

func newCmdAgent(f *factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "agent",
		Short: "Send messages to agents and wait for their delivery",
	}
	cmd.AddCommand(newCmdAgentSend(f), newCmdAgentBroadcast(f))
	return cmd
}
