package cli

import (
	"github.com/spf13/pflag"

	"github.com/tmux-orc/tmux-orc/internal/daemon"
)

// addNotifyFlags binds daemon start's --notify-* flags to the flags' layer l of the
// configuration (config.yaml's notify section).
func addNotifyFlags(fs *pflag.FlagSet, l *daemon.Config) {
	fs.StringVar(&l.Notify.Command, "notify-command", "", `run this (sh -c) for each alert, the text on stdin and in $TMUX_ORC_TEXT, e.g. 'notify-send tmux-orc "$TMUX_ORC_TEXT"'`)
	fs.StringVar(&l.Notify.Webhook, "notify-webhook", "", "POST each alert as JSON to this URL")
	boolFlag(fs, &l.Notify.Slack, "notify-slack", false, `send the webhook Slack's payload, {"text": ...}`)
	fs.StringVar(&l.Notify.MinPriority, "notify-min-priority", "", "notify alerts at this priority or above (default high)")
	fs.IntVar(&l.Notify.PerMinute, "notify-per-minute", 0, "at most this many notifications a minute (default 6)")
	noFlag(fs, &l.Notify.Tmux, "no-notify-tmux", "do not show alerts in the attached tmux clients' status line")
}
