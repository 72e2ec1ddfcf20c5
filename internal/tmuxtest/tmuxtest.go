// Package tmuxtest holds what the tests of several packages need to drive agents in real tmux:
// the agent simulator built once, private tmux servers on their own sockets (never the user's
// default server), and polling instead of sleeps. It is imported by tests only.
package tmuxtest

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tmux-orc/tmux-orc/tmux"
)

// Build builds the package pkg (an import path) into a temporary directory as name and
// returns its path and a function that removes it. For TestMain.
func Build(pkg, name string) (path string, cleanup func(), err error) {
	dir, err := os.MkdirTemp("", name+"-bin-")
	if err != nil {
		return "", nil, err
	}
	path = filepath.Join(dir, name)
	out, err := exec.Command("go", "build", "-o", path, pkg).CombinedOutput()
	if err != nil {
		os.RemoveAll(dir)
		return "", nil, fmt.Errorf("building %s: %v\n%s", name, err, out)
	}
	return path, func() { os.RemoveAll(dir) }, nil
}

// BuildAgentsim builds the agent simulator (see Build).
func BuildAgentsim() (path string, cleanup func(), err error) {
	return Build("github.com/tmux-orc/tmux-orc/internal/agentsim/testdata/agentsimmain", "agentsim")
}

// MainWithAgentsim is a TestMain body: it builds the simulator, stores its path in *sim and
// runs the tests.
func MainWithAgentsim(m *testing.M, sim *string) {
	path, cleanup, err := BuildAgentsim()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	*sim = path
	code := m.Run()
	cleanup()
	os.Exit(code)
}

// Server is a private tmux server, stopped (and its socket removed) when the test ends.
type Server struct {
	t      testing.TB
	Socket tmux.Socket
}

// NewServer names a server on a fresh "-L prefix-<random>" socket; tmux starts it with the
// first session the test creates.
func NewServer(t testing.TB, prefix string) *Server {
	var rnd [6]byte
	_, _ = rand.Read(rnd[:])
	s := &Server{t: t, Socket: tmux.Socket{Name: prefix + "-" + hex.EncodeToString(rnd[:])}}
	t.Cleanup(func() { tmux.KillServer(s.Socket) })
	return s
}

// Tmux runs one tmux command on the server and fails the test on error.
func (s *Server) Tmux(args ...string) string {
	s.t.Helper()
	out, err := exec.Command("tmux", s.Socket.Args(args...)...).CombinedOutput()
	if err != nil {
		s.t.Fatalf("tmux %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// HasSession reports whether the server has a session of exactly that name.
func (s *Server) HasSession(name string) bool {
	return exec.Command("tmux", s.Socket.Args("has-session", "-t", "="+name)...).Run() == nil
}

// WaitFor polls cond every 10 ms until it holds, failing the test after 20 s.
func WaitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
