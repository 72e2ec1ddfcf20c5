package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"
	"go.uber.org/zap"

	"github.com/tmux-orc/tmux-orc/bridge"
	"github.com/tmux-orc/tmux-orc/bus"
	"github.com/tmux-orc/tmux-orc/internal/hookconf"
	"github.com/tmux-orc/tmux-orc/internal/monitor"
)

type hookOptions struct {
	f           *factory
	Agent       string // claude-code or codex
	PrintConfig bool
	Install     bool
	Uninstall   bool
	User        bool
	Project     string
}

func newCmdHook(f *factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "hook",
		Short: "Report an agent's state from its own hooks (exact, unlike reading the screen)",
	}
	opts := &hookOptions{f: f, Agent: "claude-code"}
	cc := &cobra.Command{
		Use:   "claude-code [--print-config | --install | --uninstall] [--user | --project DIR]",
		Short: "For Claude Code's hooks: read the hook's JSON on stdin and report the agent's state",
		Long: `Claude Code runs this command from its hooks with a JSON object on stdin. The event says
what the agent in this tmux pane ($TMUX_PANE) does: UserPromptSubmit, PreToolUse and PostToolUse
mean busy; Stop and StopFailure end the turn (idle; the session's management hears it);
Notification permission_prompt means waiting for a person, idle_prompt means idle;
SubagentStop changes nothing. The monitor and the bridge then trust this over the screen. On
UserPromptSubmit it also records the messages named in the prompt as received. On Stop, messages
the bridge holds for this pane (it does not type into a busy agent) are handed over: it prints
{"decision":"block","reason":"<the messages>"} and the agent takes them as its next input (not
when stop_hook_active is set, so a hand-over never loops); that Stop is not reported as the end
of a turn. It always exits 0, so that a daemon that is down never disturbs the agent.

--install merges the hooks into Claude Code's settings.json (the user's ~/.claude/settings.json,
or with --project DIR that of DIR/.claude), with the absolute path of this binary, keeping every
other setting and hook and backing the file up first; installing twice changes nothing.
--uninstall removes them. --print-config prints the hooks section.`,
		Example: `  tmux-orc hook claude-code --install
  tmux-orc hook claude-code --install --project .
  tmux-orc hook claude-code --print-config
  echo '{"hook_event_name":"Stop"}' | tmux-orc hook claude-code`,
		Args: argsBetween(0, 0),
		RunE: func(cmd *cobra.Command, _ []string) error { return hookRun(cmd.Context(), opts) },
	}
	cc.Flags().BoolVar(&opts.PrintConfig, "print-config", false, "print the hooks configuration for Claude Code's settings.json")
	cc.Flags().BoolVar(&opts.Install, "install", false, "merge the hooks into Claude Code's settings.json")
	cc.Flags().BoolVar(&opts.Uninstall, "uninstall", false, "remove the hooks from Claude Code's settings.json")
	cc.Flags().BoolVar(&opts.User, "user", false, "with --install/--uninstall: the user's ~/.claude/settings.json (the default)")
	cc.Flags().StringVar(&opts.Project, "project", "", "with --install/--uninstall: the project's DIR/.claude/settings.json")
	cmd.AddCommand(cc)

	copts := &hookOptions{f: f, Agent: "codex"}
	cx := &cobra.Command{
		Use:   "codex [--print-config]",
		Short: "For Codex's hooks (hooks.json): read the hook's JSON on stdin and report the agent's state",
		Long: `Codex runs this command from the hooks of its hooks.json (with [features] codex_hooks = true)
with a JSON object on stdin, with the same event names as Claude Code: UserPromptSubmit,
PreToolUse and PostToolUse mean busy, PermissionRequest waiting, Stop idle (the session's
management hears it). It always exits 0. --print-config prints a hooks.json.`,
		Example: `  tmux-orc hook codex --print-config > ~/.codex/hooks.json`,
		Args:    argsBetween(0, 0),
		RunE:    func(cmd *cobra.Command, _ []string) error { return hookRun(cmd.Context(), copts) },
	}
	cx.Flags().BoolVar(&copts.PrintConfig, "print-config", false, "print a hooks.json for Codex")
	cmd.AddCommand(cx)
	return cmd
}

// hookCommand is the hook command with the absolute path of this binary.
func hookCommand(agent string) (string, error) {
	exe, err := hookconf.Executable()
	if err != nil {
		return "", err
	}
	if agent == "codex" {
		return hookconf.CodexCommand(exe), nil
	}
	return hookconf.Command(exe), nil
}

