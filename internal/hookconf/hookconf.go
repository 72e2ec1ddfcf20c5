// Package hookconf installs and removes tmux-orc's hooks in a Claude Code settings.json
// (the user's ~/.claude/settings.json or a project's .claude/settings.json): it merges them
// into the "hooks" section, keeps every other setting and every other hook in their order,
// is idempotent, and backs the file up before it changes it.
package hookconf

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/tmux-orc/tmux-orc/internal/home"
)

// ClaudeEvents are the Claude Code hook events tmux-orc reports, in the order they are
// written. Tool events get the matcher "*".
var ClaudeEvents = []string{"SessionStart", "UserPromptSubmit", "PreToolUse", "PostToolUse", "Notification",
	"Stop", "StopFailure", "SessionEnd"}

// ErrInvalid means the settings file is not a JSON object; nothing was written.
var ErrInvalid = errors.New("not a JSON object")

// Command is the hook command for the tmux-orc binary at exe: its absolute path, quoted
// for the shell when it must be, then "hook claude-code".
func Command(exe string) string { return shellQuote(exe) + " hook claude-code" }

// Executable is the absolute path of the running binary, symbolic links resolved.
func Executable() (string, error) {
	exe, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("finding the tmux-orc binary: %w", err)
	}
	if r, err := filepath.EvalSymlinks(exe); err == nil {
		exe = r
	}
	return filepath.Abs(exe)
}

