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

	"go.uber.org/zap"

	"github.com/tmux-orc/tmux-orc/bus"
	"github.com/tmux-orc/tmux-orc/internal/home"
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

// QuarantineDir is where entries that can never be imported are moved, with the reason in
// the daemon's log.
func QuarantineDir(dir home.Dir) string { return filepath.Join(dir.SpoolDir(), "quarantine") }

// Import publishes every spooled message (its id de-duplicates a repeated import), claims
// and records its delivery in the pane it was typed into, and then removes the file. It
// returns how many entries it imported. One entry never blocks the others: an entry that
// can never be imported (unreadable, not an entry, an invalid message) is moved to
// QuarantineDir and logged; one that fails for a passing reason (the store is not writable
// yet) stays for the next start and is returned in the error.
func Import(ctx context.Context, dir home.Dir, c *bus.Client, log *zap.Logger) (int, error) {
	files, err := filepath.Glob(filepath.Join(dir.SpoolDir(), "*.json"))
	if err != nil || len(files) == 0 {
		return 0, err
	}
	n := 0
	var errs []error
	for _, f := range files {
		if ctx.Err() != nil {
			return n, ctx.Err()
		}
		err := importOne(ctx, c, f)
		switch {
		case err == nil:
			n++
			continue
		case permanent(err):
			q := QuarantineDir(dir)
			if merr := os.MkdirAll(q, 0o700); merr != nil {
				errs = append(errs, fmt.Errorf("quarantining spool entry %s: %w", f, merr))
				continue
			}
			if rerr := os.Rename(f, filepath.Join(q, filepath.Base(f))); rerr != nil {
				errs = append(errs, fmt.Errorf("quarantining spool entry %s: %w", f, rerr))
				continue
			}
			log.Error("moved a spool entry that can never be imported to the quarantine", zap.String("file", f),
				zap.String("quarantine", q), zap.Error(err))
		default:
			log.Warn("a spool entry could not be imported now; it stays for the next start", zap.String("file", f), zap.Error(err))
			errs = append(errs, err)
		}
	}
	return n, errors.Join(errs...)
}

// errUnreadable marks an entry that is not a spool entry at all.
var errUnreadable = errors.New("not a readable spool entry")

func importOne(ctx context.Context, c *bus.Client, f string) error {
	b, err := os.ReadFile(f)
	if err != nil {
		return fmt.Errorf("%w: %w", errUnreadable, err)
	}
	var e Entry
	if err := json.Unmarshal(b, &e); err != nil {
		return fmt.Errorf("%w: %w", errUnreadable, err)
	}
	if e.Envelope == nil {
		return fmt.Errorf("%w: no envelope", errUnreadable)
	}
	if _, err := c.Publish(ctx, e.Envelope); err != nil {
		return fmt.Errorf("importing spooled message %s: %w", e.Envelope.ID, err)
	}
	if e.Receipt.Pane != "" {
		if err := c.Claim(ctx, e.Envelope.Message.Priority, e.Envelope.ID, e.Receipt.Host, e.Receipt.Pane); err != nil && !errors.Is(err, bus.ErrClaimed) {
			return fmt.Errorf("claiming spooled message %s: %w", e.Envelope.ID, err)
		}
	}
	if e.Receipt.Outcome != "" {
		if err := c.Record(ctx, e.Receipt); err != nil {
			return fmt.Errorf("recording the outcome of spooled message %s: %w", e.Envelope.ID, err)
		}
	}
	if err := os.Remove(f); err != nil {
		return fmt.Errorf("removing imported spool entry: %w", err)
	}
	return nil
}

// permanent tells an entry that no retry can import.
func permanent(err error) bool {
	for _, e := range []error{errUnreadable, subjects.ErrEnvelope, subjects.ErrTarget, subjects.ErrGroup, subjects.ErrPriority,
		subjects.ErrTag, subjects.ErrID, subjects.ErrNoHost, bus.ErrAmbiguous} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}
