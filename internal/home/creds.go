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
	// Host is the daemon's host name in host-qualified targets.
	Host string `json:"host,omitempty"`
	// TLS says how local clients connect when the daemon requires TLS: the CA that signed
	// the server's certificate and, when clients must present one, a client certificate.
	TLS ClientTLS `json:"tls,omitempty"`
	// Creds is the NKey seed local clients use instead of the data directory's own.
	Creds string `json:"creds,omitempty"`
}

// ClientTLS names a client's TLS files.
type ClientTLS struct {
	CA   string `json:"ca,omitempty"`
	Cert string `json:"cert,omitempty"`
	Key  string `json:"key,omitempty"`
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
