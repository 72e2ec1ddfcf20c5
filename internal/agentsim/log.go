package agentsim

import (
	"bufio"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"time"
)

// Event kinds written to the log as {"event":KIND,...}.
const (
	// EventReady is logged once the tty is set up; PID is the process id.
	EventReady = "ready"
	// EventInterrupt is a lone Esc; Count is the running total.
	EventInterrupt = "interrupt"
	// EventCtrlC is a Ctrl-C byte; the agent exits with ExitCtrlC.
	EventCtrlC = "ctrl-c"
	// EventSwallowed is an Enter consumed by the modal dialog; Text is the
	// composer at that moment.
	EventSwallowed = "enter-swallowed"
	// EventQueued is a prompt submitted while busy; Text is the prompt.
	EventQueued = "queued"
	// EventModalOpen and EventModalClose mark the modal dialog toggling.
	EventModalOpen  = "modal-open"
	EventModalClose = "modal-close"
	// EventModalAnswer is the dialog closed by a key (with ModalKeys); Text
	// is AnswerYes or AnswerNo.
	EventModalAnswer = "modal-answer"
	// EventModalDropped is text the dialog consumed (with ModalKeys).
	EventModalDropped = "modal-dropped"
	// EventStarted marks the end of Config.Startup: the prompt is drawn.
	EventStarted = "started"
	// EventStartupEnter is an Enter lost while starting; Text is the
	// composer at that moment (it stays there, unsubmitted).
	EventStartupEnter = "startup-enter-lost"
	// EventPickerOpen is the picker opened by Config.PickerCommand.
	EventPickerOpen = "picker-open"
	// EventPickerAnswer is the picker closed by a key; Text is the picked
	// entry or AnswerCancel.
	EventPickerAnswer = "picker-answer"
	// EventCrash is the simulated crash (SIGUSR2).
	EventCrash = "crash"
	// EventSignal is a terminating signal; Text names it.
	EventSignal = "signal"
	// EventExit is the last line written; Code is the exit code.
	EventExit = "exit"
)

// Event is a non-prompt log record.
type Event struct {
	Kind  string    `json:"event"`
	Time  time.Time `json:"time"`
	Text  string    `json:"text,omitempty"`
	Count int       `json:"count,omitempty"`
	PID   int       `json:"pid,omitempty"`
	Code  int       `json:"code,omitempty"`
}

// Log is the parsed content of a log file.
type Log struct {
	Prompts []Prompt
	Events  []Event
}

// Texts returns the texts of the accepted prompts in order.
func (l Log) Texts() []string {
	out := make([]string, len(l.Prompts))
	for i, p := range l.Prompts {
		out[i] = p.Text
	}
	return out
}

// Count returns how many events of kind the log holds.
func (l Log) Count(kind string) int {
	n := 0
	for _, e := range l.Events {
		if e.Kind == kind {
			n++
		}
	}
	return n
}

// ParseLog reads JSON lines written by -log.
func ParseLog(r io.Reader) (Log, error) {
	var l Log
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 16*1024*1024)
	for sc.Scan() {
		if len(sc.Bytes()) == 0 {
			continue
		}
		var rec struct {
			Event
			Seq int `json:"seq"`
		}
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			return l, fmt.Errorf("parse log line: %w", err)
		}
		if rec.Kind != "" {
			l.Events = append(l.Events, rec.Event)
		} else {
			l.Prompts = append(l.Prompts, Prompt{Seq: rec.Seq, Time: rec.Time, Text: rec.Text})
		}
	}
	if err := sc.Err(); err != nil {
		return l, fmt.Errorf("read log: %w", err)
	}
	return l, nil
}

// ReadLog parses the log file at path.
func ReadLog(path string) (Log, error) {
	f, err := os.Open(path)
	if err != nil {
		return Log{}, fmt.Errorf("open log: %w", err)
	}
	defer f.Close()
	return ParseLog(f)
}

// RawRead is one read() as written by -raw.
type RawRead struct {
	// T is the arrival time in Unix nanoseconds.
	T int64 `json:"t"`
	// Hex is the bytes read, hex encoded.
	Hex string `json:"hex"`
}

// Time returns the arrival time.
func (r RawRead) Time() time.Time { return time.Unix(0, r.T) }

// Bytes returns the decoded bytes; malformed hex yields nil.
func (r RawRead) Bytes() []byte {
	b, err := hex.DecodeString(r.Hex)
	if err != nil {
		return nil
	}
	return b
}

// ReadRaw parses the raw read file at path.
func ReadRaw(path string) ([]RawRead, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open raw log: %w", err)
	}
	defer f.Close()
	var out []RawRead
	dec := json.NewDecoder(f)
	for {
		var r RawRead
		if err := dec.Decode(&r); err == io.EOF {
			return out, nil
		} else if err != nil {
			return out, fmt.Errorf("parse raw log: %w", err)
		}
		out = append(out, r)
	}
}

// jsonLines appends JSON records to a file, one write per record so that a
// reader never sees half a line. A nil *jsonLines discards records.
type jsonLines struct {
	f *os.File
}

func openJSONLines(path string) (*jsonLines, error) {
	if path == "" {
		return nil, nil
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	return &jsonLines{f: f}, nil
}

func (j *jsonLines) write(v any) error {
	if j == nil {
		return nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode record: %w", err)
	}
	if _, err := j.f.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("write record: %w", err)
	}
	return nil
}

func (j *jsonLines) close() error {
	if j == nil {
		return nil
	}
	return j.f.Close()
}
