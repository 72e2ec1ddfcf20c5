package cli

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/tmux-orc/tmux-orc/bus"
	"github.com/tmux-orc/tmux-orc/embedded"
)

type daemonHealthOptions struct {
	f       *factory
	URL     string
	Timeout time.Duration
}

func newCmdDaemonHealth(f *factory) *cobra.Command {
	opts := &daemonHealthOptions{f: f}
	cmd := &cobra.Command{
		Use:   "health",
		Short: "Ask the daemon's /healthz: exit 0 when ready, 1 when not, 3 when it cannot be reached",
		Long: `Ask the local daemon's health check (/healthz on its metrics address, read from the data
directory's run/conn.json, else ` + embedded.DefaultMetricsListen + `) and print its answer.
Exit 0 when it answers 200 (ready: in a cluster, a meta leader, current, streams exist), 1
when it answers otherwise, 3 when nothing answers. Container images without curl use it as
their health check.`,
		Example: `  tmux-orc daemon health
  tmux-orc daemon health --url http://127.0.0.1:14224/healthz`,
		Args: argsBetween(0, 0),
		RunE: func(cmd *cobra.Command, _ []string) error { return daemonHealthRun(cmd.Context(), opts) },
	}
	cmd.Flags().StringVar(&opts.URL, "url", "", "the health check URL (default: the local daemon's)")
	cmd.Flags().DurationVar(&opts.Timeout, "timeout", 3*time.Second, "how long to wait for the answer")
	return cmd
}

func daemonHealthRun(ctx context.Context, o *daemonHealthOptions) error {
	url := o.URL
	if url == "" {
		dir, err := o.f.Home()
		if err != nil {
			return err
		}
		url = "http://" + embedded.DefaultMetricsListen + "/healthz"
		if ci, err := dir.ReadConnInfo(); err == nil && ci.MetricsURL != "" {
			url = strings.TrimSuffix(ci.MetricsURL, "/") + "/healthz"
		}
	}
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return flagErrorf("--url %q: %v", url, err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("%w: health check %s: %w", bus.ErrUnreachable, url, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	text := strings.TrimSpace(string(body))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("not healthy (%s): %s", resp.Status, text)
	}
	fmt.Fprintln(o.f.Out, text)
	return nil
}
