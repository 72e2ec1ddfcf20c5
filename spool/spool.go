// Package spool keeps the messages the CLI typed straight into tmux while the daemon was
// unreachable, and imports them into the store when the daemon is back, so that history is
// complete and the bridge does not type them a second time.
package spool

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"go.uber.org/zap"

	"github.com/tmux-orc/tmux-orc/bus"
	"github.com/tmux-orc/tmux-orc/home"
	"github.com/tmux-orc/tmux-orc/subjects"
)

// Entry is one spooled message and what became of it.
type Entry struct {
	Envelope *subjects.Envelope `json:"envelope"`
	Receipt  bus.Receipt        `json:"receipt"`
}

// Write stores an entry durably (write, fsync, rename) as <spool>/<id>.json.
func Write(dir home.Dir, e Entry) error {
	if err := os.MkdirAll(dir.SpoolDir(), 0o700); err != nil {
		return fmt.Errorf("creating the spool: %w", err)
	}
	b, err := json.MarshalIndent(e, "", "  ")
	if err != nil {
		return fmt.Errorf("spooling %s: %w", e.Envelope.ID, err)
	}
	return home.WriteFileAtomic(filepath.Join(dir.SpoolDir(), e.Envelope.ID+".json"), b, 0o600)
}

// Import publishes every spooled message (its id de-duplicates a repeated import), claims
// and records its delivery in the pane it was typed into, and then removes the file. It
// returns how many entries it imported. An unreadable entry is moved aside, not lost.
func Import(ctx context.Context, dir home.Dir, c *bus.Client, log *zap.Logger) (int, error) {
	files, err := filepath.Glob(filepath.Join(dir.SpoolDir(), "*.json"))
	if err != nil || len(files) == 0 {
		return 0, err
	}
	n := 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return n, fmt.Errorf("reading spool entry %s: %w", f, err)
		}
		var e Entry
		if err := json.Unmarshal(b, &e); err != nil || e.Envelope == nil {
			log.Error("moving aside an unreadable spool entry", zap.String("file", f))
			_ = os.Rename(f, strings.TrimSuffix(f, ".json")+".bad")
			continue
		}
		if _, err := c.Publish(ctx, e.Envelope); err != nil {
			return n, fmt.Errorf("importing spooled message %s: %w", e.Envelope.ID, err)
		}
		if e.Receipt.Pane != "" {
			if err := c.Claim(ctx, e.Envelope.Message.Priority, e.Envelope.ID, e.Receipt.Host, e.Receipt.Pane); err != nil && !errors.Is(err, bus.ErrClaimed) {
				return n, err
			}
		}
		if e.Receipt.Outcome != "" {
			if err := c.Record(ctx, e.Receipt); err != nil {
				return n, err
			}
		}
		if err := os.Remove(f); err != nil {
			return n, fmt.Errorf("removing imported spool entry: %w", err)
		}
		log.Info("imported spooled message", zap.String("id", e.Envelope.ID), zap.String("outcome", string(e.Receipt.Outcome)))
		n++
	}
	return n, nil
}
