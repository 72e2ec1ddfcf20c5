//go:build linux || darwin

package agentsim

import (
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"
)

const (
	enableBracketedPaste  = "\x1b[?2004h"
	disableBracketedPaste = "\x1b[?2004l"
)

// session is the running agent: the machine plus its outputs.
type session struct {
	m      *Machine
	logs   *jsonLines
	raw    *jsonLines
	stdout io.Writer
	fd     int // the terminal, for its size
}

// run sets up the terminal and logs and runs the event loop.
func run(o options, stdin *os.File, stdout io.Writer) (code int, err error) {
	logs, err := openJSONLines(o.logPath)
	if err != nil {
		return ExitError, fmt.Errorf("open log: %w", err)
	}
	defer logs.close()
	raw, err := openJSONLines(o.rawPath)
	if err != nil {
		return ExitError, fmt.Errorf("open raw log: %w", err)
	}
	defer raw.close()

	// Input typed during the delay stays in the cooked tty (echoed, CR
	// turned into LF) and is read once raw mode is on, as with a slow agent.
	time.Sleep(o.startDelay)
	fd := int(stdin.Fd())
	restore, err := makeRaw(fd)
	if err != nil && !errors.Is(err, errNotTTY) {
		return ExitError, err
	}
	defer func() {
		if rerr := restore(); rerr != nil && err == nil {
			code, err = ExitError, rerr
		}
	}()
	if o.bracketed {
		if _, err := io.WriteString(stdout, enableBracketedPaste); err != nil {
			return ExitError, fmt.Errorf("write screen: %w", err)
		}
		defer io.WriteString(stdout, disableBracketedPaste+"\r\n")
	}

	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGTERM,
		syscall.SIGHUP, syscall.SIGINT, syscall.SIGWINCH)
	defer signal.Stop(sigs)

	done := make(chan struct{})
	defer close(done)
	chunks := make(chan chunk, 64)
	go readInput(fd, done, chunks)

	now := time.Now()
	if w := termWidth(fd); w > 0 {
		o.cfg.Width = w
	}
	s := &session{m: NewMachine(o.cfg, now), logs: logs, raw: raw, stdout: stdout, fd: fd}
	if err := logs.write(Event{Kind: EventReady, Time: now, PID: os.Getpid()}); err != nil {
		return ExitError, err
	}
	if _, err := stdout.Write(s.m.Render()); err != nil {
		return ExitError, fmt.Errorf("write screen: %w", err)
	}
	return s.loop(chunks, sigs)
}

// loop feeds input, signals and timer ticks to the machine until it exits.
func (s *session) loop(chunks <-chan chunk, sigs <-chan os.Signal) (int, error) {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		if dl, ok := s.m.Deadline(); ok {
			timer.Reset(time.Until(dl))
		} else {
			timer.Stop()
		}
		var out Output
		select {
		case c := <-chunks:
			if c.err != nil {
				return s.stop(time.Now(), ExitOK, c.err)
			}
			if err := s.raw.write(RawRead{T: c.at.UnixNano(), Hex: hex.EncodeToString(c.data)}); err != nil {
				return s.stop(time.Now(), ExitError, err)
			}
			out = s.m.Feed(c.at, c.data)
		case sig := <-sigs:
			out = s.signal(sig)
		case now := <-timer.C:
			if len(chunks) > 0 {
				continue // feed input first so that time never runs backwards
			}
			out = s.m.Tick(now)
		}
		if err := s.emit(out); err != nil {
			return s.stop(time.Now(), ExitError, err)
		}
		if out.Exit {
			return s.stop(time.Now(), out.Code, nil)
		}
	}
}

// signal handles one signal as a machine output.
func (s *session) signal(sig os.Signal) Output {
	now := time.Now()
	switch sig {
	case syscall.SIGUSR1:
		return s.m.SetModal(now, !s.m.Modal())
	case syscall.SIGWINCH:
		if out := s.m.SetWidth(now, termWidth(s.fd)); out.Screen != nil {
			return out
		}
		return Output{Screen: s.m.Render()}
	case syscall.SIGUSR2:
		o := Output{Exit: true, Code: ExitCrash}
		o.addEvent(Event{Kind: EventCrash, Time: now})
		return o
	default:
		o := Output{Exit: true, Code: ExitOK}
		o.addEvent(Event{Kind: EventSignal, Time: now, Text: sig.String()})
		return o
	}
}

// emit logs the records of out and draws its screen.
func (s *session) emit(out Output) error {
	for _, r := range out.Records() {
		if err := s.logs.write(r); err != nil {
			return err
		}
	}
	if out.Screen != nil {
		if _, err := s.stdout.Write(out.Screen); err != nil {
			return fmt.Errorf("write screen: %w", err)
		}
	}
	return nil
}

// stop logs the exit event and returns code, passing on err unless it is
// the normal end of input.
func (s *session) stop(now time.Time, code int, err error) (int, error) {
	if errors.Is(err, io.EOF) {
		err = nil
	} else if err != nil {
		code = ExitError
	}
	if lerr := s.logs.write(Event{Kind: EventExit, Time: now, Code: code}); lerr != nil && err == nil {
		err = lerr
	}
	return code, err
}
