package cli

import (
	"context"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/tmux-orc/tmux-orc/bus"
	"github.com/tmux-orc/tmux-orc/subjects"
)

func newCmdSchedule(f *factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "schedule",
		Short: "List and cancel scheduled messages (publish --in, --at, --every)",
	}
	cmd.AddCommand(newCmdScheduleLs(f), newCmdScheduleRm(f))
	return cmd
}

func newCmdScheduleLs(f *factory) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:     "ls",
		Short:   "List the scheduled messages still waiting, the soonest first",
		Example: `  tmux-orc schedule ls`,
		Args:    argsBetween(0, 0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := f.Connect(cmd.Context())
			if err != nil {
				return err
			}
			defer c.Close()
			ls, err := c.Schedules(cmd.Context())
			if err != nil {
				return err
			}
			if asJSON {
				if ls == nil {
					ls = []bus.Scheduled{}
				}
				return writeJSON(f.Out, ls)
			}
			if len(ls) == 0 {
				fmt.Fprintln(f.Err, "tmux-orc: no scheduled messages are waiting")
				return nil
			}
			w := tabwriter.NewWriter(f.Out, 0, 0, 2, ' ', 0)
			fmt.Fprintln(w, "SCHEDULE\tID\tDUE\tPRIORITY\tTO\tSUBJECT")
			for _, s := range ls {
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", s.Schedule, s.ID, s.Due.Local().Format("2006-01-02 15:04:05"),
					s.Envelope.Message.Priority, s.Envelope.Target, s.Envelope.Message.Content.Subject)
			}
			return w.Flush()
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func newCmdScheduleRm(f *factory) *cobra.Command {
	return &cobra.Command{
		Use:     "rm SCHEDULE...",
		Short:   "Cancel scheduled messages: every occurrence still waiting",
		Example: `  tmux-orc schedule rm 1m8f5mkjsd2tgd7t`,
		Args:    argsBetween(1, -1),
		RunE: func(cmd *cobra.Command, args []string) error {
			for _, sid := range args {
				if err := subjects.ValidateID(sid); err != nil {
					return err
				}
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), 30*time.Second)
			defer cancel()
			c, err := f.Connect(ctx)
			if err != nil {
				return err
			}
			defer c.Close()
			for _, sid := range args {
				n, err := c.CancelSchedule(ctx, sid)
				if err != nil {
					return err
				}
				fmt.Fprintf(f.Out, "cancelled %s (%d waiting occurrence(s))\n", sid, n)
			}
			return nil
		},
	}
}
