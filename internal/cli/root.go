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
	pf.StringVar(&f.credsFlag, "creds", "", "NKey seed file to authenticate with (default $TMUX_ORC_CREDS, the daemon's client.creds, or the data directory's)")
	pf.StringVar(&f.tls.CA, "tls-ca", "", "CA certificate that signed the daemons' certificates ($TMUX_ORC_TLS_CA)")
	pf.StringVar(&f.tls.Cert, "tls-cert", "", "client certificate, when the daemons require one ($TMUX_ORC_TLS_CERT)")
	pf.StringVar(&f.tls.Key, "tls-key", "", "client certificate's key ($TMUX_ORC_TLS_KEY)")
	pf.BoolVarP(&f.verbose, "verbose", "v", false, "log debug messages to stderr")
	root.AddCommand(
		newCmdDaemon(f),
		newCmdPublish(f),
		newCmdRead(f),
		newCmdInbox(f),
		newCmdSchedule(f),
		newCmdAck(f),
		newCmdPubsub(f),
		newCmdBridge(f),
		newCmdAgent(f),
		newCmdStatus(f),
		newCmdRestartAlias(f),
		newCmdHook(f),
		newCmdAgentsim(),
		newCmdLoadtest(f),
		newCmdMonitor(f),
		newCmdCluster(f),
	)
	rejectUnknownSubcommands(root)
	return root
}

// rejectUnknownSubcommands makes every command that only groups others (tmux-orc, daemon,
// pubsub, agent, monitor, cluster) print its help when called alone and refuse an unknown subcommand
// as a usage error. Cobra itself reports unknown subcommands with a plain error on the root
// only, and shows help with exit 0 below it.
func rejectUnknownSubcommands(cmd *cobra.Command) {
	for _, sub := range cmd.Commands() {
		rejectUnknownSubcommands(sub)
	}
	if !cmd.HasSubCommands() || cmd.Runnable() {
		return
	}
	cmd.Args = func(c *cobra.Command, args []string) error {
		if len(args) > 0 {
			return flagErrorf("unknown command %q for %q", args[0], c.CommandPath())
		}
		return nil
	}
	cmd.RunE = func(c *cobra.Command, _ []string) error { return c.Help() }
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
