package cli

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"
	"go.uber.org/zap"

	"github.com/tmux-orc/tmux-orc/monitor"
)

type hookOptions struct {
	f           *factory
	PrintConfig bool
}

func newCmdHook(f *factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "hook",
		Short: "Report an agent's state from its own hooks (exact, unlike reading the screen)",
	}
	opts := &hookOptions{f: f}
	cc := &cobra.Command{
		Use:   "claude-code [--print-config]",
		Short: "For Claude Code's hooks: read the hook's JSON on stdin and report the agent's state",
		Long: `Claude Code runs this command from its hooks with a JSON object on stdin. The event says
what the agent in this tmux pane ($TMUX_PANE) does: UserPromptSubmit and PreToolUse mean busy,
Stop means idle, Notification means waiting for the user. The monitor then trusts this over the
screen. It always exits 0, so that a daemon that is down never disturbs the agent.
--print-config prints the hooks section for Claude Code's settings.json.`,
		Example: `  tmux-orc hook claude-code --print-config >> hooks.json
  echo '{"hook_event_name":"Stop"}' | tmux-orc hook claude-code`,
		Args: argsBetween(0, 0),
		RunE: func(cmd *cobra.Command, _ []string) error { return hookClaudeRun(cmd.Context(), opts) },
	}
	cc.Flags().BoolVar(&opts.PrintConfig, "print-config", false, "print the hooks configuration for Claude Code's settings.json")
	cmd.AddCommand(cc)
	return cmd
}

func hookClaudeRun(ctx context.Context, o *hookOptions) error {
	if o.PrintConfig {
		fmt.Fprintln(o.f.Out, monitor.ClaudeHookConfig)
		return nil
	}
	pane := os.Getenv("TMUX_PANE")
	ev, ok, err := monitor.ParseClaudeHook(o.f.In, pane, time.Now())
	if err != nil || !ok || pane == "" {
		if err != nil {
			o.f.Log().Warn("hook not reported", zap.Error(err))
		}
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	c, err := o.f.Connect(ctx)
	if err != nil {
		o.f.Log().Warn("hook not reported", zap.Error(err))
		return nil
	}
	defer c.Close()
	if err := monitor.ReportHook(ctx, c, ev); err != nil {
		o.f.Log().Warn("hook not reported", zap.Error(err))
	}
	return nil
}
