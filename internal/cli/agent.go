package cli

import (
	"github.com/spf13/cobra"
)

func newCmdAgent(f *factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "agent",
		Short: "Send messages to agents and wait for their delivery; restart agents",
	}
	cmd.AddCommand(newCmdAgentSend(f), newCmdAgentBroadcast(f), newCmdAgentRestart(f))
	return cmd
}

// newCmdRestartAlias is the guide's spelling, `tmux-orc restart agent TARGET`; hidden.
func newCmdRestartAlias(f *factory) *cobra.Command {
	cmd := &cobra.Command{Use: "restart", Short: "Alias of agent restart", Hidden: true}
	agent := newCmdAgentRestart(f)
	agent.Use = "agent SESSION:WINDOW[.PANE] [--force]"
	cmd.AddCommand(agent)
	return cmd
}
