package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/tmux-orc/tmux-orc/internal/monitor"
	"github.com/tmux-orc/tmux-orc/internal/termsafe"
	"github.com/tmux-orc/tmux-orc/subjects"
)

type statusOptions struct {
	f      *factory
	JSON   bool
	Format string
}

func newCmdStatus(f *factory) *cobra.Command {
	opts := &statusOptions{f: f}
	cmd := &cobra.Command{
		Use:   "status [--json]",
		Short: "Show sessions, agents, roles, their state and since when, the last alert, and daemon health",
		Long: `Show what the monitor sees: every agent pane of every session, its role (its @orc-role:
pm, orchestrator, ...; agent when unset), its state (busy, idle, waiting, stuck, crashed,
gone) and since when, and the last alert about it (marked resolved once its condition ended); and
the daemon's health. The monitor runs inside the daemon unless it was started with
--no-monitor. --json (or the guide's --format json) prints the whole picture for scripts.`,
		Example: `  tmux-orc status
  tmux-orc status --json`,
		Args: argsBetween(0, 0),
		RunE: func(cmd *cobra.Command, _ []string) error { return statusRun(cmd.Context(), opts) },
	}
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print JSON")
	cmd.Flags().StringVar(&opts.Format, "format", "text", `"text" or "json"`)
	return cmd
}

// statusReport is the JSON of tmux-orc status.
type statusReport struct {
	Daemon       *subjects.ServerStatus `json:"daemon"`
	DaemonError  string                 `json:"daemon_error,omitempty"`
	Monitor      *monitor.Status        `json:"monitor"`
	MonitorError string                 `json:"monitor_error,omitempty"`
}

func statusRun(ctx context.Context, o *statusOptions) error {
	switch o.Format {
	case "json":
		o.JSON = true
	case "text":
	default:
		return flagErrorf("--format %q: want text or json", o.Format)
	}
	c, err := o.f.Connect(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	var rep statusReport
	if st, err := c.Status(ctx); err != nil {
		rep.DaemonError = err.Error()
	} else {
		rep.Daemon = &st
	}
	if st, err := monitor.QueryStatus(ctx, c, namedHost()); err != nil {
		rep.MonitorError = err.Error()
		if !errors.Is(err, monitor.ErrNotRunning) {
			o.f.Log().Warn(err.Error())
		}
	} else {
		rep.Monitor = &st
	}
	if o.JSON {
		return writeJSONIndent(o.f.Out, rep)
	}
	printStatus(o, rep)
	return nil
}

func printStatus(o *statusOptions, rep statusReport) {
	out := o.f.Out
	if d := rep.Daemon; d != nil {
		health := "healthy"
		if !d.Healthy {
			health = "unhealthy: " + d.Health
		}
		fmt.Fprintf(out, "daemon: pid %d, %s, up %s, %d connections\n", d.PID, health, time.Since(d.Started).Round(time.Second), d.Connections)
	} else {
		fmt.Fprintf(out, "daemon: %s\n", termsafe.Line(rep.DaemonError))
	}
	if rep.Monitor == nil {
		fmt.Fprintf(out, "monitor: %s\n", termsafe.Line(rep.MonitorError))
		return
	}
	printMonitor(out, rep.Monitor)
}

// printMonitor prints the agents the monitor watches.
func printMonitor(out io.Writer, m *monitor.Status) {
	fmt.Fprintf(out, "monitor: running, %d agents\n", len(m.Agents))
	if len(m.Agents) == 0 {
		return
	}
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TARGET\tPANE\tROLE\tCOMMAND\tSTATE\tSINCE\tLAST ALERT")
	for _, a := range m.Agents {
		state := string(a.State)
		if a.Reason != "" {
			state += " (" + a.Reason + ")"
		}
		last := "-"
		if a.LastAlert != nil {
			last = fmt.Sprintf("%s %s ago: %s", a.LastAlert.Priority, m.At.Sub(a.LastAlert.At).Round(time.Second), a.LastAlert.Body)
			if r := a.LastAlert.Resolved; r != nil {
				last += fmt.Sprintf(" (resolved %s ago)", m.At.Sub(*r).Round(time.Second))
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s ago\t%s\n", termsafe.Line(a.Target), termsafe.Line(a.Pane), termsafe.Line(a.Role),
			termsafe.Line(a.Command), termsafe.Line(state), m.At.Sub(a.Since).Round(time.Second), termsafe.Line(last))
	}
	_ = tw.Flush()
}