func shellQuote(s string) string {
	safe := s != ""
	for _, c := range s {
		if !(c == '/' || c == '.' || c == '-' || c == '_' || c == '+' || c == ':' || c == '@' ||
			('0' <= c && c <= '9') || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z')) {
			safe = false
		}
	}
	if safe {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// group is one matcher group of a hook event.
type group struct {
	Matcher string `json:"matcher,omitempty"`
	Hooks   []hook `json:"hooks"`
}

type hook struct {
	Type    string `json:"type"`
	Command string `json:"command"`
}

func ourGroup(event, command string) group {
	g := group{Hooks: []hook{{Type: "command", Command: command}}}
	if event == "PreToolUse" || event == "PostToolUse" {
		g.Matcher = "*"
	}
	return g
}

// Config is the hooks section for Claude Code's settings.json with command.
func Config(command string) string {
	var b strings.Builder
	b.WriteString("{\n  \"hooks\": {\n")
	for i, ev := range ClaudeEvents {
		g, _ := json.Marshal([]group{ourGroup(ev, command)})
		sep := ","
		if i == len(ClaudeEvents)-1 {
			sep = ""
		}
		fmt.Fprintf(&b, "    %q: %s%s\n", ev, strings.ReplaceAll(strings.ReplaceAll(string(g), `":`, `": `), `,"`, `, "`), sep)
	}
	b.WriteString("  }\n}")
	return b.String()
}

// isOurs reports whether a hook command runs tmux-orc's hook claude-code, at any path.
func isOurs(command string) bool {
	f := strings.Fields(command)
	if len(f) < 3 || f[len(f)-2] != "hook" || f[len(f)-1] != "claude-code" {
		return false
	}
	exe := strings.Trim(strings.Join(f[:len(f)-2], " "), `'"`)
	return filepath.Base(exe) == "tmux-orc"
}

// Result says what Install or Uninstall did.
type Result struct {
	// Changed is false when the file already was as asked (nothing written).
	Changed bool
	// Backup is the copy of the file before the change, "" when there was none to copy.
	Backup string
}

// Install merges tmux-orc's hooks (command) into the settings file at path, creating it
// (and its directory) when missing.
func Install(path, command string) (Result, error) {
	return edit(path, func(hooks *object) {
		for _, ev := range ClaudeEvents {
			groups := withoutOurs(hooks.get(ev))
			g, _ := json.Marshal(ourGroup(ev, command))
			hooks.set(ev, marshalArray(append(groups, g)))
		}
	})
}

// Uninstall removes tmux-orc's hooks from the settings file at path; events left without a
// hook are removed, and the hooks section when it is left empty.
func Uninstall(path string) (Result, error) {
	return edit(path, func(hooks *object) {
		for _, k := range append([]string(nil), hooks.keys...) {
			raw := hooks.get(k)
			if raw == nil {
				continue
			}
			groups := withoutOurs(raw)
			var before []json.RawMessage
			_ = json.Unmarshal(raw, &before)
			switch {
			case len(groups) == len(before):
			case len(groups) == 0:
				hooks.del(k)
			default:
				hooks.set(k, marshalArray(groups))
			}
		}
	})
}

// withoutOurs returns the groups of an event's array, without tmux-orc's hooks (a group
// holding only those is dropped).
func withoutOurs(raw json.RawMessage) []json.RawMessage {
	var groups []json.RawMessage
	if raw == nil || json.Unmarshal(raw, &groups) != nil {
		return nil
	}
	var out []json.RawMessage
	for _, g := range groups {
		var obj object
		var hs []json.RawMessage
		if obj.parse(g) != nil || json.Unmarshal(obj.get("hooks"), &hs) != nil {
			out = append(out, g)
			continue
		}
		var kept []json.RawMessage
		for _, h := range hs {
			var hk hook
			if json.Unmarshal(h, &hk) == nil && isOurs(hk.Command) {
				continue
			}
			kept = append(kept, h)
		}
		switch {
		case len(kept) == len(hs):
			out = append(out, g)
		case len(kept) > 0:
			obj.set("hooks", marshalArray(kept))
			out = append(out, obj.marshal())
		}
	}
	return out
}

func marshalArray(items []json.RawMessage) json.RawMessage {
	var b bytes.Buffer
	b.WriteByte('[')
	for i, it := range items {
		if i > 0 {
			b.WriteByte(',')
		}
		b.Write(it)
	}
	b.WriteByte(']')
	return b.Bytes()
}

// edit reads the settings at path, changes its hooks section with change, and writes it
// back (after a backup) when the result differs.
func edit(path string, change func(hooks *object)) (Result, error) {
	data, err := os.ReadFile(path)
	mode := fs.FileMode(0o600)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		data = nil
	case err != nil:
		return Result{}, fmt.Errorf("reading %s: %w", path, err)
	default:
		if fi, err := os.Stat(path); err == nil {
			mode = fi.Mode().Perm()
		}
	}
	var root object
	if len(bytes.TrimSpace(data)) > 0 {
		if err := root.parse(data); err != nil {
			return Result{}, fmt.Errorf("reading %s: %w", path, err)
		}
	}
	var hooks object
	if raw := root.get("hooks"); raw != nil {
		if err := hooks.parse(raw); err != nil {
			return Result{}, fmt.Errorf("reading %s: its \"hooks\" is %w", path, err)
		}
	}
	had := root.get("hooks") != nil
	change(&hooks)
	if len(hooks.keys) == 0 && had {
		root.del("hooks")
	} else if len(hooks.keys) > 0 {
		root.set("hooks", hooks.marshal())
	}
	var out bytes.Buffer
	if err := json.Indent(&out, root.marshal(), "", "  "); err != nil {
		return Result{}, fmt.Errorf("writing %s: %w", path, err)
	}
	out.WriteByte('\n')
	if data != nil && sameJSON(data, out.Bytes()) {
		return Result{}, nil
	}
	if data == nil && len(root.keys) == 0 {
		return Result{}, nil // nothing to uninstall from a missing file
	}
	var res Result
	if data != nil {
		res.Backup = fmt.Sprintf("%s.tmux-orc-backup-%s", path, time.Now().UTC().Format("20060102T150405.000Z"))
		if err := os.WriteFile(res.Backup, data, mode); err != nil {
			return Result{}, fmt.Errorf("backing up %s: %w", path, err)
		}
	} else if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return Result{}, fmt.Errorf("creating %s: %w", filepath.Dir(path), err)
	}
	if err := home.WriteFileAtomic(path, out.Bytes(), mode); err != nil {
		return Result{}, err
	}
	res.Changed = true
	return res, nil
}

// sameJSON reports whether a and b are the same JSON text, ignoring only insignificant
// whitespace (key order counts: a reordering is a change).
func sameJSON(a, b []byte) bool {
	var x, y bytes.Buffer
	if json.Compact(&x, a) != nil || json.Compact(&y, b) != nil {
		return false
	}
	return bytes.Equal(x.Bytes(), y.Bytes())
}

// CodexEvents are the Codex hook events (hooks.json, behind [features] codex_hooks = true)
// tmux-orc reports.
var CodexEvents = []string{"SessionStart", "UserPromptSubmit", "PreToolUse", "PostToolUse", "Stop"}

// CodexCommand is the Codex hook command for the tmux-orc binary at exe.
func CodexCommand(exe string) string { return shellQuote(exe) + " hook codex" }

// CodexConfig is a hooks.json for Codex with command.
func CodexConfig(command string) string {
	hooks := object{}
	for _, ev := range CodexEvents {
		g := group{Hooks: []hook{{Type: "command", Command: command}}}
		if ev == "PreToolUse" || ev == "PostToolUse" {
			g.Matcher = "Bash"
		}
		b, _ := json.Marshal([]group{g})
		hooks.set(ev, b)
	}
	root := object{}
	root.set("hooks", hooks.marshal())
	var out bytes.Buffer
	_ = json.Indent(&out, root.marshal(), "", "  ")
	return out.String()
}
