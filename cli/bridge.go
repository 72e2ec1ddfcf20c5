package cli

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/tmux-orc/tmux-orc/bridge"
	"github.com/tmux-orc/tmux-orc/monitor"
)

type bridgeOptions struct {
	f *factory
	bridgeFlags
	monitorFlags
}

func newCmdBridge(f *factory) *cobra.Command {
	opts := &bridgeOptions{f: f}
	cmd := &cobra.Command{
		Use:   "bridge [--tmux-socket NAME|PATH] [--url nats://...]",
		Short: "Deliver messages into the panes of one tmux server (the daemon runs one itself)",
		Long: `Run a bridge in the foreground: it discovers the sessions, windows and panes of one tmux
server, consumes their messages, types each into its pane, presses Enter, verifies that the
agent took it, and records the outcome. The daemon runs a bridge for the local tmux server
itself; run this one for another tmux server, or on another host with --url.

It also runs the monitor for the same tmux server (--no-monitor to leave it out), over the
same connection: with several --url it fails over with the bridge.`,
		Example: `  tmux-orc bridge --tmux-socket work
  tmux-orc bridge --url nats://127.0.0.1:14222`,
		Args: argsBetween(0, 0),
		RunE: func(cmd *cobra.Command, _ []string) error { return bridgeRun(cmd.Context(), opts) },
	}
	opts.bridgeFlags.add(cmd.Flags())
	opts.monitorFlags.add(cmd.Flags())
	return cmd
}

func bridgeRun(ctx context.Context, o *bridgeOptions) error {
	o.f.hostFlag = o.bridgeFlags.Host
	cfg, err := o.bridgeFlags.config(o.f.Host())
	if err != nil {
		return err
	}
	mcfg, err := o.monitorFlags.config(cfg.Socket, cfg.Host)
	if err != nil {
		return err
	}
	o.f.LogInfo()
	if p := tmuxServerProblem(ctx, cfg.Socket); p != "" {
		fmt.Fprintf(o.f.Err, "tmux-orc: warning: %s; the bridge keeps trying and starts delivering once that server runs (wrong name? --tmux-socket takes a -L name or a socket path)\n", p)
	}
	c, err := o.f.Connect(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	stopMonitor, err := monitor.Host(*mcfg, o.NoMonitor, c, o.f.Log().Named("monitor"))
	if err != nil {
		return err
	}
	defer stopMonitor()
	return bridge.New(cfg, c, o.f.Log().Named("bridge")).Run(ctx)
}
