// Package agentsim is a fake agent TUI for tests of message injection.
//
// It runs inside a tmux pane and reacts to keyboard input the way real agent
// TUIs (Claude Code, Codex) do in the ways that matter for injection: it
// enables bracketed paste, turns an Enter that follows a fast burst of
// characters into a newline (the Codex paste-burst rule), queues prompts
// submitted while it is busy, swallows Enter while a modal dialog is open,
// counts a lone Esc as an interrupt and dies on Ctrl-C. Every accepted prompt
// and every notable event is written as one JSON line to a log file, so a
// test can assert exactly what the agent accepted:
//
//	{"event":"ready","time":"...","pid":1234}
//	{"seq":1,"time":"2026-01-02T03:04:05.123456789Z","text":"hello"}
//	{"event":"interrupt","time":"...","count":1}
//	{"event":"exit","time":"...","code":130}
//
// ([ReadLog] parses it; a zero code is omitted.) With -raw, every read() is
// logged as {"t":unix_nanos,"hex":"..."} ([ReadRaw]).
//
// The screen, as tmux capture-pane shows it, is a status line
// ("agentsim [idle|busy|modal] accepted=N queued=N interrupts=N
// composer_lines=N"), the last accepted prompts ("[#N] text"), a spinner
// line while busy, the composer ("> text", continuation lines indented by
// two spaces), one "Queued: text" line per queued prompt and the dialog
// ("Do you want to proceed?", "  1. Yes", "  2. No") while modal.
//
// Options make it behave more like Claude Code 2.x (see claudetest's captures
// of the real one): Config.Style StyleClaude draws the "❯ " input box between
// two rules with the permission dialog (cursor on "❯ 1. Yes") or a /model-like
// picker (Config.PickerCommand) in its place; Config.Editing gives drafts a
// movable cursor and several lines (^J); Config.Startup draws nothing for a
// while, keeping typed text but losing Enter. Every answer to a dialog or a
// picker is logged, so a test can assert that none was ever given.
//
// The behaviour lives in [Machine], which is fed timestamped byte chunks and
// needs no tty; [Main] wraps it with raw mode, signals and the log files.
package agentsim
