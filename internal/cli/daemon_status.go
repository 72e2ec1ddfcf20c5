package cli

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/url"
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
		Short: "Say whether the daemon runs (exit 0), not (exit 3) or does not respond (exit 5), its pid and address",
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
		Responding bool     `json:"responding"`
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
		out.Responding = responds(out.URLs, 2*time.Second)
	}
	if o.JSON {
		if err := writeJSON(o.f.Out, out); err != nil {
			return err
		}
	} else if running && !out.Responding {
		fmt.Fprintf(o.f.Out, "tmux-orc daemon not responding (pid %d holds data directory %s; %s did not answer within 2s: stopped with SIGSTOP, or hung?)\n",
			pid, dir, strings.Join(out.URLs, ","))
	} else if running {
		fmt.Fprintf(o.f.Out, "tmux-orc daemon running (pid %d), listening on %s, data in %s\n", pid, strings.Join(out.URLs, ","), dir)
	} else {
		fmt.Fprintf(o.f.Out, "tmux-orc daemon not running (data directory %s)\n", dir)
	}
	if !running {
		return silentError{ExitUnavailable}
	}
	if !out.Responding {
		return silentError{ExitNotResponding}
	}
	return nil
}

// responds reports whether the NATS server at the first of urls greets a new connection
// (its INFO line) within wait. A stopped process's kernel still accepts the connection,
// but nothing answers.
func responds(urls []string, wait time.Duration) bool {
	if len(urls) == 0 {
		return false
	}
	u, err := url.Parse(urls[0])
	if err != nil {
		return false
	}
	conn, err := net.DialTimeout("tcp", u.Host, wait)
	if err != nil {
		return false
	}
	defer conn.Close()
	_ = conn.SetReadDeadline(time.Now().Add(wait))
	line, err := bufio.NewReader(conn).ReadString('\n')
	return err == nil && strings.HasPrefix(line, "INFO ")
}
