package subjects

import (
	"regexp"
	"strings"
)

// ackRefRE finds the guide's acknowledgement form, "PM ACK: <id> - <note>" (the "PM" and
// the case of "ACK" are optional).
var ackRefRE = regexp.MustCompile(`(?i)(?:^|[^A-Za-z0-9])ACK:\s*([A-Za-z0-9][A-Za-z0-9_-]{0,127})`)

// AckReference finds the id a message acknowledges in the guide's form
// "PM ACK: <id> - <note>" and returns it with the note (the text after the id, without a
// leading dash). ok is false when the body names no id that way.
func AckReference(body string) (id, note string, ok bool) {
	m := ackRefRE.FindStringSubmatchIndex(body)
	if m == nil {
		return "", "", false
	}
	id = body[m[2]:m[3]]
	note = strings.TrimSpace(body[m[3]:])
	note = strings.TrimSpace(strings.TrimLeft(note, "-–—:"))
	return id, note, true
}
