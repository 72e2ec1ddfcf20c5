package subjects_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/tmux-orc/tmux-orc/subjects"
)

func TestTargetsRoundTripThroughSubjects(t *testing.T) {
	names := []string{"backend-dev", "my.project", "with space", "star*", ">", "a>b", "日本語", "équipe",
		"100%", "~", "tilde~", "a:b", "pm", "-leading-dash", "semi;colon", "quote'\"", "emoji🚀", "tab\tname", "@at", "@"}
	check := func(p subjects.Priority, a subjects.Address) {
		t.Helper()
		subj, err := subjects.MessageSubject(p, a, "m1")
		if err != nil {
			t.Fatalf("MessageSubject(%+v): %v", a, err)
		}
		if n := len(strings.Split(subj, ".")); n != 6 {
			t.Fatalf("subject %q has %d tokens, want 6", subj, n)
		}
		if strings.ContainsAny(subj, " *>\t") {
			t.Fatalf("subject %q contains a space or wildcard", subj)
		}
		gp, ga, gid, err := subjects.ParseMessageSubject(subj)
		if err != nil {
			t.Fatalf("ParseMessageSubject(%q): %v", subj, err)
		}
		if gp != p || ga != a || gid != "m1" {
			t.Fatalf("round trip of %+v gave %v %+v %q", a, gp, ga, gid)
		}
	}
	for _, p := range subjects.Priorities {
		for _, host := range []string{"h1", "Dev_Box-2", strings.Repeat("h", 64)} {
			for _, session := range names {
				if strings.ContainsAny(session, ":.\t") {
					continue
				}
				for _, window := range append([]string{""}, names...) {
					if strings.Contains(window, "\t") {
						continue
					}
					check(p, subjects.Address{Kind: subjects.KindSession, Host: host, Session: session, Window: window})
				}
				check(p, subjects.Address{Kind: subjects.KindGroup, Group: "management", Host: host, Session: session})
			}
		}
		check(p, subjects.Address{Kind: subjects.KindGroup, Group: "all"})
	}
}

func TestReadableSubjects(t *testing.T) {
	for _, tc := range []struct {
		target string
		group  bool
		want   string
	}{
		{"h1.backend-dev:2", false, "orc.high.h1.backend-dev.2.abc"},
		{"h1.backend-dev", false, "orc.high.h1.backend-dev.~.abc"},
		{"h1.backend-dev:editor window", false, "orc.high.h1.backend-dev.editor%20window.abc"},
		{"h1.backend-dev:@2", false, "orc.high.h1.backend-dev.%402.abc"},
		{"h1.backend-dev:~", false, "orc.high.h1.backend-dev.%7E.abc"},
		{"h1.backend-dev", true, "orc.high.h1.backend-dev.@management.abc"},
		{"", true, "orc.high.~.~.@management.abc"},
	} {
		var a subjects.Address
		var err error
		if tc.group {
			a, err = subjects.GroupAddress("management", tc.target)
		} else {
			a, err = subjects.ParseTarget(tc.target)
		}
		if err != nil {
			t.Fatal(err)
		}
		got, err := subjects.MessageSubject(subjects.High, a, "abc")
		if err != nil || got != tc.want {
			t.Errorf("%q: got %q %v, want %q", tc.target, got, err, tc.want)
		}
	}
	a, _ := subjects.ParseTarget("backend-dev:2")
	if _, err := subjects.MessageSubject(subjects.High, a, "abc"); !errors.Is(err, subjects.ErrNoHost) {
		t.Fatalf("a target without a host gave %v, want ErrNoHost", err)
	}
}

