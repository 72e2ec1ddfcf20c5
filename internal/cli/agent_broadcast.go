package cli

import (
	"context"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

type agentBroadcastOptions struct {
	PublishOptions
	All bool
}

func newCmdAgentBroadcast(f *factory) *cobra.Command {
	opts := &agentBroadcastOptions{PublishOptions: PublishOptions{f: f}}
	cmd := &cobra.Command{
		Use:   "broadcast [--session SESSION | --group GROUP | --all] MESSAGE... | -",
		Short: "Send a message to every agent of a session, of a group, or everywhere",
		Long: `Store one message for a group: --group GROUP (everywhere, or with --session, in one session),
--session SESSION alone (every pane of that session with a role: group "all"), or --all
(group "all" everywhere). Inside tmux, with none of them, it goes to the caller's own session
(found from $TMUX_PANE); outside tmux one of them is required. The sender's own pane is
skipped. Prints the message id; tmux-orc read --id ID shows each pane's outcome.`,
		Example: `  tmux-orc agent broadcast --session backend-dev "TEAM STATUS UPDATE: checkpoint in 2 hours"
  tmux-orc agent broadcast --group management "Daemon restarted"`,
		Args: argsBetween(1, -1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Args = args
			if strings.Contains(opts.Session, ":") {
				return flagErrorf("--session names a session, not a window: %q", opts.Session)
			}
			if opts.All && (opts.Session != "" || opts.Group != "") {
				return flagErrorf("--all goes alone: it means group \"all\" in every session")
			}
			if opts.Session == "" && opts.Group == "" && !opts.All {
				pane := os.Getenv("TMUX_PANE")
				if pane == "" {
					return flagErrorf("say who: --session SESSION, --group GROUP, or --all for every session (outside tmux there is no own session to default to)")
				}
				s, _, err := paneWindow(cmd.Context(), pane)
				if err != nil {
					return err
				}
				opts.Session = s
			}
			if opts.Group == "" {
				opts.Group = "all"
			}
			return agentBroadcastRun(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&opts.Session, "session", "s", "", "only this session")
	fl.StringVarP(&opts.Group, "group", "g", "", "only this group (default: all)")
	fl.BoolVar(&opts.All, "all", false, "every pane with a role in every session")
	fl.StringVarP(&opts.Priority, "priority", "p", "normal", "critical, high, normal or low")
	fl.StringArrayVarP(&opts.Tags, "tag", "t", nil, "tag (repeatable)")
	fl.StringVar(&opts.From, "from", "", "sender identifier")
	fl.BoolVar(&opts.JSON, "json", false, "print the stored message as JSON")
	opts.Type, opts.Category, opts.RequiresAck = "notification", "broadcast", "auto"
	return cmd
}

func agentBroadcastRun(ctx context.Context, o *agentBroadcastOptions) error {
	env, err := o.buildEnvelope(ctx, o.f.In, time.Now())
	if err != nil {
		return err
	}
	c, err := o.f.Connect(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	if _, err := c.Publish(ctx, env); err != nil {
		return err
	}
	if err := printStored(o.f, o.JSON, env.ID); err != nil {
		return err
	}
	warnTarget(ctx, o.f, c, env)
	return nil
}
