package home

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"
)

// ErrNoCredentials is returned when the credentials file does not exist yet.
var ErrNoCredentials = errors.New("no credentials: start the daemon once (tmux-orc daemon start) to generate them")

// CheckCredentials returns the path of the user's NKey seed, or ErrNoCredentials.
func (d Dir) CheckCredentials() (string, error) {
	path := d.CredentialsFile()
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("%w (looked for %s)", ErrNoCredentials, path)
	} else if err != nil {
		return "", fmt.Errorf("reading credentials: %w", err)
	}
	return path, nil
}

// ConnInfo is what the running daemon tells clients about itself.
type ConnInfo struct {
	// URLs are the client URLs the daemon listens on.
	URLs      []string  `json:"urls"`
	PID       int       `json:"pid"`
	Started   time.Time `json:"started"`
	Version   string    `json:"version"`
	Server    string    `json:"server_name"`
	StoreSync string    `json:"store_sync"`
	// MetricsURL is where the daemon serves /metrics and /healthz ("" when off).
	MetricsURL string `json:"metrics_url,omitempty"`
}

// WriteConnInfo publishes the running daemon's connection details.
func (d Dir) WriteConnInfo(ci ConnInfo) error {
	b, _ := json.MarshalIndent(ci, "", "  ")
	return WriteFileAtomic(d.ConnFile(), append(b, '\n'), 0o600)
}

// ReadConnInfo reads what the last daemon wrote.
func (d Dir) ReadConnInfo() (ConnInfo, error) {
	var ci ConnInfo
	b, err := os.ReadFile(d.ConnFile())
	if err != nil {
		return ci, err
	}
	if err := json.Unmarshal(b, &ci); err != nil {
		return ci, fmt.Errorf("connection file %s is malformed: %w", d.ConnFile(), err)
	}
	return ci, nil
}
