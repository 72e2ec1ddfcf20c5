package home

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// ErrLocked is returned when another daemon holds the data directory.
var ErrLocked = errors.New("another tmux-orc daemon is running on this data directory")

// Lock is an exclusive flock on a data directory. The kernel drops it when the process
// dies, so a daemon killed with SIGKILL never blocks the next start.
type Lock struct{ f *os.File }

// Acquire takes the daemon lock without waiting and records the pid.
func (d Dir) Acquire() (*Lock, error) {
	f, err := os.OpenFile(d.LockFile(), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("opening lock: %w", err)
	}
	// Running (another command checking for a daemon) holds the lock for an instant; a
	// daemon starting in that instant retries instead of reporting another daemon.
	var err2 error
	for i := 0; i < 10; i++ {
		if err2 = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); !errors.Is(err2, syscall.EWOULDBLOCK) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := err2; err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			if pid, perr := d.PID(); perr == nil {
				return nil, fmt.Errorf("%w (pid %d)", ErrLocked, pid)
			}
			return nil, ErrLocked
		}
		return nil, fmt.Errorf("locking %s: %w", d.LockFile(), err)
	}
	if err := WriteFileAtomic(d.PIDFile(), []byte(strconv.Itoa(os.Getpid())+"\n"), 0o600); err != nil {
		f.Close()
		return nil, err
	}
	return &Lock{f: f}, nil
}

// Release removes the pid file and drops the lock.
func (l *Lock) Release(d Dir) {
	if l == nil || l.f == nil {
		return
	}
	os.Remove(d.PIDFile())
	l.f.Close()
	l.f = nil
}

// Running reports whether a daemon holds the lock, and its pid when known. It never
// trusts the pid file alone: a pid file left by a killed daemon reads as not running.
func (d Dir) Running() (bool, int) {
	f, err := os.OpenFile(d.LockFile(), os.O_RDWR, 0)
	if err != nil {
		return false, 0
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err == nil {
		syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		return false, 0
	}
	pid, _ := d.PID()
	return true, pid
}

// PID reads the pid file.
func (d Dir) PID() (int, error) {
	b, err := os.ReadFile(d.PIDFile())
	if err != nil {
		return 0, err
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return 0, fmt.Errorf("malformed pid file %s", d.PIDFile())
	}
	return pid, nil
}
