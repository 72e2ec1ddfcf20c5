package tmux

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
)

// runners returns a control client and a spawned runner on the same server.
func (s *testServer) runners() map[string]Runner {
	return map[string]Runner{"control": s.dial(Options{}), "exec": s.exec}
}

func TestListPanesAndResolveOddNames(t *testing.T) {
	s := newTestServer(t, "my session", "sleep 1000")
	s.tmux("rename-window", "-t", "=my session:0", "w:colon")
	wdot := s.tmux("new-window", "-d", "-P", "-F", "#{window_id}", "-t", "=my session:", "-n", "w.dot", "sleep 1000")
	split := s.tmux("split-window", "-d", "-P", "-F", "#{pane_id}", "-t", wdot, "sleep 1000")
	s.tmux("new-window", "-d", "-t", "=my session:", "-n", "$HOME ;~ {x}", "sleep 1000")
	s.tmux("new-session", "-d", "-s", "star*", "-n", "a b.c", "sleep 1000")
	s.tmux("new-session", "-d", "-s", "gt>", "-n", "-dash", "sleep 1000")
	s.tmux("new-session", "-d", "-s", "ünï ☃", "-n", "日本 x", "sleep 1000")
	s.tmux("new-session", "-d", "-s", "dot.ted", "-n", "dup", "sleep 1000")
	s.tmux("new-window", "-d", "-t", "=dot_ted:", "-n", "dup", "sleep 1000")

	ctx := testCtx(t)
	rs := s.runners()
	c := rs["control"]
	p0 := s.tmux("display-message", "-p", "-t", wdot+".0", "#{pane_id}")
	if err := SetWindowOption(ctx, c, p0, OptionRole, "w-role"); err != nil {
		t.Fatal(err)
	}
	if err := SetWindowOption(ctx, c, p0, OptionGroup, "g 1; x"); err != nil {
		t.Fatal(err)
	}
	if err := SetPaneOption(ctx, c, split, OptionRole, "p-role"); err != nil {
		t.Fatal(err)
	}

	// The shell that starts each pane execs sleep; wait for all of them.
	var lists [][]Pane
	checkFor(t, 10*time.Second, 10*time.Millisecond, func() error {
		lists = nil
		for name, r := range rs {
			panes, err := ListPanes(ctx, r)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			for _, p := range panes {
				if p.Command != "sleep" {
					return fmt.Errorf("pane %s runs %q", p.ID, p.Command)
				}
			}
			lists = append(lists, panes)
		}
		return nil
	})
	if !reflect.DeepEqual(lists[0], lists[1]) {
		t.Fatalf("control and exec disagree:\n%+v\n%+v", lists[0], lists[1])
	}
	type key struct{ session, window string }
	byName := map[key][]Pane{}
	for _, p := range lists[0] {
		byName[key{p.Session, p.Window}] = append(byName[key{p.Session, p.Window}], p)
		if p.PID <= 0 || p.Dead || p.InMode || !validPaneID(p.ID) || !strings.HasPrefix(p.SessionID, "$") ||
			!strings.HasPrefix(p.WindowID, "@") || p.Command != "sleep" {
			t.Errorf("odd pane %+v", p)
		}
	}
	for _, k := range []key{
		{"my session", "w:colon"}, {"my session", "w.dot"}, {"my session", "$HOME ;~ {x}"},
		{"star*", "a b.c"}, {"gt>", "-dash"}, {"ünï ☃", "日本 x"}, {"dot_ted", "dup"},
	} {
		if len(byName[k]) == 0 {
			t.Errorf("no pane in session %q window %q; have %v", k.session, k.window, byName)
		}
	}
	for _, p := range byName[key{"my session", "w.dot"}] {
		wantRole := "w-role"
		if p.ID == split {
			wantRole = "p-role"
		}
		if p.Role != wantRole || p.Group != "g 1; x" {
			t.Errorf("pane %s: role %q group %q, want %q, %q", p.ID, p.Role, p.Group, wantRole, "g 1; x")
		}
	}

	first := func(sess, win string) string { return byName[key{sess, win}][0].ID }
	resolve := []struct {
		target string
		want   string
		err    error
	}{
		{"my session:w:colon", first("my session", "w:colon"), nil},
		{"=my session:=w:colon", first("my session", "w:colon"), nil},
		{"my session:w.dot", p0, nil},
		{"my session:w.dot.0", p0, nil},
		{"my session:w.dot.1", split, nil},
		{"my session:1.1", split, nil},
		{"my session:" + wdot + ".1", split, nil},
		{"my session:$HOME ;~ {x}", first("my session", "$HOME ;~ {x}"), nil},
		{"star*:a b.c", first("star*", "a b.c"), nil},
		{"star*:0", first("star*", "a b.c"), nil},
		{"gt>:-dash", first("gt>", "-dash"), nil},
		{"ünï ☃:日本 x.0", first("ünï ☃", "日本 x"), nil},
		{"ünï ☃", first("ünï ☃", "日本 x"), nil},
		{split, split, nil},
		{"%99999", "", ErrTargetNotFound},
		{"star:a b.c", "", ErrTargetNotFound},
		{"my session:w.dot.7", "", ErrTargetNotFound},
		{"my session:nope", "", ErrTargetNotFound},
		{"dot_ted:dup", "", ErrAmbiguousTarget},
	}
	for name, r := range rs {
		for _, tt := range resolve {
			got, err := ResolveTarget(ctx, r, tt.target)
			if !errors.Is(err, tt.err) || got != tt.want {
				t.Errorf("%s: ResolveTarget(%q) = %q, %v; want %q, %v", name, tt.target, got, err, tt.want, tt.err)
			}
		}
		for _, o := range []struct {
			get        func() (string, error)
			want, what string
		}{
			{func() (string, error) { return PaneOption(ctx, r, split, OptionRole) }, "p-role", "pane role of split"},
			{func() (string, error) { return WindowOption(ctx, r, split, OptionRole) }, "w-role", "window role of split"},
			{func() (string, error) { return PaneOption(ctx, r, p0, OptionRole) }, "", "pane role of p0"},
			{func() (string, error) { return WindowOption(ctx, r, p0, OptionGroup) }, "g 1; x", "window group"},
		} {
			if got, err := o.get(); err != nil || got != o.want {
				t.Errorf("%s: %s = %q, %v; want %q", name, o.what, got, err, o.want)
			}
		}
	}
}

