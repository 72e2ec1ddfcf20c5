package cli

import (
	"github.com/spf13/pflag"

	"github.com/tmux-orc/tmux-orc/embedded"
	"github.com/tmux-orc/tmux-orc/internal/notify"
	"github.com/tmux-orc/tmux-orc/subjects"
	"github.com/tmux-orc/tmux-orc/tmux"
)

// notifyFlags are daemon start's --notify-* flags; they override config.yaml's notify
// section.
type notifyFlags struct {
	NotifyCommand     string
	NotifyWebhook     string
	NotifySlack       bool
	NotifyMinPriority string
	NotifyPerMinute   int
	NoNotifyTmux      bool
}

func (nf *notifyFlags) add(fs *pflag.FlagSet) {
	fs.StringVar(&nf.NotifyCommand, "notify-command", "", `run this (sh -c) for each alert, the text on stdin and in $TMUX_ORC_TEXT, e.g. 'notify-send tmux-orc "$TMUX_ORC_TEXT"'`)
	fs.StringVar(&nf.NotifyWebhook, "notify-webhook", "", "POST each alert as JSON to this URL")
	fs.BoolVar(&nf.NotifySlack, "notify-slack", false, `send the webhook Slack's payload, {"text": ...}`)
	fs.StringVar(&nf.NotifyMinPriority, "notify-min-priority", "", "notify alerts at this priority or above (default high)")
	fs.IntVar(&nf.NotifyPerMinute, "notify-per-minute", 0, "at most this many notifications a minute (default 6)")
	fs.BoolVar(&nf.NoNotifyTmux, "no-notify-tmux", false, "do not show alerts in the attached tmux clients' status line")
}

// apply puts the flags over the config file's notify section.
func (nf *notifyFlags) apply(c *embedded.NotifyConfig) {
	if nf.NotifyCommand != "" {
		c.Command = nf.NotifyCommand
	}
	if nf.NotifyWebhook != "" {
		c.Webhook = nf.NotifyWebhook
	}
	c.Slack = c.Slack || nf.NotifySlack
	if nf.NotifyMinPriority != "" {
		c.MinPriority = nf.NotifyMinPriority
	}
	if nf.NotifyPerMinute != 0 {
		c.PerMinute = nf.NotifyPerMinute
	}
	if nf.NoNotifyTmux {
		no := false
		c.Tmux = &no
	}
}

// notifyConfig turns the validated notify section into the notifier's configuration; the
// tmux sink needs the daemon's tmux server (nil when it runs no bridge).
func notifyConfig(c embedded.NotifyConfig, sock *tmux.Socket) *notify.Config {
	out := notify.Config{Command: c.Command, Webhook: c.Webhook, Slack: c.Slack, PerMinute: c.PerMinute}
	if p, err := subjects.ParsePriority(c.MinPriority); err == nil {
		out.MinPriority = p
	}
	if sock != nil && (c.Tmux == nil || *c.Tmux) {
		out.Tmux = sock
	}
	if !out.Enabled() {
		return nil
	}
	return &out
}