func hookRun(ctx context.Context, o *hookOptions) error {
	if n := countTrue(o.PrintConfig, o.Install, o.Uninstall); n > 1 {
		return flagErrorf("--print-config, --install and --uninstall exclude each other")
	}
	if o.User && o.Project != "" {
		return flagErrorf("--user and --project exclude each other")
	}
	switch {
	case o.PrintConfig:
		command, err := hookCommand(o.Agent)
		if err != nil {
			return err
		}
		if o.Agent == "codex" {
			fmt.Fprintln(o.f.Out, hookconf.CodexConfig(command))
		} else {
			fmt.Fprintln(o.f.Out, hookconf.Config(command))
		}
		return nil
	case o.Install || o.Uninstall:
		return hookInstallRun(o)
	case o.User || o.Project != "":
		return flagErrorf("--user and --project go with --install or --uninstall")
	}
	return hookReport(ctx, o.f.In, o)
}

// settingsPath is the settings.json --install and --uninstall edit.
func (o *hookOptions) settingsPath() (string, error) {
	if o.Project != "" {
		dir, err := filepath.Abs(o.Project)
		if err != nil {
			return "", err
		}
		if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
			return "", flagErrorf("--project %s: not a directory", o.Project)
		}
		return filepath.Join(dir, ".claude", "settings.json"), nil
	}
	h, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("finding the home directory: %w", err)
	}
	return filepath.Join(h, ".claude", "settings.json"), nil
}

func hookInstallRun(o *hookOptions) error {
	path, err := o.settingsPath()
	if err != nil {
		return err
	}
	var res hookconf.Result
	if o.Install {
		command, err := hookCommand(o.Agent)
		if err != nil {
			return err
		}
		res, err = hookconf.Install(path, command)
		if err != nil {
			return fmt.Errorf("installing the hooks: %w", err)
		}
		if !res.Changed {
			fmt.Fprintf(o.f.Out, "hooks already installed in %s\n", path)
			return nil
		}
		fmt.Fprintf(o.f.Out, "installed the hooks in %s (command: %s)\n", path, command)
	} else {
		res, err = hookconf.Uninstall(path)
		if err != nil {
			return fmt.Errorf("removing the hooks: %w", err)
		}
		if !res.Changed {
			fmt.Fprintf(o.f.Out, "no tmux-orc hooks in %s\n", path)
			return nil
		}
		fmt.Fprintf(o.f.Out, "removed the hooks from %s\n", path)
	}
	if res.Backup != "" {
		fmt.Fprintf(o.f.Out, "backup: %s\n", res.Backup)
	}
	return nil
}

// hookReport reads one hook call's JSON from in and reports what it means to the monitor;
// for Claude Code it first does the delivery part (hookDelivery). Failures are logged, never
// returned: a hook must not disturb the agent.
func hookReport(ctx context.Context, in io.Reader, o *hookOptions) error {
	f := o.f
	pane := os.Getenv("TMUX_PANE")
	data, err := io.ReadAll(io.LimitReader(in, 4<<20))
	if err != nil {
		f.Log().Warn("hook not reported", zap.Error(err))
		return nil
	}
	parse := monitor.ParseClaudeHook
	if o.Agent == "codex" {
		parse = monitor.ParseCodexHook
	}
	ev, ok, err := parse(bytes.NewReader(data), pane, time.Now())
	if err != nil || !ok || pane == "" {
		if err != nil {
			f.Log().Warn("hook not reported", zap.Error(err))
		}
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	c, err := f.Connect(ctx)
	if err != nil {
		f.Log().Warn("hook not reported", zap.Error(err))
		return nil
	}
	defer c.Close()
	if o.Agent == "claude-code" {
		if handedOver := hookDelivery(ctx, o, c, pane, data); handedOver {
			// The agent goes on with the messages as its next input: it stays busy, so its
			// Stop is not reported as the end of its turn.
			return nil
		}
	}
	if err := monitor.ReportHook(ctx, c, namedHost(), ev); err != nil {
		f.Log().Warn("hook not reported", zap.Error(err))
	}
	return nil
}

func countTrue(bs ...bool) int {
	n := 0
	for _, b := range bs {
		if b {
			n++
		}
	}
	return n
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
	host := namedHost()
	if host == "" {
		host = c.DaemonHost(ctx)
	}
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
