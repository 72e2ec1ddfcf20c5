package cli

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tmux-orc/tmux-orc/internal/termsafe"
	"github.com/tmux-orc/tmux-orc/subjects"
)

// AckOptions are the inputs of tmux-orc ack.
type AckOptions struct {
	f *factory

	ID   string
	Note string
	From string
	JSON bool
}

func newCmdAck(f *factory) *cobra.Command {
	opts := &AckOptions{f: f}
	cmd := &cobra.Command{
		Use:   "ack ID [NOTE...]",
		Short: "Acknowledge a message: record who, when, and a note",
		Long: `Acknowledge a stored message. Acknowledging twice is harmless: the first
acknowledgement stands and is reported. An unknown id is an error.`,
		Example: `  tmux-orc ack 01kb2x3yzq7f4m2c "restarted affected agent"`,
		Args:    argsBetween(1, -1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.ID, opts.Note = args[0], strings.Join(args[1:], " ")
			return ackRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.From, "from", "", "who acknowledges (default: the tmux window this runs in, else user@host)")
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print the acknowledgement as JSON")
	return cmd
}

func ackRun(ctx context.Context, o *AckOptions) error {
	if err := subjects.ValidateID(o.ID); err != nil {
		return err
	}
	c, err := o.f.Connect(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	from := o.From
	if from == "" {
		from = o.f.Sender(ctx)
	}
	rec, already, err := c.Ack(ctx, o.ID, from, o.Note)
	if err != nil {
		return err
	}
	if o.JSON {
		return writeJSON(o.f.Out, struct {
			Ack     any  `json:"ack"`
			Already bool `json:"already_acked"`
		}{rec, already})
	}
	if already {
		_, err = fmt.Fprintf(o.f.Out, "%s was already acknowledged by %s at %s\n", termsafe.Line(rec.ID), termsafe.Line(rec.By), rec.At.Local().Format("2006-01-02 15:04:05"))
		return err
	}
	_, err = fmt.Fprintf(o.f.Out, "acknowledged %s as %s\n", termsafe.Line(rec.ID), termsafe.Line(rec.By))
	return err
}