func TestListPanesOptionWithNewline(t *testing.T) {
	s := newTestServer(t, "main", "sleep 1000")
	ctx := testCtx(t)
	for name, r := range s.runners() {
		id := s.tmux("display-message", "-p", "-t", "main:0.0", "#{pane_id}")
		if err := SetPaneOption(ctx, r, id, OptionGroup, "two\nlines "+name); err != nil {
			t.Fatal(err)
		}
		panes, err := ListPanes(ctx, r)
		if err != nil {
			t.Fatal(err)
		}
		if len(panes) != 1 || panes[0].Group != "two\nlines "+name {
			t.Fatalf("%s: got %+v", name, panes)
		}
	}
}

func TestParsePanes(t *testing.T) {
	rec := func(fields ...string) string { return recordSep + strings.Join(fields, fieldSep) }
	base := []string{"%1", "$0", "s", "@2", "3", "w", "1", "0", "1", "0", "42", "0", "bash", "claude-code"}
	with := func(i int, v string) []string {
		f := append([]string(nil), base...)
		f[i] = v
		return append(f, "r", "g")
	}
	lines := []string{
		"stray line before any record",
		rec(append(base, "role", "grp")...),
		rec(append(with(0, "%2"), "")[:16]...),
		"line",                                          // continues the group of %2
		rec(append(with(0, "%3"), "extra")...),          // a field too many
		rec(with(0, "%1")...),                           // %1 again
		rec(with(0, "x")...),                            // not a pane id
		rec(with(1, "0")...),                            // not a session id
		rec(with(3, "%2")...),                           // not a window id
		rec(with(4, "-1")...),                           // negative index
		rec(with(6, "yes")...),                          // not a flag
		rec(with(10, "4 2")...),                         // not a pid
		rec(append(with(0, "%4"), "")[:15]...),          // a field short
		rec(append(with(0, "%5"), "")[:16]...) + "\x00", // odd bytes in the group are kept
	}
	panes, skipped := parsePanes(lines)
	if len(panes) != 3 || panes[0].ID != "%1" || panes[0].Role != "role" || panes[0].Agent != "claude-code" || panes[1].ID != "%2" ||
		panes[1].Group != "g\nline" || panes[2].ID != "%5" || panes[0].WindowIndex != 3 || panes[0].PID != 42 ||
		!panes[0].WindowActive || !panes[0].Active || panes[0].Index != 0 || panes[0].Command != "bash" {
		t.Fatalf("got %+v", panes)
	}
	if len(skipped) != 10 {
		t.Fatalf("skipped %d records, want 10: %+v", len(skipped), skipped)
	}
}
