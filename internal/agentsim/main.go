//go:build linux || darwin

package agentsim

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"
)

// options are the parsed command-line flags.
type options struct {
	cfg       Config
	logPath   string
	rawPath   string
	bracketed bool
	// startDelay keeps the tty cooked and the screen empty for a while,
	// like an agent that takes seconds to start.
	startDelay time.Duration
}

// Main runs the fake agent on stdin (normally the pane's tty) and draws on
// stdout until input ends, Ctrl-C, a signal or -exit-after. args are the
// command-line arguments without the program name. It returns one of the
// Exit* codes. Diagnostics go to stderr.
//
// Flags:
//
//	-log FILE            append accepted prompts and events as JSON lines
//	-raw FILE            append every read() as {"t":unix_nanos,"hex":"..."}
//	-busy DURATION       stay busy this long after each accepted prompt
//	-start-busy DURATION start busy for this long
//	-modal               start with the modal dialog open
//	-modal-keys          the dialog consumes keys (Enter answers yes)
//	-exit-after N        exit with ExitPromptLimit after N accepted prompts
//	-burst-chars N       characters that make a paste burst (0 disables; 3)
//	-burst-gap DURATION  largest gap inside a burst (8ms)
//	-enter-window DURATION  Enter within this of a burst is a newline (120ms)
//	-esc-timeout DURATION   wait for the rest of an escape sequence (10ms)
//	-start-delay DURATION   stay unready (cooked tty, blank screen) this long
//	-bracketed-paste     enable bracketed paste (true)
//	-style claude        draw Claude Code 2.x's screen (❯ box between rules)
//	-editing             a movable cursor in the composer; ^J is a newline
//	-startup DURATION    draw nothing this long; keep typed text, lose Enter
//	-picker-command CMD  submitting CMD (e.g. /model) opens a picker
//
// Signals: SIGUSR1 toggles the modal dialog, SIGUSR2 crashes (ExitCrash),
// SIGTERM, SIGHUP and SIGINT exit with ExitOK, SIGWINCH redraws.
func Main(args []string, stdin *os.File, stdout io.Writer) int {
	opts, err := parseFlags(args, os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		return ExitOK
	}
	if err != nil {
		return ExitUsage
	}
	code, err := run(opts, stdin, stdout)
	if err != nil {
		fmt.Fprintf(os.Stderr, "agentsim: %v\n", err)
	}
	return code
}

// parseFlags parses args on its own FlagSet, reporting problems to errOut.
func parseFlags(args []string, errOut io.Writer) (options, error) {
	o := options{cfg: DefaultConfig()}
	fs := flag.NewFlagSet("agentsim", flag.ContinueOnError)
	fs.SetOutput(errOut)
	fs.StringVar(&o.logPath, "log", "", "append accepted prompts and events to `FILE` as JSON lines")
	fs.StringVar(&o.rawPath, "raw", "", "append every read() to `FILE` as {\"t\":unix_nanos,\"hex\":...} lines")
	fs.DurationVar(&o.cfg.Busy, "busy", 0, "stay busy this long after each accepted prompt")
	fs.DurationVar(&o.cfg.StartBusy, "start-busy", 0, "start busy for this long")
	fs.BoolVar(&o.cfg.Modal, "modal", false, "start with the modal dialog open (SIGUSR1 toggles it)")
	fs.BoolVar(&o.cfg.ModalKeys, "modal-keys", false, "the modal dialog consumes keys: Enter/1/y answer yes, 2/n/Esc no, others are dropped")
	fs.IntVar(&o.cfg.ExitAfter, "exit-after", 0, "exit after `N` accepted prompts (0: never)")
	fs.IntVar(&o.cfg.BurstChars, "burst-chars", o.cfg.BurstChars, "printable characters that make a paste burst (0 disables the rule)")
	fs.DurationVar(&o.cfg.BurstGap, "burst-gap", o.cfg.BurstGap, "largest gap between characters of one burst")
	fs.DurationVar(&o.cfg.EnterWindow, "enter-window", o.cfg.EnterWindow, "an Enter this soon after a burst becomes a newline")
	fs.DurationVar(&o.cfg.EscTimeout, "esc-timeout", o.cfg.EscTimeout, "how long an ESC waits for the rest of a sequence")
	fs.DurationVar(&o.startDelay, "start-delay", 0, "stay unready (cooked tty, nothing drawn) this long before starting")
	fs.BoolVar(&o.bracketed, "bracketed-paste", true, "enable bracketed paste mode")
	fs.StringVar(&o.cfg.Style, "style", "", "screen `style`: empty (classic) or claude (Claude Code 2.x: ❯ box between rules, dialogs and pickers in its place)")
	fs.BoolVar(&o.cfg.Editing, "editing", false, "a movable cursor in the composer (arrows, Home/End, ^A/^E), ^U deletes to the line start, ^J inserts a newline")
	fs.DurationVar(&o.cfg.Startup, "startup", 0, "start up this long (raw tty, nothing drawn): typed text is kept, Enter is lost")
	fs.StringVar(&o.cfg.PickerCommand, "picker-command", "", "submitting `CMD` (e.g. /model) opens a picker instead of being accepted")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		err := fmt.Errorf("unexpected argument %q", fs.Arg(0))
		fmt.Fprintf(errOut, "agentsim: %v\n", err)
		return o, err
	}
	c := o.cfg
	if c.Style != StyleClassic && c.Style != StyleClaude {
		err := fmt.Errorf("unknown -style %q (want claude or nothing)", c.Style)
		fmt.Fprintf(errOut, "agentsim: %v\n", err)
		return o, err
	}
	if c.Startup < 0 || o.startDelay < 0 || c.Busy < 0 || c.StartBusy < 0 || c.ExitAfter < 0 || c.BurstChars < 0 ||
		c.BurstGap < 0 || c.EnterWindow < 0 || c.EscTimeout < 0 {
		err := errors.New("durations and counts must not be negative")
		fmt.Fprintf(errOut, "agentsim: %v\n", err)
		return o, err
	}
	return o, nil
}
