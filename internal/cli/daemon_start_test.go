package cli

import (
	"context"
	"io"
	"reflect"
	"testing"
	"time"
)

// TestDaemonStartFlagsLayer: a flag sets its field of the flags' layer only when given, zero
// values (0s, false, port 0, an empty --metrics-listen) included, so that it overrides
// config.yaml and the environment exactly when given; the background daemon gets the same
// layer from childFlags.
func TestDaemonStartFlagsLayer(t *testing.T) {
	parse := func(args ...string) *DaemonStartOptions {
		t.Helper()
		var opts *DaemonStartOptions
		cmd := newCmdDaemonStart(newFactory(IO{}), func(_ context.Context, o *DaemonStartOptions) error {
			opts = o
			return nil
		})
		cmd.SetArgs(args)
		cmd.SetOut(io.Discard)
		cmd.SetErr(io.Discard)
		if err := cmd.Execute(); err != nil || opts == nil {
			t.Fatalf("%q: %v", args, err)
		}
		return opts
	}
	o := parse()
	if l := o.Flags; l.Port != nil || l.Bridge.Enabled != nil || l.Bridge.LowBatch != nil || l.Monitor.Enabled != nil ||
		l.Monitor.TurnFinished != nil || l.Notify.Tmux != nil || l.MetricsListen != "" || l.Listen != "" {
		t.Fatalf("no flags set %+v", l)
	}
	o = parse("--port", "0", "--low-batch", "0s", "--no-bridge", "--no-monitor=false", "--turn-finished=false",
		"--auto-restart", "--no-notify-tmux", "--metrics-listen", "", "--routes", "nats://a:1,nats://b:2", "--typing-wait", "5s")
	l := o.Flags
	if l.Port == nil || *l.Port != 0 || l.Bridge.LowBatch == nil || *l.Bridge.LowBatch != 0 || l.Bridge.Enabled == nil || *l.Bridge.Enabled ||
		l.Monitor.Enabled == nil || !*l.Monitor.Enabled || l.Monitor.TurnFinished == nil || *l.Monitor.TurnFinished ||
		l.Monitor.AutoRestart == nil || !*l.Monitor.AutoRestart || l.Notify.Tmux == nil || *l.Notify.Tmux || l.MetricsListen != "off" ||
		l.Bridge.ReadyWait == nil || *l.Bridge.ReadyWait != 5*time.Second || len(l.Cluster.Routes) != 2 {
		t.Fatalf("flags' layer %+v", l)
	}
	if l.Bridge.Expiry != nil || l.Monitor.IdleAfter != nil || l.Notify.Slack != nil {
		t.Errorf("flags not given are set: %+v", l)
	}
	child := parse(childFlags(o.flags)...)
	if !reflect.DeepEqual(child.Flags, o.Flags) {
		t.Errorf("the background daemon's layer %+v\nwant %+v (from %q)", child.Flags, o.Flags, childFlags(o.flags))
	}
}
