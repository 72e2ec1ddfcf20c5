package cli

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/tmux-orc/tmux-orc/bus"
	"github.com/tmux-orc/tmux-orc/embedded"
	"github.com/tmux-orc/tmux-orc/internal/home"
	"github.com/tmux-orc/tmux-orc/subjects"
)

// TestExitCodes: every error of bad input the packages declare exits 2 (wrapped with context
// as commands return them), the daemon's absence 3, a silent error its own code.
func TestExitCodes(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		err  error
		want int
	}{
		{flagErrorf("bad flag"), ExitUsage},
		{bus.ErrNotRunning, ExitUnavailable},
		{fmt.Errorf("connecting: %w", bus.ErrUnreachable), ExitUnavailable},
		{home.ErrNoCredentials, ExitUnavailable},
		{errors.New("boom"), ExitError},
		{bus.ErrNotFound, ExitError},
		{subjects.ErrSubject, ExitError},
		{silentError{ExitUnavailable}, ExitUnavailable},
		{silentError{ExitNotDelivered}, ExitNotDelivered},
		{context.Canceled, ExitInterrupted},
		{fmt.Errorf("publishing: %w", &bus.AmbiguousError{Hosts: []string{"h1", "h2"}}), ExitUsage},
	} {
		if got := exitCode(ctx, tc.err); got != tc.want {
			t.Errorf("exitCode(%v) = %d, want %d", tc.err, got, tc.want)
		}
	}
	// The errors of bad input, each classified where it is declared (subjects.ErrInvalid).
	for _, err := range []error{subjects.ErrEnvelope, subjects.ErrTarget, subjects.ErrGroup, subjects.ErrPriority,
		subjects.ErrTag, subjects.ErrID, subjects.ErrAck, subjects.ErrFilter, embedded.ErrConfig, bus.ErrAmbiguous} {
		wrapped := fmt.Errorf("doing x: %w: details", err)
		if got := exitCode(ctx, wrapped); got != ExitUsage {
			t.Errorf("exitCode(%v) = %d, want %d", wrapped, got, ExitUsage)
		}
		if !errors.Is(wrapped, err) {
			t.Errorf("%v: errors.Is lost the error itself", err)
		}
	}
}
