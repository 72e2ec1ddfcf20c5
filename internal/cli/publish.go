package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/tmux-orc/tmux-orc/bus"
	"github.com/tmux-orc/tmux-orc/subjects"
)

// PublishOptions are the inputs of tmux-orc publish.
type PublishOptions struct {
	f *factory

	Session       string
	Group         string
	Priority      string
	Tags          []string
	Type          string
	Category      string
	Subject       string
	Context       []string
	RequiresAck   string
	CorrelationID string
	ID            string
	From          string
	JSON          bool
	TmuxSocket    string
	Args          []string
	Schedule      scheduleFlags
}

func newCmdPublish(f *factory) *cobra.Command {
	opts := &PublishOptions{f: f}
	cmd := &cobra.Command{
		Use:   "publish (--session SESSION[:WINDOW] | --group GROUP [--session SESSION]) [flags] MESSAGE... | -",
		Short: "Store a message for a tmux window or a group",
		Long: `Store a message durably on the bus. The message id is printed only after the daemon has
stored it. "-" reads the message from standard input.

The body is at most 32 KiB of UTF-8 text. Priorities: critical, high, normal (default), low.

A message to the management group that names an id as the guide writes it ("PM ACK: <id> -
note"), or with --correlation-id <id>, also records the acknowledgement of that id.

--in, --at and --every schedule the message instead (stored now, delivered then; --every is
bounded by --count, default 24, or --until); tmux-orc schedule ls|rm lists and cancels.

A target whose session no host has (or whose host no bridge serves) gets a warning on stderr:
the message is stored and waits up to the bridge's --expiry for it.`,
		Example: `  tmux-orc publish --session backend-dev:2 --priority high --tag monitoring --tag idle "Agent backend-dev:2 idle 15min"
  tmux-orc publish --group management --tag acknowledgment "PM ACK: daemon-health-1234 - investigated agent, all healthy"
  echo "a long body" | tmux-orc publish --session pm:1 -
  tmux-orc publish --session backend-dev:2 --in 30m "CHECK-IN: how far are you?"
  tmux-orc publish --session backend-dev:2 --every 1h --count 8 "CHECK-IN: hourly status"`,
		Args: argsBetween(1, -1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Args = args
			return publishRun(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&opts.Session, "session", "s", "", "target tmux window (session:window) or session; with --group, the session the group is scoped to")
	fl.StringVarP(&opts.Group, "group", "g", "", "target group (management, agents, ...)")
	fl.StringVarP(&opts.Priority, "priority", "p", "normal", "critical, high, normal or low")
	fl.StringArrayVarP(&opts.Tags, "tag", "t", nil, "tag (repeatable)")
	fl.StringVar(&opts.Type, "type", "notification", "message type")
	fl.StringVar(&opts.Category, "category", "general", "message category (health, recovery, status, ...)")
	fl.StringVar(&opts.Subject, "subject", "", "one-line subject (default: the first line of the message)")
	fl.StringArrayVar(&opts.Context, "context", nil, "context field KEY=VALUE (repeatable)")
	fl.StringVar(&opts.RequiresAck, "requires-ack", "auto", "true, false, or auto (true for critical and high)")
	fl.StringVar(&opts.CorrelationID, "correlation-id", "", "correlation id")
	fl.StringVar(&opts.ID, "id", "", "message id (default: generated); publishing the same id again stores it once")
	fl.StringVar(&opts.From, "from", "", "sender identifier (default: the tmux window this runs in, else user@host)")
	fl.BoolVar(&opts.JSON, "json", false, "print the stored message's id, subject, stream and sequence as JSON")
	fl.StringVar(&opts.TmuxSocket, "tmux-socket", "", "tmux server for the fallback when the daemon is unreachable")
	fl.DurationVar(&opts.Schedule.In, "in", 0, "publish it this long from now (30m, 2h): stored now, delivered then")
	fl.StringVar(&opts.Schedule.At, "at", "", "publish it at this time: HH:MM (today, or tomorrow once passed) or RFC 3339")
	fl.DurationVar(&opts.Schedule.Every, "every", 0, "publish it again at this interval (bounded by --count or --until; default count 24)")
	fl.IntVar(&opts.Schedule.Count, "count", 0, "with --every: how many times in all (at most 1000)")
	fl.StringVar(&opts.Schedule.Until, "until", "", "with --every: no occurrence after this time (HH:MM or RFC 3339)")
	return cmd
}

// buildEnvelope turns the options into a validated envelope without touching the network.
func (o *PublishOptions) buildEnvelope(ctx context.Context, in io.Reader, now time.Time) (*subjects.Envelope, error) {
	var body string
	if len(o.Args) == 1 && o.Args[0] == "-" {
		b, err := io.ReadAll(io.LimitReader(in, subjects.MaxBodyBytes+1))
		if err != nil {
			return nil, fmt.Errorf("reading the message from stdin: %w", err)
		}
		body = strings.TrimRight(string(b), "\n")
	} else {
		body = strings.Join(o.Args, " ")
	}
	if !utf8.ValidString(body) {
		return nil, fmt.Errorf("%w: the message is not valid UTF-8", subjects.ErrEnvelope)
	}
	addr, err := o.address()
	if err != nil {
		return nil, err
	}
	p, err := subjects.ParsePriority(o.Priority)
	if err != nil {
		return nil, err
	}
	requiresAck := p <= subjects.High
	switch o.RequiresAck {
	case "auto":
	case "true":
		requiresAck = true
	case "false":
		requiresAck = false
	default:
		return nil, flagErrorf("--requires-ack %q: want true, false or auto", o.RequiresAck)
	}
	ctxFields, err := parseContext(o.Context)
	if err != nil {
		return nil, err
	}
	id := o.ID
	if id == "" {
		id = subjects.NewID(now)
	}
	from, pane := o.From, ""
	if from == "" {
		from, pane = o.f.Sender(ctx), os.Getenv("TMUX_PANE")
	}
	subject := o.Subject
	if subject == "" {
		subject = subjects.SubjectLine(body)
	}
	env := &subjects.Envelope{
		ID: id, Timestamp: now.UTC(),
		Source: subjects.Source{Type: "cli", Identifier: from, Host: o.f.Host(), Pane: pane},
		Target: addr,
		Message: subjects.Message{Type: o.Type, Category: o.Category, Priority: p,
			Content: subjects.Content{Subject: subject, Body: body, Context: ctxFields}},
		Metadata: subjects.Metadata{RequiresAck: requiresAck, Tags: o.Tags, CorrelationID: o.CorrelationID},
	}
	if env.Metadata.Tags == nil {
		env.Metadata.Tags = []string{}
	}
	// The one check of what the user typed, before any daemon is reached or pane typed into
	// (the fallback); bus.Publish checks it again as the bus's own entry for every sender.
	if _, err := env.Encode(); err != nil {
		return nil, err
	}
	return env, nil
}

func (o *PublishOptions) address() (subjects.Address, error) {
	switch {
	case o.Group != "":
		if strings.Contains(o.Session, ":") {
			return subjects.Address{}, flagErrorf("with --group, --session names a session to scope the group to, not a window: %q", o.Session)
		}
		return subjects.GroupAddress(o.Group, o.Session)
	case o.Session != "":
		return subjects.ParseTarget(o.Session)
	}
	return subjects.Address{}, flagErrorf("say who the message is for: --session SESSION[:WINDOW] or --group GROUP")
}

func parseContext(kvs []string) (map[string]any, error) {
	if len(kvs) == 0 {
		return nil, nil
	}
	out := map[string]any{}
	for _, kv := range kvs {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, flagErrorf("--context %q: want KEY=VALUE", kv)
		}
		out[k] = v
	}
	return out, nil
}

func publishRun(ctx context.Context, o *PublishOptions) error {
	now := time.Now()
	times, err := o.Schedule.times(now)
	if err != nil {
		return err
	}
	env, err := o.buildEnvelope(ctx, o.f.In, now)
	if err != nil {
		return err
	}
	if times != nil {
		return scheduleRun(ctx, o, env, times)
	}
	c, fr, err := connectOrFallback(ctx, o.f, env, o.TmuxSocket)
	if err != nil {
		return err
	}
	if fr != nil {
		fmt.Fprintln(o.f.Out, env.ID)
		fmt.Fprintln(o.f.Err, "tmux-orc: the daemon is unreachable; "+describeReceipt(*fr)+"; spooled for import when the daemon starts")
		if fr.Outcome != bus.Delivered {
			return silentError{ExitNotDelivered}
		}
		return nil
	}
	defer c.Close()
	env.Timestamp = time.Now().UTC() // the publish call: latencies are measured from here
	stored, err := c.Publish(ctx, env)
	if err != nil {
		return err
	}
	if o.JSON {
		err = writeJSON(o.f.Out, stored)
	} else {
		_, err = fmt.Fprintln(o.f.Out, stored.ID)
	}
	if err != nil {
		return err
	}
	warnTarget(ctx, o.f, c, env)
	return recordAckMessage(ctx, o.f, c, env)
}

// scheduleRun stores env as a schedule (no fallback: a scheduled message needs the daemon).
func scheduleRun(ctx context.Context, o *PublishOptions, env *subjects.Envelope, times []time.Time) error {
	c, err := o.f.Connect(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	sid, err := c.Schedule(ctx, env, times)
	if err != nil {
		return err
	}
	if o.JSON {
		type occ struct {
			ID  string    `json:"id"`
			Due time.Time `json:"due"`
		}
		var occs []occ
		for i, t := range times {
			occs = append(occs, occ{subjects.OccurrenceID(sid, i+1), t.UTC().Truncate(time.Second)})
		}
		return writeJSON(o.f.Out, struct {
			Schedule    string `json:"schedule"`
			Occurrences []occ  `json:"occurrences"`
		}{sid, occs})
	}
	fmt.Fprintln(o.f.Out, sid)
	fmt.Fprintf(o.f.Err, "tmux-orc: scheduled %s for %s: %s (ids %s-1...); list: tmux-orc schedule ls; cancel: tmux-orc schedule rm %s\n",
		sid, env.Target, describeTimes(times, o.Schedule.Every), sid, sid)
	return nil
}

// recordAckMessage turns a message to the management group that acknowledges an alert into
// the acknowledgement itself: the guide's "PM ACK: <id> - <note>" in the body, or
// --correlation-id <id>. The message is stored either way; an id that names no stored
// message is an error (exit 1), and a message tagged acknowledgment that names no id gets
// a hint.
func recordAckMessage(ctx context.Context, f *factory, c *bus.Client, env *subjects.Envelope) error {
	if env.Target.Kind != subjects.KindGroup || env.Target.Group != "management" {
		return nil
	}
	body := env.Message.Content.Body
	id, note, ok := subjects.AckReference(body)
	if !ok && env.Metadata.CorrelationID != "" {
		id, note, ok = env.Metadata.CorrelationID, body, true
	}
	if !ok {
		if env.HasTag("acknowledgment") || env.HasTag("acknowledgement") {
			fmt.Fprintf(f.Err, "tmux-orc: note: this acknowledgment names no message id, so nothing was acknowledged; write \"PM ACK: <id> - ...\", add --correlation-id <id>, or run tmux-orc ack <id> (ids: tmux-orc inbox --unacked)\n")
		}
		return nil
	}
	if note == "" {
		note = body
	}
	rec, already, err := c.Ack(ctx, id, env.Source.Identifier, note)
	if errors.Is(err, bus.ErrNotFound) || errors.Is(err, subjects.ErrID) {
		return fmt.Errorf("message %s stored, but it acknowledges %q, which is not a stored message id: nothing was acknowledged (ids: tmux-orc inbox --unacked)", env.ID, id)
	}
	if err != nil {
		return fmt.Errorf("message %s stored, but recording the acknowledgement of %s failed: %w", env.ID, id, err)
	}
	if already {
		fmt.Fprintf(f.Err, "tmux-orc: %s was already acknowledged by %s\n", rec.ID, rec.By)
	} else {
		fmt.Fprintf(f.Err, "tmux-orc: acknowledged %s as %s\n", rec.ID, rec.By)
	}
	return nil
}
