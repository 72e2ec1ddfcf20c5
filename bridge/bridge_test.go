package bridge_test

import (
	"strings"
	"testing"

	"github.com/tmux-orc/tmux-orc/bridge"
	"github.com/tmux-orc/tmux-orc/bus"
	"github.com/tmux-orc/tmux-orc/subjects"
)

func TestDeliversAndSubmitsIntoAnAgentPane(t *testing.T) {
	w := newWorld(t)
	log := w.agent("be:agent")
	w.startBridge()
	e := w.publish("be:0", subjects.High, "Agent backend-dev:2 idle 15min")
	rs := w.outcome(e)
	if len(rs) != 1 || rs[0].Outcome != bus.Delivered || rs[0].PaneTarget != "be:0.0" || rs[0].EnterPresses != 1 {
		t.Fatalf("receipts %+v", rs)
	}
	got := accepted(t, log)
	want := bridge.Render(e, bridge.DefaultMaxInline)
	if len(got) != 1 || got[0] != want {
		t.Fatalf("agent accepted %q, want [%q]", got, want)
	}
	if !strings.HasPrefix(want, "⚠️ HIGH PRIORITY Agent backend-dev:2 idle 15min [id "+e.ID) {
		t.Fatalf("rendering %q", want)
	}
}
