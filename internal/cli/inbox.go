package cli

import (
	"context"
	"os"

	"github.com/spf13/cobra"
)

func newCmdInbox(f *factory) *cobra.Command {
	opts := &ReadOptions{f: f, unackedFirst: true}
	cmd := &cobra.Command{
		Use:   "inbox [flags]",
		Short: "What this pane was sent: its messages and its groups', unacknowledged first",
		Long: `Show the inbox of the tmux pane the command runs in (found from $TMUX_PANE, so it is
right even when nobody is attached): the messages addressed to its window, plus those for its
session and for its groups (management, agents, ...) that the bridge typed into it. Messages
that need an acknowledgement and have none come first.

The filters are read's: --filter (a smart-case regular expression; grep's "\|" works),
--tail, --since, --priority, --tag, --unacked, --json, --follow.`,
		Example: `  tmux-orc inbox
  tmux-orc inbox --filter "HIGH PRIORITY\|CRITICAL" --tail 10
  tmux-orc inbox --since 30m --json`,
		Args: argsBetween(0, 0),
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.Session == "" {
				if err := opts.resolvePane(cmd.Context()); err != nil {
					return err
				}
			}
			return readRun(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&opts.Session, "session", "s", "", "another window's inbox (session:window) instead of this pane's")
	fl.StringVarP(&opts.Priorities, "priority", "p", "", "comma-separated priorities, e.g. critical,high")
	fl.StringArrayVarP(&opts.Tags, "tag", "t", nil, "only messages with this tag (repeatable; all must match)")
	fl.StringVar(&opts.Filter, "filter", "", "regular expression over priority label, subject and body (smart case)")
	fl.StringVar(&opts.Since, "since", "", "only messages stored since this duration ago or RFC 3339 time")
	fl.IntVarP(&opts.Tail, "tail", "n", 0, "only the last N matching messages")
	fl.BoolVar(&opts.Unacked, "unacked", false, "only messages nobody has acknowledged")
	fl.BoolVar(&opts.JSON, "json", false, "print JSON")
	fl.BoolVarP(&opts.Follow, "follow", "f", false, "keep printing new messages until interrupted")
	return cmd
}

// resolvePane finds the session and window of $TMUX_PANE. It asks tmux about that pane by
// its id: "display-message -p '#S:#I'" without -t names the window of the most recently
// used client, which is another window when nobody is attached.
func (o *ReadOptions) resolvePane(ctx context.Context) error {
	pane := os.Getenv("TMUX_PANE")
	if pane == "" {
		return flagErrorf("not inside tmux ($TMUX_PANE is not set): name the window, tmux-orc inbox --session SESSION:WINDOW")
	}
	s, w, err := paneWindow(ctx, pane)
	if err != nil {
		return err
	}
	host := o.f.Host()
	o.Session, o.pane, o.windowIndex = host+"."+s+":"+w, pane, w
	return nil
}
