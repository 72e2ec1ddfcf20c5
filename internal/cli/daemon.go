package cli

import (
	"github.com/spf13/cobra"
)

func newCmdDaemon(f *factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "daemon",
		Short: "Run and manage the tmux-orc daemon (the embedded NATS server)",
	}
	cmd.AddCommand(newCmdDaemonStart(f, nil), newCmdDaemonStop(f), newCmdDaemonStatus(f), newCmdDaemonLogs(f), newCmdDaemonHealth(f))
	return cmd
}
