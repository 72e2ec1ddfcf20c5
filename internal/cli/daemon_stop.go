package cli

import (
	"context"
	"fmt"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/tmux-orc/tmux-orc/internal/daemon"
)

type daemonStopOptions struct {
	f       *factory
	Timeout time.Duration
}

func newCmdDaemonStop(f *factory) *cobra.Command {
	opts := &daemonStopOptions{f: f}
	cmd := &cobra.Command{
		Use:   "stop",
		Short: "Stop the daemon gracefully; waits until it has exited",
		Long: `Stop the daemon with SIGTERM and wait until it has released its data directory.
Publishes in flight complete; everything acknowledged stays stored. The daemon's stop is
bounded (10s whatever is queued): messages not yet typed stay stored and are delivered after
the next start. Stopping a daemon that is not running succeeds.`,
		Args: argsBetween(0, 0),
		RunE: func(cmd *cobra.Command, _ []string) error { return daemonStopRun(cmd.Context(), opts) },
	}
	cmd.Flags().DurationVar(&opts.Timeout, "timeout", daemon.ShutdownBudget+5*time.Second, "how long to wait for the daemon to exit")
	return cmd
}

func daemonStopRun(ctx context.Context, o *daemonStopOptions) error {
	dir, err := o.f.Home()
	if err != nil {
		return err
	}
	running, pid := dir.Running()
	if !running {
		fmt.Fprintf(o.f.Out, "tmux-orc daemon is not running (data directory %s)\n", dir)
		return nil
	}
	if pid <= 0 {
		return fmt.Errorf("a daemon holds %s but its pid file is unreadable", dir.LockFile())
	}
	// The lock is held, so the pid file was written by the process holding it.
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		return fmt.Errorf("signalling daemon pid %d: %w", pid, err)
	}
	began := time.Now()
	deadline := began.Add(o.Timeout)
	for time.Now().Before(deadline) {
		if still, _ := dir.Running(); !still {
			fmt.Fprintf(o.f.Out, "tmux-orc daemon stopped (pid %d) in %s\n", pid, time.Since(began).Round(10*time.Millisecond))
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
	return fmt.Errorf("the daemon (pid %d) did not stop within %s; see %s", pid, o.Timeout, dir.LogFile())
}
