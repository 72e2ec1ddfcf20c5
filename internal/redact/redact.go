// Package redact hides secrets in command lines before they are shown: environment
// assignments and flags whose names contain KEY, TOKEN, SECRET, PASSWORD (or PASSWD,
// CREDENTIAL), bearer tokens, and API keys of the common "sk-..." shape. Standard library
// only.
package redact

import "regexp"

// Mask replaces a secret value.
const Mask = "***"

const (
	secretName = `(?:KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL|AUTH)`
	value      = `(?:"[^"]*"|'[^']*'|[^\s"']+)`
)

var (
	// NAME=value where NAME contains a secret word (env assignments, `env A=b cmd`).
	assignment = regexp.MustCompile(`(?i)(\b[A-Za-z0-9_]*` + secretName + `[A-Za-z0-9_]*=)` + value)
	// --api-key value, --token=value, -password value.
	flag = regexp.MustCompile(`(?i)((?:^|\s)--?[A-Za-z0-9_-]*` + secretName + `[A-Za-z0-9_-]*)(=|\s+)` + value)
	// Authorization: Bearer value.
	bearer = regexp.MustCompile(`(?i)(\bbearer\s+)` + value)
	// sk-ant-..., sk-proj-..., sk-... API keys anywhere.
	skKey = regexp.MustCompile(`\bsk-[A-Za-z0-9_-]{8,}`)
)

// Command returns cmd with the values of secret assignments and flags replaced by Mask.
func Command(cmd string) string {
	cmd = assignment.ReplaceAllString(cmd, "${1}"+Mask)
	cmd = flag.ReplaceAllString(cmd, "${1}${2}"+Mask)
	cmd = bearer.ReplaceAllString(cmd, "${1}"+Mask)
	return skKey.ReplaceAllString(cmd, "sk-"+Mask)
}