func TestParseTargetWithHost(t *testing.T) {
	for _, tc := range []struct {
		in                    string
		host, session, window string
	}{
		{"backend", "", "backend", ""},
		{"backend:2", "", "backend", "2"},
		{"h1.backend:2", "h1", "backend", "2"},
		{"h1.backend:my.window:x", "h1", "backend", "my.window:x"},
		{"Dev_Box-2.pm", "Dev_Box-2", "pm", ""},
	} {
		a, err := subjects.ParseTarget(tc.in)
		if err != nil || a.Host != tc.host || a.Session != tc.session || a.Window != tc.window {
			t.Errorf("ParseTarget(%q) = %+v, %v", tc.in, a, err)
		}
		if err == nil && a.String() != tc.in {
			t.Errorf("ParseTarget(%q).String() = %q", tc.in, a.String())
		}
	}
	g, err := subjects.GroupAddress("management", "h2.backend")
	if err != nil || g.Host != "h2" || g.Session != "backend" || g.String() != "group:management@h2.backend" {
		t.Fatalf("GroupAddress with a host: %+v %v", g, err)
	}
	if _, err := subjects.GroupAddress("management", ".backend"); err == nil || !strings.Contains(err.Error(), "host before '.' is empty") {
		t.Fatalf("empty host in a group scope: %v", err)
	}
	if err := (subjects.Address{Kind: subjects.KindGroup, Group: "all", Host: "h1"}).Validate(); !errors.Is(err, subjects.ErrGroup) {
		t.Fatalf("a group everywhere with a host: %v", err)
	}
}

func TestParseTargetErrors(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", "session name is empty"},
		{":2", "session name is empty"},
		{"pm:", "window after ':' is empty"},
		{"pm\x1b:1", "control character"},
		{"pm:\x00", "control character"},
		{"\xff:1", "not valid UTF-8"},
		{strings.Repeat("a", 300), "limit is 256"},
		{".backend:2", "host before '.' is empty"},
		{"h1.:2", "session after '.' is empty"},
		{"h1.", "session after '.' is empty"},
		{"a.b.c", "contains ':' or '.'"},
		{"bad host.backend", "host \"bad host\""},
		{strings.Repeat("h", 65) + ".backend", "want 1-64"},
	} {
		_, err := subjects.ParseTarget(tc.in)
		if err == nil || !errors.Is(err, subjects.ErrTarget) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseTarget(%q) = %v, want ErrTarget mentioning %q", tc.in, err, tc.want)
		}
	}
	a, err := subjects.ParseTarget("pm:1:with:colons")
	if err != nil || a.Session != "pm" || a.Window != "1:with:colons" {
		t.Fatalf("window with colons: %+v %v", a, err)
	}
}

func TestParseMessageSubjectErrors(t *testing.T) {
	for _, s := range []string{
		"orc.high.session.backend-dev.2",     // 5 tokens
		"orc.high.h1.backend.2.id.x",         // 7 tokens
		"orc.urgent.h1.backend.2.id",         // priority
		"orc.high.~.backend.2.id",            // no host for a session
		"orc.high.~.~.2.id",                  // no host, not a group
		"orc.high.h1.~.@management.id",       // a group in "any session" of one host
		"orc.high.h1.backend.@Management.id", // bad group
		"orc.high.h1.backend.@.id",           // empty group
		"orc.high.bad%20host.backend.2.id",   // bad host
		"orc.high.h1.a%2Eb.2.id",             // '.' in a session
		"orc.high.h1.backend.%41.id",         // non-canonical window
		"orc.high.h1.backend.2.bad.id",       // 7 tokens via id
		"nats.high.h1.backend.2.id",          // root
		"orc.high." + strings.Repeat("h", 65) + ".backend.2.id",
	} {
		if _, _, _, err := subjects.ParseMessageSubject(s); err == nil {
			t.Errorf("ParseMessageSubject(%q) accepted", s)
		}
	}
}

func TestGroupsAndPriorities(t *testing.T) {
	for _, bad := range []string{"", "Management", "has space", "a.b", "-x", strings.Repeat("g", 65)} {
		if _, err := subjects.GroupAddress(bad, ""); !errors.Is(err, subjects.ErrGroup) {
			t.Errorf("group %q: got %v, want ErrGroup", bad, err)
		}
	}
	if _, err := subjects.ParsePriority("urgent"); err == nil || !strings.Contains(err.Error(), `unknown priority "urgent"`) {
		t.Fatalf("got %v", err)
	}
	ps, err := subjects.ParsePriorityList("low,CRITICAL,high,low")
	if err != nil || len(ps) != 3 || ps[0] != subjects.Critical || ps[2] != subjects.Low {
		t.Fatalf("got %v %v", ps, err)
	}
	if _, err := subjects.ParsePriorityList("high,,low"); err == nil {
		t.Fatal("empty list item accepted")
	}
}

