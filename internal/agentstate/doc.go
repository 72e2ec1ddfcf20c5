// Package agentstate is the one model of the panes of a tmux server and of the agents in
// them, shared by the bridge (which types into panes) and the monitor (which watches them):
//
//   - the roster: roles, groups and which pane a target means (Groups, Resolve, PaneTarget);
//   - the agent kind of a pane: declared with the tmux user option @orc-agent
//     (claude-code, codex, generic, shell), else detected from its command (KindOf);
//   - what the pane shows: one tmux round trip reads the pane's facts (dead, copy mode, a
//     shell in the foreground, the cursor) and its screen (ReadScreen);
//   - the screen profiles of the agent kinds (Profiles): where the agent's input box is,
//     whether a draft sits in it, whether a dialog, picker or menu is open;
//   - the readiness of a pane for typing (Assess), from hook state first (Claude Code's
//     hooks, kept by a Tracker), then the process and pane facts, then the screen.
//
// It depends only on package tmux; the bridge and the monitor are peers that both use it.
package agentstate
