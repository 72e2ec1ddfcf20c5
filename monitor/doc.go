// Package monitor watches the agent panes of one tmux server and tells each session's
// management group (its PM or orchestrator), at the right priority, when an agent needs
// attention: crashed, stuck, idle, or the whole team idle. It also restarts crashed agents.
//
// Detection is process and pane state first, screen text last: a dead pane
// (pane_dead, with remain-on-exit on) or a pane whose current command went back to a shell
// is crashed at once, with no sightings to count; idle is an unchanged screen (the hash of
// capture-pane) for Config.IdleAfter; stuck is a screen that the pane's Profile reads as a
// permission dialog, a rate-limit notice, or text left unsubmitted at the prompt, for
// Config.StuckAfter. Everything is polled over one tmux control connection: one list-panes
// and one capture-pane per agent pane each Config.Poll.
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
