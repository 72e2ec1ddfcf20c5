package cli

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	"go.uber.org/zap"

	"github.com/tmux-orc/tmux-orc/internal/monitor"
	"github.com/tmux-orc/tmux-orc/internal/termsafe"
	"github.com/tmux-orc/tmux-orc/tmux"
)

type agentRestartOptions struct {
	f          *factory
	Target     string
	Force      bool
	JSON       bool
	TmuxSocket string
}

func newCmdAgentRestart(f *factory) *cobra.Command {
	opts := &agentRestartOptions{f: f}
	cmd := &cobra.Command{
		Use:   "restart SESSION:WINDOW[.PANE] [--force]",
		Short: "Restart an agent's pane with the command it was started with",
		Long: `Respawn the agent's pane (tmux respawn-pane -k) with the command it was started with. The
monitor does it: it refuses an agent that is working (its screen changed in the last few
seconds) unless --force, gives the restarted agent a grace period before flagging it again,
logs the restart and publishes it to the session's management group. Without a running
monitor, the pane is restarted directly after checking for one second that its screen is still.`,
		Example: `  tmux-orc agent restart backend-dev:2
  tmux-orc agent restart --force backend-dev:2.1`,
		Args: argsBetween(1, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Target = args[0]
			return agentRestartRun(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.BoolVar(&opts.Force, "force", false, "restart even an agent that is working")
	fl.BoolVar(&opts.JSON, "json", false, "print JSON")
	fl.StringVar(&opts.TmuxSocket, "tmux-socket", "", "tmux server for a restart without a running monitor")
	return cmd
}

func agentRestartRun(ctx context.Context, o *agentRestartOptions) error {
	var rep monitor.RestartReply
	c, err := o.f.Connect(ctx)
	if err == nil {
		defer c.Close()
		rep, err = monitor.RequestRestart(ctx, c, namedHost(), monitor.RestartRequest{Target: o.Target, Force: o.Force})
	}
	if err != nil {
		// No daemon or no monitor: restart directly.
		o.f.Log().Warn("restarting without the monitor", zap.Error(err))
		r := &tmux.Exec{Socket: tmuxSocket(o.TmuxSocket), Logger: o.f.Log()}
		id, derr := monitor.RestartDirect(ctx, r, o.Target, o.Force, time.Second)
		rep = monitor.RestartReply{Pane: id, Target: o.Target}
		if derr != nil {
			rep.Error, rep.Busy = derr.Error(), errors.Is(derr, monitor.ErrBusy)
		}
	}
	if o.JSON {
		if err := writeJSON(o.f.Out, rep); err != nil {
			return err
		}
	} else if rep.Error == "" {
		fmt.Fprintf(o.f.Out, "restarted %s (%s)\n", termsafe.Line(rep.Target), termsafe.Line(rep.Pane))
	}
	if rep.Error != "" {
		if o.JSON {
			return silentError{ExitError}
		}
		return errors.New(rep.Error)
	}
	return nil
}
