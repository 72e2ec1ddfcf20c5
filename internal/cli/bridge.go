package cli

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/tmux-orc/tmux-orc/bridge"
	"github.com/tmux-orc/tmux-orc/internal/daemon"
	"github.com/tmux-orc/tmux-orc/internal/monitor"
)

type bridgeOptions struct {
	f *factory
	// Flags is the flags' layer of the bridge and monitor sections (config.yaml is the
	// daemon's: this bridge does not read it).
	Flags daemon.Config
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
	addBridgeFlags(cmd.Flags(), &opts.Flags)
	addMonitorFlags(cmd.Flags(), &opts.Flags)
	return cmd
}

func bridgeRun(ctx context.Context, o *bridgeOptions) error {
	// This process's host, decided once for its bridge, its monitor and its bus client:
	// --host, else $TMUX_ORC_HOST, else the host name.
	o.f.hostFlag = o.Flags.HostName
	sock, host := tmuxSocket(o.Flags.TmuxSocket), o.f.Host()
	c := daemon.Config{Bridge: daemon.DefaultBridgeConfig(), Monitor: daemon.DefaultMonitorConfig()}
	c.Merge(o.Flags)
	cfg, err := c.Bridge.Resolve(sock, host)
	if err != nil {
		return err
	}
	mcfg, err := c.Monitor.Resolve(sock, host)
	if err != nil {
		return err
	}
	o.f.LogInfo()
	if p := tmuxServerProblem(ctx, cfg.Socket); p != "" {
		fmt.Fprintf(o.f.Err, "tmux-orc: warning: %s; the bridge keeps trying and starts delivering once that server runs (wrong name? --tmux-socket takes a -L name or a socket path)\n", p)
	}
	bc, err := o.f.Connect(ctx)
	if err != nil {
		return err
	}
	defer bc.Close()
	stopMonitor, err := monitor.Host(mcfg, !*c.Monitor.Enabled, bc, o.f.Log().Named("monitor"))
	if err != nil {
		return err
	}
	defer stopMonitor()
	return bridge.New(cfg, bc, o.f.Log().Named("bridge")).Run(ctx)
}
