// Package monitor watches the agent panes of one tmux server and tells each session's
// management group (its PM or orchestrator), at the right priority, when an agent needs
// attention: crashed, stuck, idle, or the whole team idle. It also restarts crashed agents.
//
// Detection is hooks first, then process and pane state, screen text last: an agent's own
// hooks (Claude Code's, Codex's) say when it works, ends a turn or waits for a person; a dead
// pane (pane_dead, with remain-on-exit on) or a pane whose current command went back to a
// shell is crashed at once; the screen's hash says whether it changes, and the pane's Profile
// reads a dialog, a rate-limit notice or text left unsubmitted. States are busy, idle,
// waiting, stuck (waiting for Config.StuckAfter), crashed and gone.
//
// Watching is event-driven: each Config.Poll one list-panes over a tmux control connection
// asks for every pane's id, window_activity, pane_dead and pane_pid only; a pane is read
// (display-message and capture-pane) only when its window had output, its pid or dead flag
// changed, or a hook event or tmux notification names it, so quiet panes cost one line of
// that listing. With no tmux server the monitor backs off from 100 ms to 5 s.
//
// The monitor's view of each agent (briefed or not, since when idle, its alerts and their
// escalation) is kept in the KV bucket ORC_MONITOR, so a restart raises nothing false. When an
// agent with hooks ends a turn, the session's management hears it (Config.TurnFinished).
//
// Alerts are edge-triggered per (agent, condition): one alert when a condition starts, one
// resolved message when it ends, nothing while it lasts, no new alert within
// Config.Cooldown of the last one, none during Config.Grace after a restart, and an alert
// that requires an acknowledgement and gets none within Config.EscalateAfter is published
// once more at the next higher priority. Alerts go to group "management" of the agent's
// session only.
//
// Priorities:
//
//	crash of the PM or orchestrator   critical  🚨 CRITICAL PM crash detected backend-dev:0.0
//	crash of an agent                 high      requires ack
//	stuck (dialog, rate limit, text)  high      requires ack
//	idle for IdleAfter                normal
//	idle for LongIdleAfter            high      ⚠️ HIGH PRIORITY Agent backend-dev:2.0 idle 15min - investigate or restart
//	team idle, resolved, recovery     normal
package monitor
