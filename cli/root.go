package cli

import (
	"github.com/spf13/cobra"
)

func newCmdRoot(f *factory) *cobra.Command {
	root := &cobra.Command{
		Use:   "tmux-orc",
		Short: "Prioritized, durable notifications between AI agents in tmux",
		Long: `tmux-orc carries prioritized notifications between AI coding agents in tmux panes,
the monitors that watch them and the project managers that coordinate them, over a NATS
server with JetStream embedded in the tmux-orc daemon.

Data lives in $TMUX_ORC_HOME (default ~/.tmux-orchestrator).`,
		SilenceErrors: true,
		SilenceUsage:  true,
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &flagError{err} })
	pf := root.PersistentFlags()
	pf.StringVar(&f.homeFlag, "home", "", "data directory (default $TMUX_ORC_HOME or ~/.tmux-orchestrator)")
	pf.StringVar(&f.urlFlag, "url", "", "daemon URLs, comma-separated (default: the local daemon; or $TMUX_ORC_URL)")
	pf.BoolVarP(&f.verbose, "verbose", "v", false, "log debug messages to stderr")
	root.AddCommand(
		newCmdDaemon(f),
		newCmdPublish(f, nil),
		newCmdRead(f, nil),
		newCmdAck(f, nil),
		newCmdPubsub(f),
		newCmdBridge(f),
		newCmdAgent(f),
		newCmdStatus(f),
		newCmdRestartAlias(f),
		newCmdHook(f),
		newCmdAgentsim(),
		newCmdLoadtest(f),
		newCmdMonitor(f),
	)
	return root
}

// exactArgs and friends return flag errors so that usage mistakes exit with ExitUsage.
func argsBetween(min, max int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) < min || (max >= 0 && len(args) > max) {
			switch {
			case max == 0:
				return flagErrorf("%s takes no arguments, got %q", cmd.CommandPath(), args)
			case min == max:
				return flagErrorf("%s takes %d argument(s), got %d", cmd.CommandPath(), min, len(args))
			case max < 0:
				return flagErrorf("%s needs at least %d argument(s)", cmd.CommandPath(), min)
			}
			return flagErrorf("%s takes %d to %d arguments, got %d", cmd.CommandPath(), min, max, len(args))
		}
		return nil
	}
}
