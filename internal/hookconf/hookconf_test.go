package hookconf

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestInstallReplacesAnOldPathAndKeepsSharedGroups: a tmux-orc hook from another path (an
// older install) is replaced, not doubled; a group that holds the user's hook beside ours
// keeps the user's; uninstalling leaves exactly the user's hooks.
func TestInstallReplacesAnOldPathAndKeepsSharedGroups(t *testing.T) {
	path := filepath.Join(t.TempDir(), "settings.json")
	orig := `{"hooks":{"Stop":[{"hooks":[{"type":"command","command":"/old/bin/tmux-orc hook claude-code"},{"type":"command","command":"notify-send done"}]}],` +
		`"PreToolUse":[{"matcher":"Bash","hooks":[{"type":"command","command":"guard"}]}]},"theme":"dark"}`
	if err := os.WriteFile(path, []byte(orig), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := Command("/opt/my tools/tmux-orc")
	if cmd != `'/opt/my tools/tmux-orc' hook claude-code` {
		t.Fatalf("command %q", cmd)
	}
	res, err := Install(path, cmd)
	if err != nil || !res.Changed || res.Backup == "" {
		t.Fatalf("install: %+v %v", res, err)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o644 {
		t.Errorf("mode %v, want the file's own 0644", fi.Mode().Perm())
	}
	data, _ := os.ReadFile(path)
	text := string(data)
	if strings.Contains(text, "/old/bin") || strings.Count(text, cmd[:10]) != len(ClaudeEvents) ||
		!strings.Contains(text, "notify-send done") || !strings.Contains(text, `"guard"`) || !strings.Contains(text, `"theme": "dark"`) {
		t.Fatalf("after install:\n%s", text)
	}
	if strings.Index(text, `"Stop"`) > strings.Index(text, `"PreToolUse"`) || strings.Index(text, `"hooks"`) > strings.Index(text, `"theme"`) {
		t.Fatalf("keys reordered:\n%s", text)
	}
	if res, err := Install(path, cmd); err != nil || res.Changed {
		t.Fatalf("second install: %+v %v", res, err)
	}
	if _, err := Uninstall(path); err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	data, _ = os.ReadFile(path)
	if err := json.Unmarshal(data, &got); err != nil {
		t.Fatal(err)
	}
	want := `{"hooks":{"PreToolUse":[{"hooks":[{"command":"guard","type":"command"}],"matcher":"Bash"}],"Stop":[{"hooks":[{"command":"notify-send done","type":"command"}]}]},"theme":"dark"}`
	if b, _ := json.Marshal(got); string(b) != want {
		t.Fatalf("after uninstall:\n%s\nwant\n%s", b, want)
	}
}

func TestInvalidSettingsAreRefusedUntouched(t *testing.T) {
	for name, text := range map[string]string{"truncated": `{"a":`, "array": `[1]`, "two objects": `{} {}`, "hooks not an object": `{"hooks":[1]}`} {
		path := filepath.Join(t.TempDir(), "settings.json")
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := Install(path, "tmux-orc hook claude-code"); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", name, err)
		}
		if b, _ := os.ReadFile(path); string(b) != text {
			t.Errorf("%s: file changed to %s", name, b)
		}
		if m, _ := filepath.Glob(path + ".*"); len(m) != 0 {
			t.Errorf("%s: files written: %v", name, m)
		}
	}
}

func TestIsOurs(t *testing.T) {
	for cmd, want := range map[string]bool{
		"tmux-orc hook claude-code": true, "/usr/local/bin/tmux-orc hook claude-code": true,
		"'/opt/my tools/tmux-orc' hook claude-code": true, "tmux-orc hook codex": false, "my-tmux-orc hook claude-code": false,
		"echo tmux-orc hook claude-code": false,
	} {
		if got := isOurs(cmd); got != want {
			t.Errorf("isOurs(%q) = %v", cmd, got)
		}
	}
}
