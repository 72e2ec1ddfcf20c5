package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/tmux-orc/tmux-orc/bus"
	"github.com/tmux-orc/tmux-orc/internal/termsafe"
)

// Output for people and for programs. Every command with --json writes one JSON document
// (writeJSON) instead of its text; text that comes from messages, panes or other hosts is
// escaped for the terminal (termsafe.Line for one line, termsafe.Text for a body) so that it
// cannot move the cursor or retitle the window.

// writeJSON writes v as one line of JSON.
func writeJSON(w io.Writer, v any) error { return json.NewEncoder(w).Encode(v) }

// writeJSONIndent writes v as indented JSON (status reports meant to be read too).
func writeJSONIndent(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// printError prints the error a command returned, once, as one escaped line
// ("tmux-orc: <what is wrong>"), with a pointer to --help for a command-line mistake; a
// silentError prints nothing (the command printed its result).
func printError(w io.Writer, root *cobra.Command, args []string, err error) {
	var silent silentError
	if !errors.As(err, &silent) {
		fmt.Fprintf(w, "tmux-orc: %s\n", termsafe.Line(err.Error()))
	}
	var fe *flagError
	if errors.As(err, &fe) {
		if cmd, _, ferr := root.Find(args); ferr == nil {
			fmt.Fprintf(w, "Run '%s --help' for usage.\n", cmd.CommandPath())
		}
	}
}

// printStored prints the id of a stored message: the line, or {"id": ...} with --json.
func printStored(f *factory, asJSON bool, id string) error {
	if asJSON {
		return writeJSON(f.Out, map[string]string{"id": id})
	}
	_, err := fmt.Fprintln(f.Out, id)
	return err
}

// describeReceipt renders an outcome for people.
func describeReceipt(r bus.Receipt) string {
	where := r.PaneTarget
	if r.Pane != "" && where != "" {
		where += " (" + r.Pane + ")"
	} else if r.Pane != "" {
		where = r.Pane
	}
	switch r.Outcome {
	case bus.Queued:
		return fmt.Sprintf("queued %s for %s: %s", r.ID, where, r.Reason)
	case bus.Received:
		return fmt.Sprintf("received %s in %s: the agent reported the prompt (its hook)", r.ID, where)
	case bus.Delivered:
		if r.Path == bus.PathHook {
			return fmt.Sprintf("delivered %s to %s: handed over by the agent's Stop hook as its next input, %s after publishing",
				r.ID, where, ms(r.Submitted.Sub(r.Published)))
		}
		s := fmt.Sprintf("delivered %s to %s: typed %s and submitted %s after publishing", r.ID, where,
			ms(r.Typed.Sub(r.Published)), ms(r.Submitted.Sub(r.Published)))
		if r.Queued {
			s += " (queued by the busy agent)"
		}
		if r.Via == "fallback" {
			s += " (typed directly: the daemon was unreachable)"
		}
		return s
	default:
		if where == "" {
			where = "any pane"
		}
		return fmt.Sprintf("%s %s in %s: %s", r.Outcome, r.ID, where, r.Reason)
	}
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1fms", float64(d.Microseconds())/1000) }

// humanBytes renders a byte count with a binary unit.
func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
