// Package tmux talks to one tmux server, selected by its socket, over a
// persistent control-mode client ([Control]) or by spawning the tmux binary
// for each command sequence ([Exec]).
//
// Both implement [Runner], so the pane operations in this package
// ([ListPanes], [ResolveTarget], [SendText], [SendEnter], [CapturePane],
// [CancelMode], [RespawnPane] and the option getters) work the same over
// either. The control client is about twenty times cheaper per command and
// also delivers notifications such as %output; the spawned runner needs no
// long-lived connection and serves as a fallback.
//
// Text injected into panes is passed through [Sanitize] first, which removes
// control characters (ESC above all) so a message can never interrupt an
// agent or end a bracketed paste early. Arguments are quoted by [Quote] for
// control-mode command lines and escaped by [EscapeArg] for spawned argv, and
// free text is always preceded by "--" so a leading '-' is never a flag.
//
// The package never sets the window-size option: tmux 3.3a crashes on
// "window-size manual" with no client attached. The control client attaches
// with "-f ignore-size" so it never constrains window sizes.
package tmux
