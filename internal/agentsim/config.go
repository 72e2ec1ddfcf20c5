package agentsim

import "time"

// Config holds the behaviour knobs of a [Machine]. The zero value disables
// the burst rule, busy time and Esc detection; use [DefaultConfig] for
// Codex-like defaults.
type Config struct {
	// BurstChars is how many printable characters, each within BurstGap of
	// the previous one, make a paste burst. Zero disables the burst rule.
	BurstChars int
	// BurstGap is the largest gap between two characters of one burst.
	BurstGap time.Duration
	// EnterWindow is how long after the last character of a burst an Enter
	// is still turned into a newline instead of submitting.
	EnterWindow time.Duration
	// EscTimeout is how long an ESC byte waits for the rest of an escape
	// sequence before it counts as a lone Esc key (an interrupt).
	EscTimeout time.Duration
	// Busy is how long the agent stays busy after accepting a prompt.
	Busy time.Duration
	// StartBusy makes the agent busy for this long from the start.
	StartBusy time.Duration
	// Modal starts the agent with its modal dialog open.
	Modal bool
	// ModalKeys makes the open modal dialog consume keys like a real
	// permission dialog: Enter, 1 or y answer yes, 2, n or Esc answer no,
	// and other keys and pastes are dropped. Without it the dialog only
	// swallows Enter and typed text still reaches the composer.
	ModalKeys bool
	// ExitAfter makes the machine exit with [ExitPromptLimit] once it has
	// accepted this many prompts. Zero means never.
	ExitAfter int
	// SpinnerInterval is the spinner frame period while busy.
	SpinnerInterval time.Duration
	// Transcript is how many recently accepted prompts the screen shows.
	Transcript int
	// Style selects the screen: StyleClassic (the default) or StyleClaude,
	// Claude Code 2.x's layout (see [Machine.Lines]).
	Style string
	// Width is the screen width StyleClaude draws its rules with (80 when
	// zero); the program sets it from the terminal.
	Width int
	// Editing gives the composer a movable cursor, as Claude Code's input
	// box has: Left/Right/Up/Down, Home/End (and ^A/^E) move it, text is
	// inserted and Backspace deletes at it, ^U deletes back to the start of
	// its line, and LF (^J) inserts a newline while only CR submits.
	Editing bool
	// Startup keeps the agent starting this long: nothing is drawn and the
	// cursor stays at the top left; typed text is kept for the composer but
	// an Enter is lost ([EventStartupEnter]), as Claude Code does. Unlike
	// the program's -start-delay the tty is already raw.
	Startup time.Duration
	// PickerCommand, when set (e.g. "/model"), opens a picker like Claude
	// Code's /model when it is submitted, instead of being accepted as a
	// prompt. The picker takes Up/Down, a digit (picks at once), Enter
	// (picks the highlighted entry) and Esc (cancels), each logged as an
	// [EventPickerAnswer]; anything else is dropped ([EventModalDropped]).
	PickerCommand string
}

// Screen styles for Config.Style.
const (
	StyleClassic = ""
	StyleClaude  = "claude"
)

// DefaultConfig returns the Codex-like defaults: a burst is 3 or more
// characters within 8 ms of each other, an Enter within 120 ms of a burst is
// a newline, and an ESC not continued within 10 ms is a lone Esc.
func DefaultConfig() Config {
	return Config{
		BurstChars:      3,
		BurstGap:        8 * time.Millisecond,
		EnterWindow:     120 * time.Millisecond,
		EscTimeout:      10 * time.Millisecond,
		SpinnerInterval: 100 * time.Millisecond,
		Transcript:      5,
	}
}

// Exit codes returned by [Main] and reported in [Output.Code].
const (
	// ExitOK is a normal exit: end of input or a terminating signal.
	ExitOK = 0
	// ExitError is a runtime failure (a log file cannot be written, ...).
	ExitError = 1
	// ExitUsage is a command-line error.
	ExitUsage = 2
	// ExitCrash is the simulated crash triggered by SIGUSR2.
	ExitCrash = 3
	// ExitPromptLimit is the exit after Config.ExitAfter accepted prompts.
	ExitPromptLimit = 4
	// ExitCtrlC is the exit on a Ctrl-C byte, like an agent killed by C-c.
	ExitCtrlC = 130
)
