// Package agentsim is a fake agent TUI for tests of message injection.
//
// It runs inside a tmux pane and reacts to keyboard input the way real agent
// TUIs (Claude Code, Codex) do in the ways that matter for injection: it
// enables bracketed paste, turns an Enter that follows a fast burst of
// characters into a newline (the Codex paste-burst rule), queues prompts
// submitted while it is busy, swallows Enter while a modal dialog is open,
// counts a lone Esc as an interrupt and dies on Ctrl-C. Every accepted prompt
// and every notable event is written as one JSON line to a log file, so a
// test can assert exactly what the agent accepted.
//
// The behaviour lives in [Machine], which is fed timestamped byte chunks and
// needs no tty; [Main] wraps it with raw mode, signals and the log files.
package agentsim
