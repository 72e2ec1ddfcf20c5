// Package home knows the layout of a tmux-orc data directory ($TMUX_ORC_HOME, by default
// ~/.tmux-orchestrator): where the store, logs, lock, credentials and connection file live,
// and how they are written. It is shared by the daemon and every client and uses the
// standard library only.
package home

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// EnvHome names the environment variable that overrides the data directory.
const EnvHome = "TMUX_ORC_HOME"

// ErrNoHome is returned when no data directory can be determined.
var ErrNoHome = errors.New("no data directory: set TMUX_ORC_HOME or HOME")

// Dir is a tmux-orc data directory.
type Dir string

// Resolve returns $TMUX_ORC_HOME, or ~/.tmux-orchestrator, as an absolute path.
func Resolve() (Dir, error) {
	if d := os.Getenv(EnvHome); d != "" {
		abs, err := filepath.Abs(d)
		if err != nil {
			return "", fmt.Errorf("resolving %s: %w", EnvHome, err)
		}
		return Dir(abs), nil
	}
	h, err := os.UserHomeDir()
	if err != nil || h == "" {
		return "", ErrNoHome
	}
	return Dir(filepath.Join(h, ".tmux-orchestrator")), nil
}

func (d Dir) path(elem ...string) string {
	return filepath.Join(append([]string{string(d)}, elem...)...)
}

// StoreDir holds the JetStream file store.
func (d Dir) StoreDir() string { return d.path("store") }

// LogDir holds daemon.log and its rotated predecessors.
func (d Dir) LogDir() string { return d.path("logs") }

// LogFile is the daemon's log.
func (d Dir) LogFile() string { return d.path("logs", "daemon.log") }

// LockFile is held (flock) by the running daemon for its whole life.
func (d Dir) LockFile() string { return d.path("daemon.lock") }

// PIDFile records the running daemon's pid; only meaningful while LockFile is held.
func (d Dir) PIDFile() string { return d.path("daemon.pid") }

// ConfigFile is the optional YAML configuration.
func (d Dir) ConfigFile() string { return d.path("config.yaml") }

// CredentialsFile holds the generated user NKey seed (mode 0600). The server knows only the
// public key; clients sign the server's challenge with the seed.
func (d Dir) CredentialsFile() string { return d.path("auth", "orc-user.nk") }

// ConnFile tells clients where the running daemon listens.
func (d Dir) ConnFile() string { return d.path("run", "conn.json") }

// SpoolDir holds messages accepted while the daemon was unreachable.
func (d Dir) SpoolDir() string { return d.path("spool") }

// Ensure creates the directory tree, readable by the owner only.
func (d Dir) Ensure() error {
	for _, p := range []string{string(d), d.StoreDir(), d.LogDir(), d.path("auth"), d.path("run")} {
		if err := os.MkdirAll(p, 0o700); err != nil {
			return fmt.Errorf("creating %s: %w", p, err)
		}
	}
	return nil
}

// WriteFileAtomic writes data to a temporary file in the same directory, syncs it and renames
// it over path, so readers see the old or the new content and never a torn one.
func WriteFileAtomic(path string, data []byte, perm os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(perm); err != nil {
		tmp.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}
