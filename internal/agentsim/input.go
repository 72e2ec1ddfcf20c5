//go:build linux || darwin

package agentsim

import (
	"errors"
	"fmt"
	"io"
	"time"

	"golang.org/x/sys/unix"
)

// chunk is the result of one read(): the bytes and the moment read returned,
// or the error that ended input.
type chunk struct {
	at   time.Time
	data []byte
	err  error
}

// readInput reads fd until EOF, an error or done, sending every read as one
// chunk stamped right after read() returns. It polls so that it notices done
// without a byte arriving, and closes out when it stops.
func readInput(fd int, done <-chan struct{}, out chan<- chunk) {
	defer close(out)
	send := func(c chunk) bool {
		select {
		case out <- c:
			return true
		case <-done:
			return false
		}
	}
	buf := make([]byte, 64*1024)
	for {
		select {
		case <-done:
			return
		default:
		}
		fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		n, err := unix.Poll(fds, 100)
		if errors.Is(err, unix.EINTR) || (err == nil && n == 0) {
			continue
		}
		if err != nil {
			send(chunk{err: fmt.Errorf("poll stdin: %w", err)})
			return
		}
		r, err := unix.Read(fd, buf)
		now := time.Now()
		switch {
		case errors.Is(err, unix.EINTR) || errors.Is(err, unix.EAGAIN):
			continue
		case errors.Is(err, unix.EIO) || (err == nil && r == 0):
			// EIO is a hung-up terminal: the pane went away.
			send(chunk{at: now, err: io.EOF})
			return
		case err != nil:
			send(chunk{at: now, err: fmt.Errorf("read stdin: %w", err)})
			return
		}
		if !send(chunk{at: now, data: append([]byte(nil), buf[:r]...)}) {
			return
		}
	}
}
