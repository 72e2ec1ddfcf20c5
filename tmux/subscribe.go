package tmux

import (
	"context"
	"fmt"
	"strings"
)

// Subscribe asks tmux to push %subscription-changed notifications named
// name whenever format, expanded for target, changes ("refresh-client -B
// name:target:format"); tmux checks at most once a second. target is ""
// for the attached session, "%N" for one pane, "%*" for every pane of the
// attached session, "@N" or "@*" for windows. name must not contain ':'.
func (c *Control) Subscribe(ctx context.Context, name, target, format string) error {
	if name == "" || strings.Contains(name, ":") {
		return fmt.Errorf("subscribing %q: %w: bad subscription name", name, ErrInvalidCommand)
	}
	if _, err := c.Run(ctx, Cmd{"refresh-client", "-B", name + ":" + target + ":" + format}); err != nil {
		return fmt.Errorf("subscribing %q: %w", name, err)
	}
	return nil
}

// Unsubscribe removes the subscription name.
func (c *Control) Unsubscribe(ctx context.Context, name string) error {
	if _, err := c.Run(ctx, Cmd{"refresh-client", "-B", name}); err != nil {
		return fmt.Errorf("unsubscribing %q: %w", name, err)
	}
	return nil
}
