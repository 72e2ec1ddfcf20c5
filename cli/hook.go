package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"
	"go.uber.org/zap"

	"github.com/tmux-orc/tmux-orc/bridge"
	"github.com/tmux-orc/tmux-orc/bus"
	"github.com/tmux-orc/tmux-orc/monitor"
	"github.com/tmux-orc/tmux-orc/subjects"
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
Stop means idle, Notification means waiting for the user. The monitor and the bridge then trust
this over the screen. On UserPromptSubmit it also records the messages named in the prompt as
received. On Stop, messages the bridge holds for this pane (it does not type into a busy agent)
are handed over: it prints {"decision":"block","reason":"<the messages>"} and the agent takes them
as its next input (not when stop_hook_active is set, so a hand-over never loops). It always exits
0, so that a daemon that is down never disturbs the agent.
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
	data, err := io.ReadAll(io.LimitReader(o.f.In, 1<<20))
	if err != nil {
		o.f.Log().Warn("hook not reported", zap.Error(err))
		return nil
	}
	ev, ok, err := monitor.ParseClaudeHook(bytes.NewReader(data), pane, time.Now())
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
	if handedOver := hookDelivery(ctx, o, c, pane, data); handedOver {
		// The agent goes on with the messages as its next input: it stays busy, so its Stop
		// is not reported as the end of its work.
		return nil
	}
	if err := monitor.ReportHook(ctx, c, ev); err != nil {
		o.f.Log().Warn("hook not reported", zap.Error(err))
	}
	return nil
}

// hookDelivery does the delivery part of a Claude Code hook. On UserPromptSubmit it records
// every message named in the prompt (the "[id ...]" the bridge typed) as received in this
// pane. On Stop (unless the agent already continues because of a Stop hook:
// stop_hook_active, the loop guard) it asks the bridge of its host for the pane's pending
// messages and, when there are any, prints {"decision":"block","reason":...} so that the
// agent takes them as its next input; it reports whether it did.
func hookDelivery(ctx context.Context, o *hookOptions, c *bus.Client, pane string, data []byte) bool {
	var in struct {
		Event      string `json:"hook_event_name"`
		Prompt     string `json:"prompt"`
		StopActive bool   `json:"stop_hook_active"`
	}
	if json.Unmarshal(data, &in) != nil {
		return false
	}
	host := os.Getenv(subjects.EnvHost)
	if host == "" {
		host = c.DaemonHost(ctx)
	}
	host = subjects.SanitizeHost(host)
	switch {
	case in.Event == "UserPromptSubmit":
		now := time.Now().UTC()
		for _, ref := range bridge.ParseRendered(in.Prompt) {
			r := bus.Receipt{ID: ref.ID, Priority: ref.Priority, Outcome: bus.Received, Pane: pane, Via: "hook", Host: host,
				Submitted: now, Reason: "the agent's UserPromptSubmit hook reported the prompt"}
			if err := c.Record(ctx, r); err != nil {
				o.f.Log().Warn("receipt not recorded", zap.String("id", ref.ID), zap.Error(err))
			}
		}
	case in.Event == "Stop" && !in.StopActive:
		rep, err := bridge.RequestHandover(ctx, c, host, pane)
		if err != nil {
			o.f.Log().Debug("no hand-over", zap.Error(err))
			return false
		}
		if rep.Text == "" {
			return false
		}
		out, _ := json.Marshal(map[string]string{"decision": "block", "reason": rep.Text})
		fmt.Fprintln(o.f.Out, string(out))
		return true
	}
	return false
}
