package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

type daemonStatusOptions struct {
	f    *factory
	JSON bool
}

func newCmdDaemonStatus(f *factory) *cobra.Command {
	opts := &daemonStatusOptions{f: f}
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Say whether the daemon runs (exit 0) or not (exit 3), its pid and address",
		Args:  argsBetween(0, 0),
		RunE:  func(cmd *cobra.Command, _ []string) error { return daemonStatusRun(cmd.Context(), opts) },
	}
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print JSON")
	return cmd
}

func daemonStatusRun(_ context.Context, o *daemonStatusOptions) error {
	dir, err := o.f.Home()
	if err != nil {
		return err
	}
	running, pid := dir.Running()
	out := struct {
		Running    bool     `json:"running"`
		PID        int      `json:"pid,omitempty"`
		URLs       []string `json:"urls,omitempty"`
		MetricsURL string   `json:"metrics_url,omitempty"`
		Started    string   `json:"started,omitempty"`
		Home       string   `json:"home"`
		Log        string   `json:"log"`
	}{Running: running, Home: string(dir), Log: dir.LogFile()}
	if running {
		out.PID = pid
		if ci, err := dir.ReadConnInfo(); err == nil {
			out.URLs, out.MetricsURL, out.Started = ci.URLs, ci.MetricsURL, ci.Started.Format(time.RFC3339)
		}
	}
	if o.JSON {
		if err := json.NewEncoder(o.f.Out).Encode(out); err != nil {
			return err
		}
	} else if running {
		fmt.Fprintf(o.f.Out, "tmux-orc daemon running (pid %d), listening on %s, data in %s\n", pid, strings.Join(out.URLs, ","), dir)
	} else {
		fmt.Fprintf(o.f.Out, "tmux-orc daemon not running (data directory %s)\n", dir)
	}
	if !running {
		return silentError{ExitUnavailable}
	}
	return nil
}
