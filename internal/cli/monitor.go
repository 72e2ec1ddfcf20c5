package cli

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/tmux-orc/tmux-orc/internal/monitor"
)

func newCmdMonitor(f *factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "monitor",
		Short: "Start, stop or inspect the monitor the daemon runs (idle, stuck and crashed agents)",
		Long: `The monitor runs inside the daemon (unless it was started with --no-monitor). These commands
ask the daemon to start or stop it, and show what it sees.`,
	}
	cmd.AddCommand(newCmdMonitorControl(f, "start", "Start the daemon's monitor (it runs by default)"),
		newCmdMonitorControl(f, "stop", "Stop the daemon's monitor; the daemon and its bridge keep running"),
		newCmdMonitorStatus(f))
	return cmd
}

func newCmdMonitorControl(f *factory, action, short string) *cobra.Command {
	return &cobra.Command{
		Use:   action,
		Short: short,
		Args:  argsBetween(0, 0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			c, err := f.Connect(ctx)
			if err != nil {
				return err
			}
			defer c.Close()
			rep, err := monitor.Control(ctx, c, namedHost(), action)
			if err != nil {
				return err
			}
			state := map[bool]string{true: "running", false: "stopped"}[rep.Running]
			if rep.Changed {
				fmt.Fprintf(f.Out, "monitor %s (now %s)\n", map[string]string{"start": "started", "stop": "stopped"}[action], state)
			} else {
				fmt.Fprintf(f.Out, "monitor already %s\n", state)
			}
			return nil
		},
	}
}

type monitorStatusOptions struct {
	f    *factory
	JSON bool
}

func newCmdMonitorStatus(f *factory) *cobra.Command {
	opts := &monitorStatusOptions{f: f}
	cmd := &cobra.Command{
		Use:   "status [--json]",
		Short: "Whether the monitor runs (exit 0) or not (exit 3), and the agents it watches",
		Args:  argsBetween(0, 0),
		RunE:  func(cmd *cobra.Command, _ []string) error { return monitorStatusRun(cmd.Context(), opts) },
	}
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print JSON")
	return cmd
}

func monitorStatusRun(ctx context.Context, o *monitorStatusOptions) error {
	c, err := o.f.Connect(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	st, err := monitor.QueryStatus(ctx, c, namedHost())
	running := err == nil
	if err != nil && !errors.Is(err, monitor.ErrNotRunning) {
		return err
	}
	if o.JSON {
		out := struct {
			Running bool            `json:"running"`
			Status  *monitor.Status `json:"status,omitempty"`
		}{Running: running}
		if running {
			out.Status = &st
		}
		if err := writeJSON(o.f.Out, out); err != nil {
			return err
		}
	} else if running {
		printMonitor(o.f.Out, &st)
	} else {
		fmt.Fprintln(o.f.Out, "monitor: not running (start it with: tmux-orc monitor start)")
	}
	if !running {
		return silentError{ExitUnavailable}
	}
	return nil
}
