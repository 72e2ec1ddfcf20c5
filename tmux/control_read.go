package tmux

import (
	"bufio"
	"bytes"
	"fmt"
	"strings"

	"go.uber.org/zap"
)

// block is a reply block being read: the lines between %begin and the
// matching %end or %error.
type block struct {
	key   string // "TIME NUMBER FLAGS" from the %begin line
	flags string
	lines []string
}

// readLoop reads tmux's output until it ends. It reports the outcome of the
// attach handshake (the first block, with flags 0) on hs, then matches
// reply blocks to pending requests and hands notifications out.
func (c *Control) readLoop(r *bufio.Reader, hs chan<- error) {
	handshake := true
	var (
		blk     *block
		exitMsg string
		sawExit bool
		readErr error
	)
	for {
		line, err := readLine(r)
		if err != nil {
			readErr = err
			break
		}
		if blk != nil {
			if rest, ok := cutEnd(line); ok && rest == blk.key {
				isErr := line[1] == 'e' && line[2] == 'r' // %error
				if handshake {
					handshake = false
					if isErr {
						hs <- newCommandError("attach-session", strings.Join(blk.lines, "\n"))
					} else {
						hs <- nil
					}
				} else {
					c.finishBlock(blk, isErr)
				}
				blk = nil
				continue
			}
			blk.lines = append(blk.lines, string(line))
			continue
		}
		if key, ok := bytes.CutPrefix(line, []byte("%begin ")); ok {
			blk = &block{key: string(key)}
			if i := strings.LastIndexByte(blk.key, ' '); i >= 0 {
				blk.flags = blk.key[i+1:]
			}
			continue
		}
		n := parseNotification(line)
		if n.Kind == "exit" {
			sawExit = true
			if len(n.Args) > 0 {
				exitMsg = n.Args[0]
			}
		}
		c.deliver(n)
	}

	werr := c.cmd.Wait()
	c.mu.Lock()
	if c.err == nil {
		switch {
		case c.closing:
			c.err = ErrClosed
		default:
			reason := exitMsg
			if reason == "" {
				reason = c.stderr.String()
			}
			if reason == "" && !sawExit {
				reason = fmt.Sprintf("output ended (%v, wait: %v)", readErr, werr)
			}
			if reason == "" {
				reason = "exit"
			}
			c.err = fmt.Errorf("%w: %s", ErrExited, reason)
		}
	}
	err := c.err
	pending := c.pending
	c.pending = nil
	c.mu.Unlock()

	if handshake {
		if msg := c.stderr.String(); msg != "" {
			hs <- newCommandError("attach-session", msg)
		} else {
			hs <- err
		}
	}
	for _, req := range pending {
		req.ready <- result{err: err}
	}
	c.log.Debug("control client ended", zap.Error(err))
	close(c.notify)
	close(c.done)
}

// finishBlock attributes a completed reply block to the oldest pending
// request. The request completes when its fence block arrives; blocks with
// flags 0 (hooks run on the client's behalf) are ignored.
func (c *Control) finishBlock(blk *block, isErr bool) {
	c.mu.Lock()
	if len(c.pending) == 0 {
		c.mu.Unlock()
		c.log.Debug("unsolicited reply block", zap.String("key", blk.key))
		return
	}
	req := c.pending[0]
	if !isErr && len(blk.lines) == 1 && blk.lines[0] == req.fence {
		c.pending[0] = nil
		c.pending = c.pending[1:]
		c.mu.Unlock()
		if req.bad {
			req.ready <- result{lines: req.out, err: newCommandError(req.line, req.fail)}
		} else {
			req.ready <- result{lines: req.out}
		}
		return
	}
	c.mu.Unlock()
	// Only this goroutine touches req.out and req.fail.
	switch {
	case blk.flags == "0":
		c.log.Debug("ignoring reply block of a hook", zap.Strings("lines", blk.lines))
	case isErr:
		if !req.bad {
			req.bad = true
			req.fail = strings.Join(blk.lines, "\n")
		}
	default:
		req.out = append(req.out, blk.lines...)
	}
}

// deliver hands n to the Notifications channel without ever blocking.
func (c *Control) deliver(n Notification) {
	select {
	case c.notify <- n:
	default:
		if d := c.dropped.Add(1); d == 1 || d%1000 == 0 {
			c.log.Warn("notification consumer too slow, dropping notifications",
				zap.Uint64("dropped", d))
		}
	}
}

// cutEnd returns the "TIME NUMBER FLAGS" part of an %end or %error line.
func cutEnd(line []byte) (string, bool) {
	if rest, ok := bytes.CutPrefix(line, []byte("%end ")); ok {
		return string(rest), true
	}
	if rest, ok := bytes.CutPrefix(line, []byte("%error ")); ok {
		return string(rest), true
	}
	return "", false
}

// readLine returns the next line without its newline. The slice is only
// valid until the next call.
func readLine(r *bufio.Reader) ([]byte, error) {
	line, err := r.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		buf := append([]byte(nil), line...)
		for err == bufio.ErrBufferFull {
			line, err = r.ReadSlice('\n')
			buf = append(buf, line...)
		}
		line = buf
	}
	if err != nil {
		return nil, err
	}
	return line[:len(line)-1], nil
}
