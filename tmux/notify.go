package tmux

import (
	"strings"
)

// Notification is one asynchronous line from tmux in control mode, such as
// "%output %3 hello", "%window-add @2" or "%exit".
type Notification struct {
	// Kind is the notification name without the '%': "output",
	// "extended-output", "window-add", "window-close",
	// "unlinked-window-close", "sessions-changed", "session-changed",
	// "subscription-changed", "pane-mode-changed", "exit" and so on.
	// tmux 3.3a reports a window killed in the attached session as
	// "unlinked-window-close", so watch for both close kinds.
	Kind string
	// Args are the words after the name. Where the last word is a free-form
	// name (session-changed, session-renamed, window-renamed,
	// client-session-changed, exit, ...) it is one Arg, spaces and all. For
	// output the data is not an Arg; for extended-output and
	// subscription-changed the Args stop before " : ".
	Args []string
	// PaneID is the pane (%N) the notification is about, for output,
	// extended-output, pane-mode-changed, window-pane-changed and
	// subscription-changed on a pane; "" otherwise.
	PaneID string
	// Data is the decoded pane output of output and extended-output (tmux's
	// \ooo escapes undone, raw bytes otherwise), or the value of
	// subscription-changed.
	Data []byte
	// Line is the raw notification line.
	Line string
}

// fixedArgs reports, for notifications that end in a free-form name, how
// many words come before that name.
func fixedArgs(kind string) (int, bool) {
	switch kind {
	case "session-changed", "session-renamed", "window-renamed":
		return 1, true
	case "client-session-changed":
		return 2, true
	case "client-detached", "exit", "message", "config-error",
		"paste-buffer-changed", "paste-buffer-deleted":
		return 0, true
	}
	return 0, false
}

// parseNotification parses one control-mode line outside a reply block.
func parseNotification(line []byte) Notification {
	n := Notification{Line: string(line)}
	s := n.Line
	if !strings.HasPrefix(s, "%") {
		n.Kind = ""
		n.Args = []string{s}
		return n
	}
	name, rest, _ := strings.Cut(s[1:], " ")
	n.Kind = name
	switch name {
	case "output":
		pane, data, _ := strings.Cut(rest, " ")
		n.PaneID = pane
		n.Args = []string{pane}
		n.Data = decodeOctal(data)
		return n
	case "extended-output":
		head, data, _ := strings.Cut(rest, " : ")
		n.Args = strings.Fields(head)
		if len(n.Args) > 0 {
			n.PaneID = n.Args[0]
		}
		n.Data = decodeOctal(data)
		return n
	case "subscription-changed":
		head, value, _ := strings.Cut(rest, " : ")
		n.Args = strings.Fields(head)
		if len(n.Args) >= 5 && strings.HasPrefix(n.Args[4], "%") {
			n.PaneID = n.Args[4]
		}
		n.Data = []byte(value)
		return n
	}
	if rest == "" {
		return n
	}
	if k, ok := fixedArgs(name); ok {
		n.Args = strings.SplitN(rest, " ", k+1)
	} else {
		n.Args = strings.Fields(rest)
	}
	switch name {
	case "pane-mode-changed":
		n.PaneID = n.Args[0]
	case "window-pane-changed":
		if len(n.Args) > 1 {
			n.PaneID = n.Args[1]
		}
	}
	return n
}

// decodeOctal undoes tmux's escaping of pane output in control mode, where
// bytes below 0x20 and the backslash are written as \ooo. Other bytes,
// non-ASCII included, are raw.
func decodeOctal(s string) []byte {
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '\\' && i+3 < len(s) && isOctal(s[i+1]) && isOctal(s[i+2]) && isOctal(s[i+3]) {
			out = append(out, (s[i+1]-'0')<<6|(s[i+2]-'0')<<3|(s[i+3]-'0'))
			i += 3
			continue
		}
		out = append(out, c)
	}
	return out
}

func isOctal(b byte) bool { return b >= '0' && b <= '7' }