func TestFiltersSelectTheRightSubjects(t *testing.T) {
	mk := func(p subjects.Priority, a subjects.Address) string {
		s, err := subjects.MessageSubject(p, a, "id1")
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	target := func(s string) subjects.Address {
		a, err := subjects.ParseTarget(s)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	group := func(g, s string) subjects.Address {
		a, err := subjects.GroupAddress(g, s)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	all := map[string]subjects.Address{"w2": target("h1.be:2"), "w3": target("h1.be:3"), "whole": target("h1.be"),
		"other": target("h1.fe:2"), "w2h2": target("h2.be:2"), "mgmt": group("management", ""),
		"mgmtBe": group("management", "h1.be"), "mgmtBeH2": group("management", "h2.be"), "mgmtFe": group("management", "h1.fe")}
	for _, tc := range []struct {
		sel  subjects.Address
		want []string
	}{
		{target("be:2"), []string{"w2", "w2h2"}},
		{target("h1.be:2"), []string{"w2"}},
		{target("be"), []string{"w2", "w3", "whole", "w2h2", "mgmtBe", "mgmtBeH2"}},
		{target("h2.be"), []string{"w2h2", "mgmtBeH2"}},
		{group("management", ""), []string{"mgmt", "mgmtBe", "mgmtBeH2", "mgmtFe"}},
		{group("management", "be"), []string{"mgmt", "mgmtBe", "mgmtBeH2"}},
		{group("management", "h1.be"), []string{"mgmt", "mgmtBe"}},
		{subjects.Address{}, []string{"w2", "w3", "whole", "other", "w2h2", "mgmt", "mgmtBe", "mgmtBeH2", "mgmtFe"}},
	} {
		got := map[string]bool{}
		for name, a := range all {
			for _, f := range subjects.Filters(subjects.High, tc.sel) {
				if matchSubject(f, mk(subjects.High, a)) {
					got[name] = true
				}
			}
			for _, f := range subjects.Filters(subjects.Low, tc.sel) {
				if matchSubject(f, mk(subjects.High, a)) {
					t.Fatalf("low filter %q matched a high subject", f)
				}
			}
		}
		if len(got) != len(tc.want) {
			t.Errorf("selector %v matched %v, want %v", tc.sel, got, tc.want)
		}
		for _, w := range tc.want {
			if !got[w] {
				t.Errorf("selector %v did not match %s", tc.sel, w)
			}
		}
	}
	// The bridge's filters: one session on one host, and groups everywhere.
	for name, a := range all {
		s := mk(subjects.Normal, a)
		inBe := name == "w2" || name == "w3" || name == "whole" || name == "mgmtBe"
		if matchSubject(subjects.SessionSubjects(subjects.Normal, "h1", "be"), s) != inBe {
			t.Errorf("SessionSubjects(h1, be) on %s (%s): want %v", name, s, inBe)
		}
		if matchSubject(subjects.EverywhereSubjects(subjects.Normal), s) != (name == "mgmt") {
			t.Errorf("EverywhereSubjects on %s (%s)", name, s)
		}
	}
}

func TestSanitizeHost(t *testing.T) {
	for in, want := range map[string]string{"devbox": "devbox", "dev.example.com": "dev_example_com", "": "localhost",
		"a b:c": "a_b_c", strings.Repeat("x", 80): strings.Repeat("x", 64), "héte": "h__te"} {
		if got := subjects.SanitizeHost(in); got != want || subjects.ValidateHost(got) != nil {
			t.Errorf("SanitizeHost(%q) = %q, want %q", in, got, want)
		}
	}
	t.Setenv(subjects.EnvHost, "my.host")
	if got := subjects.LocalHost(); got != "my_host" {
		t.Errorf("LocalHost with %s=my.host: %q", subjects.EnvHost, got)
	}
}

// matchSubject implements NATS wildcard matching for the test.
func matchSubject(filter, subject string) bool {
	f, s := strings.Split(filter, "."), strings.Split(subject, ".")
	for i, tok := range f {
		if tok == ">" {
			return len(s) > i
		}
		if i >= len(s) || (tok != "*" && tok != s[i]) {
			return false
		}
	}
	return len(f) == len(s)
}

func TestNewIDsAreUniqueAndSortByTime(t *testing.T) {
	seen := map[string]bool{}
	prev := ""
	base := time.Now()
	for i := 0; i < 10000; i++ {
		id := subjects.NewID(base.Add(time.Duration(i) * time.Millisecond))
		if err := subjects.ValidateID(id); err != nil {
			t.Fatal(err)
		}
		if seen[id] {
			t.Fatalf("duplicate id %s", id)
		}
		if id[:9] < prev {
			t.Fatalf("ids do not sort by time: %s after %s", id, prev)
		}
		prev = id[:9]
		seen[id] = true
	}
}

func validEnvelope() *subjects.Envelope {
	a, _ := subjects.ParseTarget("backend-dev:2")
	return &subjects.Envelope{
		ID: "daemon-health-1234567890", Timestamp: time.Date(2025, 1, 15, 10, 30, 45, 0, time.UTC),
		Source: subjects.Source{Type: "daemon", Identifier: "monitoring-daemon"}, Target: a,
		Message: subjects.Message{Type: "notification", Category: "health", Priority: subjects.High,
			Content: subjects.Content{Subject: "Agent Health Alert", Body: "Agent backend:1 has been idle for 30 minutes",
				Context: map[string]any{"agent": "backend:1", "idle_duration": 1800.0}}},
		Metadata: subjects.Metadata{RequiresAck: true, Tags: []string{"health", "idle"}, CorrelationID: "session-123"},
	}
}

func TestEnvelopeMatchesTheGuideFormat(t *testing.T) {
	b, err := validEnvelope().Encode()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"id":"daemon-health-1234567890"`, `"timestamp":"2025-01-15T10:30:45Z"`,
		`"source":{"type":"daemon","identifier":"monitoring-daemon"}`, `"priority":"high"`,
		`"content":{"subject":"Agent Health Alert"`, `"requires_ack":true`, `"correlation_id":"session-123"`,
		`"tags":["health","idle"]`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("encoded envelope lacks %s:\n%s", want, b)
		}
	}
	back, err := subjects.Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	if back.Message.Content.Context["idle_duration"] != 1800.0 || back.Target.Window != "2" {
		t.Fatalf("decoded %+v", back)
	}
}

func TestEnvelopeValidation(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mutate func(e *subjects.Envelope)
		want   string
	}{
		{"empty body", func(e *subjects.Envelope) { e.Message.Content.Body = " \n " }, "body is empty"},
		{"huge body", func(e *subjects.Envelope) { e.Message.Content.Body = strings.Repeat("x", subjects.MaxBodyBytes+1) }, "limit is 32768"},
		{"bad utf8", func(e *subjects.Envelope) { e.Message.Content.Body = "a\xffb" }, "not valid UTF-8"},
		{"no priority", func(e *subjects.Envelope) { e.Message.Priority = 0 }, "unknown priority"},
		{"no sender", func(e *subjects.Envelope) { e.Source.Identifier = "" }, "sender"},
		{"bad tag", func(e *subjects.Envelope) { e.Metadata.Tags = []string{"has space"} }, "invalid tag"},
		{"bad id", func(e *subjects.Envelope) { e.ID = "a.b" }, "invalid message id"},
		{"no time", func(e *subjects.Envelope) { e.Timestamp = time.Time{} }, "timestamp"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := validEnvelope()
			tc.mutate(e)
			_, err := e.Encode()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error mentioning %q", err, tc.want)
			}
		})
	}
	if _, err := subjects.Decode([]byte(`{"id":`)); err == nil {
		t.Fatal("truncated JSON accepted")
	}
}

func TestSubjectLine(t *testing.T) {
	if got := subjects.SubjectLine("\n  first line  \nsecond"); got != "first line" {
		t.Fatalf("got %q", got)
	}
	if got := subjects.SubjectLine(strings.Repeat("é", 100)); len([]rune(got)) != 80 {
		t.Fatalf("got %d runes", len([]rune(got)))
	}
}

func TestAckReference(t *testing.T) {
	for _, tc := range []struct {
		body, id, note string
		ok             bool
	}{
		{"PM ACK: 1m8f5mkjsd2tgd7t - investigated agent, all healthy", "1m8f5mkjsd2tgd7t", "investigated agent, all healthy", true},
		{"pm ack:abc-1", "abc-1", "", true},
		{"ACK: daemon-health-1234567890 restarted", "daemon-health-1234567890", "restarted", true},
		{"PM handled idle agent backend-dev:2 - restarted, now active", "", "", false},
		{"FEEDBACK: fine", "", "", false},
	} {
		id, note, ok := subjects.AckReference(tc.body)
		if id != tc.id || note != tc.note || ok != tc.ok {
			t.Errorf("AckReference(%q) = %q, %q, %v; want %q, %q, %v", tc.body, id, note, ok, tc.id, tc.note, tc.ok)
		}
	}
}

func TestCompileFilterSmartCase(t *testing.T) {
	for _, tc := range []struct {
		expr, text string
		want       bool
	}{
		{`HIGH PRIORITY\|CRITICAL`, "HIGH PRIORITY Agent idle", true},
		{`HIGH PRIORITY\|CRITICAL`, "CRITICAL PM crash", true},
		{`HIGH PRIORITY\|CRITICAL`, "critical in lower case", false},
		{`recovery`, "NORMAL Recovery: restarted agent", true},
		{`Recovery`, "NORMAL recovery: restarted agent", false},
		{`\Sest`, "a TEST here", true}, // an escape is not a capital: smart-case applies
		{`(?i)HIGH`, "high", true},
	} {
		re, err := subjects.CompileFilter(tc.expr)
		if err != nil {
			t.Fatal(err)
		}
		if got := re.MatchString(tc.text); got != tc.want {
			t.Errorf("%q on %q = %v, want %v", tc.expr, tc.text, got, tc.want)
		}
	}
	if _, err := subjects.CompileFilter("("); !errors.Is(err, subjects.ErrFilter) {
		t.Errorf("bad expression: %v", err)
	}
}

// TestSubjectAndMarshalTrustValidate: the envelope is checked once (Validate); the subject
// built after it is the one MessageSubject builds, a target still without a host is
// refused, and Marshal checks only the encoded size.
func TestSubjectAndMarshalTrustValidate(t *testing.T) {
	for _, target := range []string{"backend-dev:2", "h1.backend-dev:2", "my.project", "group:all"} {
		e := validEnvelope()
		var err error
		if g, ok := strings.CutPrefix(target, "group:"); ok {
			e.Target, err = subjects.GroupAddress(g, "")
		} else {
			e.Target, err = subjects.ParseTarget(target)
		}
		if err != nil {
			t.Fatal(err)
		}
		if e.Target.Host == "" && !e.Target.Everywhere() {
			if _, err := e.Subject(); !errors.Is(err, subjects.ErrNoHost) {
				t.Errorf("%s without a host: %v, want ErrNoHost", target, err)
			}
			e.Target.Host = "h2"
		}
		got, err := e.Subject()
		want, werr := subjects.MessageSubject(e.Message.Priority, e.Target, e.ID)
		if err != nil || werr != nil || got != want {
			t.Errorf("%s: Subject %q (%v), MessageSubject %q (%v)", target, got, err, want, werr)
		}
	}
	e := validEnvelope()
	e.Message.Content.Body = strings.Repeat("x", subjects.MaxEnvelopeBytes)
	if _, err := e.Marshal(); !errors.Is(err, subjects.ErrEnvelope) {
		t.Errorf("Marshal of an oversized envelope: %v, want ErrEnvelope", err)
	}
	if _, err := e.Encode(); !errors.Is(err, subjects.ErrEnvelope) {
		t.Errorf("Encode of an oversized envelope: %v, want ErrEnvelope", err)
	}
}
