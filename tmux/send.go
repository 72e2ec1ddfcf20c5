package tmux

import (
	"context"
	"fmt"
	"strings"
)

// MaxKeysText is the longest text, in bytes, that SendText types with
// send-keys; longer text goes through a paste buffer. It stays well below
// the 16 KB limit of a spawned tmux command line.
const MaxKeysText = 8 << 10

// SendText types text into pane paneID (a %N id) without pressing Enter.
// The text is passed through Sanitize first, so control characters never
// reach the pane; empty text sends nothing.
//
// A single line of at most MaxKeysText bytes is sent as
// "send-keys -l -t %N -- TEXT": literal keys, never flags or key names.
// Text containing a newline, or longer, is loaded into a uniquely named
// paste buffer and pasted with "paste-buffer -d -p", in one command
// sequence so nothing runs after a failed load. send-keys would deliver each
// LF unframed, which agent TUIs fuse or submit line by line. paste-buffer
// turns each LF into CR (like a terminal paste) and, because of -p, wraps
// the text in ESC[200~ ... ESC[201~ when the program has enabled bracketed
// paste; a program without bracketed paste receives the lines as typed,
// each one submitted by its CR. Over Exec the buffer is loaded from
// standard input ("load-buffer -"), over Control with set-buffer, so long
// texts are not limited by the spawned command line.
//
// Each call is one tmux command sequence, so two writers never interleave
// inside one text; they can still interleave texts and Enters, so serialize
// all writes to a pane through one writer. A program reading a cooked tty
// (like cat) keeps at most 4095 bytes of a line; agent TUIs read raw.
func SendText(ctx context.Context, r Runner, paneID, text string) error {
	if !validPaneID(paneID) {
		return fmt.Errorf("sending text to %q: %w", paneID, ErrInvalidPane)
	}
	text = Sanitize(text)
	if text == "" {
		return nil
	}
	if len(text) <= MaxKeysText && !strings.Contains(text, "\n") {
		if _, err := r.Run(ctx, Cmd{"send-keys", "-l", "-t", paneID, "--", text}); err != nil {
			return fmt.Errorf("sending text to %s: %w", paneID, err)
		}
		return nil
	}
	buf := "orc-" + newNonce()
	paste := Cmd{"paste-buffer", "-d", "-p", "-b", buf, "-t", paneID}
	var err error
	if ir, ok := r.(InputRunner); ok {
		_, err = ir.RunInput(ctx, []byte(text), Cmd{"load-buffer", "-b", buf, "-"}, paste)
	} else {
		_, err = r.Run(ctx, Cmd{"set-buffer", "-b", buf, "--", text}, paste)
	}
	if err != nil {
		// The paste failed after the buffer was loaded; don't leak it.
		r.Run(ctx, Cmd{"delete-buffer", "-b", buf})
		return fmt.Errorf("pasting text to %s: %w", paneID, err)
	}
	return nil
}

// SendEnter presses Enter in pane paneID, as its own command
// ("send-keys -t %N Enter"). Agent TUIs may take an Enter that arrives
// together with text as part of a paste, so send it separately, after a
// pause, and check that the input was submitted. Call it only after
// SendText succeeded: an Enter alone submits whatever is in the input.
func SendEnter(ctx context.Context, r Runner, paneID string) error {
	if !validPaneID(paneID) {
		return fmt.Errorf("sending enter to %q: %w", paneID, ErrInvalidPane)
	}
	if _, err := r.Run(ctx, Cmd{"send-keys", "-t", paneID, "Enter"}); err != nil {
		return fmt.Errorf("sending enter to %s: %w", paneID, err)
	}
	return nil
}

// CapturePane returns the visible screen of pane paneID, one string per
// screen row ("capture-pane -p"), without escape sequences and with
// trailing spaces trimmed. Wrapped lines are not joined (no -J), so the
// rows are what a person sees and their count is the pane height.
func CapturePane(ctx context.Context, r Runner, paneID string) ([]string, error) {
	if !validPaneID(paneID) {
		return nil, fmt.Errorf("capturing pane %q: %w", paneID, ErrInvalidPane)
	}
	lines, err := r.Run(ctx, Cmd{"capture-pane", "-p", "-t", paneID})
	if err != nil {
		return nil, fmt.Errorf("capturing pane %s: %w", paneID, err)
	}
	return lines, nil
}

// PaneInMode reports whether pane paneID is in a mode such as copy mode,
// where keys go to the mode rather than to the program.
func PaneInMode(ctx context.Context, r Runner, paneID string) (bool, error) {
	v, err := paneFormatValue(ctx, r, paneID, "#{pane_in_mode}")
	if err != nil {
		return false, fmt.Errorf("checking mode of pane %s: %w", paneID, err)
	}
	return v == "1", nil
}

// CancelMode takes pane paneID out of copy mode or any other mode
// ("copy-mode -q"); it does nothing to a pane in no mode. It is used
// instead of "send-keys -X cancel", which fails on a pane that is in no
// mode and so would race with a person leaving the mode.
func CancelMode(ctx context.Context, r Runner, paneID string) error {
	if !validPaneID(paneID) {
		return fmt.Errorf("cancelling mode of %q: %w", paneID, ErrInvalidPane)
	}
	if _, err := r.Run(ctx, Cmd{"copy-mode", "-q", "-t", paneID}); err != nil {
		return fmt.Errorf("cancelling mode of %s: %w", paneID, err)
	}
	return nil
}

// RespawnPane kills the program of pane paneID, if it still runs, and
// starts command in its place ("respawn-pane -k"); command is a shell
// command line. An empty command restarts the pane's original command.
func RespawnPane(ctx context.Context, r Runner, paneID, command string) error {
	if !validPaneID(paneID) {
		return fmt.Errorf("respawning pane %q: %w", paneID, ErrInvalidPane)
	}
	cmd := Cmd{"respawn-pane", "-k", "-t", paneID}
	if command != "" {
		cmd = append(cmd, "--", command)
	}
	if _, err := r.Run(ctx, cmd); err != nil {
		return fmt.Errorf("respawning pane %s: %w", paneID, err)
	}
	return nil
}

// paneFormatValue expands a format in the context of pane paneID.
func paneFormatValue(ctx context.Context, r Runner, paneID, format string) (string, error) {
	if !validPaneID(paneID) {
		return "", ErrInvalidPane
	}
	lines, err := r.Run(ctx, Cmd{"display-message", "-p", "-t", paneID, "--", format})
	if err != nil {
		return "", err
	}
	return strings.Join(lines, "\n"), nil
}
