package cli

import (
	"os"

	"github.com/spf13/cobra"

	"github.com/tmux-orc/tmux-orc/internal/agentsim"
)

// newCmdAgentsim is the fake agent TUI used by tests and loadtest, shipped inside the binary
// so that nothing else has to be installed. Hidden: it is not for users.
func newCmdAgentsim() *cobra.Command {
	return &cobra.Command{
		Use:                "agentsim [flags]",
		Short:              "A fake agent TUI for tests (raw mode, bracketed paste, paste bursts, busy, modal)",
		Hidden:             true,
		DisableFlagParsing: true,
		RunE: func(_ *cobra.Command, args []string) error {
			if code := agentsim.Main(args, os.Stdin, os.Stdout); code != 0 {
				return silentError{code}
			}
			return nil
		},
	}
}
