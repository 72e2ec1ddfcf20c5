//go:build linux || darwin

package agentsim

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"
)

// errNotTTY reports that stdin is not a terminal; the agent then runs
// without raw mode (useful with a pipe).
var errNotTTY = errors.New("stdin is not a terminal")

// makeRaw puts the terminal on fd in raw mode like cfmakeraw(3): no echo,
// no line editing, no signals from ^C, no CR/LF translation. The returned
// function restores the previous settings.
func makeRaw(fd int) (restore func() error, err error) {
	old, err := unix.IoctlGetTermios(fd, ioctlGetTermios)
	if errors.Is(err, unix.ENOTTY) || errors.Is(err, unix.EINVAL) {
		return func() error { return nil }, errNotTTY
	}
	if err != nil {
		return nil, fmt.Errorf("get termios: %w", err)
	}
	raw := *old
	raw.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON
	raw.Oflag &^= unix.OPOST
	raw.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
	raw.Cflag &^= unix.CSIZE | unix.PARENB
	raw.Cflag |= unix.CS8
	raw.Cc[unix.VMIN] = 1
	raw.Cc[unix.VTIME] = 0
	if err := unix.IoctlSetTermios(fd, ioctlSetTermios, &raw); err != nil {
		return nil, fmt.Errorf("set raw mode: %w", err)
	}
	return func() error {
		if err := unix.IoctlSetTermios(fd, ioctlSetTermios, old); err != nil {
			return fmt.Errorf("restore termios: %w", err)
		}
		return nil
	}, nil
}

// termWidth returns the width of the terminal on fd, or 0 when unknown.
func termWidth(fd int) int {
	ws, err := unix.IoctlGetWinsize(fd, unix.TIOCGWINSZ)
	if err != nil {
		return 0
	}
	return int(ws.Col)
}
