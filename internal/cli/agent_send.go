package cli

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/tmux-orc/tmux-orc/bus"
	"github.com/tmux-orc/tmux-orc/internal/termsafe"
)

type agentSendOptions struct {
	PublishOptions
	NoWait     bool
	Timeout    time.Duration
	TmuxSocket string
}

func newCmdAgentSend(f *factory) *cobra.Command {
	opts := &agentSendOptions{PublishOptions: PublishOptions{f: f}}
	cmd := &cobra.Command{
		Use:   "send SESSION[:WINDOW] MESSAGE... | -",
		Short: "Send a message to an agent's pane and wait for the delivery outcome",
		Long: `Store a message for a tmux window and wait until the bridge has typed it into the pane
and the agent took it. Prints the outcome: delivered (exit 0), or unconfirmed,
undeliverable, or no outcome within --timeout (exit 4). With the daemon unreachable, the
message is typed directly through tmux and spooled for the daemon to import.`,
		Example: `  tmux-orc agent send backend-dev:2 "STATUS REQUEST: Please provide current task and progress"
  tmux-orc agent send --no-wait pm:1 "review done"`,
		Args: argsBetween(2, -1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Session, opts.Args = args[0], args[1:]
			return agentSendRun(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&opts.Priority, "priority", "p", "normal", "critical, high, normal or low")
	fl.StringArrayVarP(&opts.Tags, "tag", "t", nil, "tag (repeatable)")
	fl.StringVar(&opts.From, "from", "", "sender identifier (default: the tmux window this runs in, else user@host)")
	fl.BoolVar(&opts.NoWait, "no-wait", false, "return once the message is stored")
	fl.DurationVar(&opts.Timeout, "timeout", 30*time.Second, "how long to wait for the outcome")
	fl.BoolVar(&opts.JSON, "json", false, "print the outcome as JSON")
	fl.StringVar(&opts.TmuxSocket, "tmux-socket", "", "tmux server for the fallback when the daemon is unreachable")
	opts.Type, opts.Category, opts.RequiresAck = "notification", "direct", "auto"
	return cmd
}

func agentSendRun(ctx context.Context, o *agentSendOptions) error {
	env, err := o.buildEnvelope(ctx, o.f.In, time.Now())
	if err != nil {
		return err
	}
	c, fr, err := connectOrFallback(ctx, o.f, env, o.TmuxSocket)
	if err != nil {
		return err
	}
	var receipts []bus.Receipt
	if fr != nil {
		receipts = []bus.Receipt{*fr}
	} else {
		defer c.Close()
		env.Timestamp = time.Now().UTC() // the publish call: latencies are measured from here
		if _, err := c.Publish(ctx, env); err != nil {
			return err
		}
		if o.NoWait {
			if err := printStored(o.f, o.JSON, env.ID); err != nil {
				return err
			}
			warnTarget(ctx, o.f, c, env)
			return nil
		}
		// Waiting for an outcome that cannot come helps nobody: say why at once.
		if p := targetProblem(ctx, c, env.Target, registryGrace); p != "" {
			fmt.Fprintf(o.f.Out, "stored %s; not delivered: %s (it waits up to the bridge's --expiry, 10 minutes by default, for %s to appear; see tmux-orc read --id %s)\n",
				env.ID, p, env.Target, env.ID)
			return silentError{ExitNotDelivered}
		}
		wctx, cancel := context.WithTimeout(ctx, o.Timeout)
		receipts, err = c.WaitOutcome(wctx, env.Message.Priority, env.ID)
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if !errors.Is(err, context.DeadlineExceeded) {
				return fmt.Errorf("stored %s; %w", env.ID, err)
			}
			fmt.Fprintf(o.f.Out, "stored %s; no delivery outcome within %s (does %s exist? see tmux-orc read --id %s)\n", env.ID, o.Timeout, termsafe.Line(env.Target.String()), env.ID)
			return silentError{ExitNotDelivered}
		}
	}
	if o.JSON {
		if err := writeJSON(o.f.Out, struct {
			ID       string        `json:"id"`
			Receipts []bus.Receipt `json:"receipts"`
		}{env.ID, receipts}); err != nil {
			return err
		}
	} else {
		for _, r := range receipts {
			fmt.Fprintln(o.f.Out, termsafe.Line(describeReceipt(r)))
		}
	}
	if !reached(receipts) {
		return silentError{ExitNotDelivered}
	}
	return nil
}

// reached reports whether every pane with a final outcome got the message (delivered or
// received); queued receipts only tell why it waited.
func reached(rs []bus.Receipt) bool {
	final := map[string]bus.Outcome{}
	for _, r := range rs {
		if !r.Outcome.Final() {
			continue
		}
		k := r.Host + "/" + r.Pane
		if o, ok := final[k]; !ok || !o.OK() {
			final[k] = r.Outcome
		}
	}
	for _, o := range final {
		if !o.OK() {
			return false
		}
	}
	return len(final) > 0
}
