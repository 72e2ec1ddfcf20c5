package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/tmux-orc/tmux-orc/bus"
	"github.com/tmux-orc/tmux-orc/internal/termsafe"
	"github.com/tmux-orc/tmux-orc/subjects"
)

// ReadOptions are the inputs of tmux-orc read.
type ReadOptions struct {
	f *factory

	Session    string
	Group      string
	Priorities string
	Tags       []string
	Filter     string
	Since      string
	Tail       int
	Unacked    bool
	JSON       bool
	Follow     bool
	ID         string

	// pane and windowIndex identify the inbox's pane when known (tmux-orc inbox).
	pane, windowIndex string
	// unackedFirst lists what needs an acknowledgement first (tmux-orc inbox).
	unackedFirst bool
}

func newCmdRead(f *factory) *cobra.Command {
	opts := &ReadOptions{f: f}
	cmd := &cobra.Command{
		Use:   "read [flags]",
		Short: "Query stored messages (never the screen)",
		Long: `Query the message store. Filters combine: all must match.

--session S:W reads the inbox of that window: the messages addressed to it, plus those for
its session as a whole and for its groups (management, agents, ...) that were typed into it
(the bridge's receipts say which pane got what). --session S reads all of session S.

--filter is a regular expression (Go RE2 syntax: | alternates) matched against the text
"<PRIORITY LABEL> <subject>\n<body>", where the label is CRITICAL, HIGH PRIORITY, NORMAL or
LOW PRIORITY. grep's "\|" is accepted as "|" too, so the original guide's
--filter "HIGH PRIORITY\|CRITICAL" works. Smart case: a pattern without a capital letter
ignores case ("recovery" finds "Recovery:"), one with a capital is matched as written.

No match is not an error: "no messages match" goes to stderr and the exit code is 0.

--since takes a duration (30m, 2h, 1d) or an RFC 3339 time. --json prints
{"stored_messages": [...], "count": N} with each message's acknowledgement; with --follow
it prints one JSON object per line.`,
		Example: `  tmux-orc read --session backend-dev:2 --filter "HIGH PRIORITY|CRITICAL" --tail 10 --json
  tmux-orc read --group management --since 30m --priority critical,high --unacked
  tmux-orc read --session pm:1 --follow`,
		Args: argsBetween(0, 0),
		RunE: func(cmd *cobra.Command, args []string) error {
			return readRun(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&opts.Session, "session", "s", "", "only messages for this session or session:window")
	fl.StringVarP(&opts.Group, "group", "g", "", "only messages for this group (with --session SESSION: that session's and everyone's)")
	fl.StringVarP(&opts.Priorities, "priority", "p", "", "comma-separated priorities, e.g. critical,high")
	fl.StringArrayVarP(&opts.Tags, "tag", "t", nil, "only messages with this tag (repeatable; all must match)")
	fl.StringVar(&opts.Filter, "filter", "", "regular expression over priority label, subject and body")
	fl.StringVar(&opts.Since, "since", "", "only messages stored since this duration ago or RFC 3339 time")
	fl.IntVarP(&opts.Tail, "tail", "n", 0, "only the last N matching messages")
	fl.BoolVar(&opts.Unacked, "unacked", false, "only messages nobody has acknowledged")
	fl.BoolVar(&opts.JSON, "json", false, "print JSON")
	fl.BoolVarP(&opts.Follow, "follow", "f", false, "keep printing new matching messages until interrupted")
	fl.StringVar(&opts.ID, "id", "", "only the message with this id (with its full text and delivery outcomes)")
	return cmd
}

// query turns the options into a bus query without touching the network.
func (o *ReadOptions) query(now time.Time) (bus.Query, error) {
	var q bus.Query
	var err error
	switch {
	case o.Group != "":
		if strings.Contains(o.Session, ":") {
			return q, flagErrorf("with --group, --session names a session, not a window: %q", o.Session)
		}
		q.Address, err = subjects.GroupAddress(o.Group, o.Session)
	case o.Session != "":
		q.Address, err = subjects.ParseTarget(o.Session)
	}
	if err != nil {
		return q, err
	}
	if q.Address.Kind == subjects.KindSession && q.Address.Window != "" {
		// A window's inbox: its own messages and the group messages typed into it.
		a := q.Address
		q.Inbox = &bus.Recipient{Host: a.Host, Session: a.Session, Window: a.Window, Pane: o.pane}
		if _, err := strconv.Atoi(a.Window); err == nil {
			q.Inbox.WindowIndex = a.Window
		} else if o.windowIndex != "" {
			q.Inbox.WindowIndex = o.windowIndex
		}
	}
	if o.Priorities != "" {
		if q.Priorities, err = subjects.ParsePriorityList(o.Priorities); err != nil {
			return q, err
		}
	}
	for _, t := range o.Tags {
		if err := subjects.ValidateTag(t); err != nil {
			return q, err
		}
	}
	q.Tags = o.Tags
	if o.Filter != "" {
		if q.Filter, err = compileFilter(o.Filter); err != nil {
			return q, err
		}
	}
	if q.Since, err = parseSince(o.Since, now); err != nil {
		return q, err
	}
	if o.ID != "" {
		if err := subjects.ValidateID(o.ID); err != nil {
			return q, err
		}
		if o.Follow {
			return q, flagErrorf("--id and --follow do not go together")
		}
	}
	if o.Tail < 0 {
		return q, flagErrorf("--tail %d: want 0 (all) or more", o.Tail)
	}
	q.Tail, q.Unacked = o.Tail, o.Unacked
	return q, nil
}

// compileFilter compiles --filter (see subjects.CompileFilter) as a usage error when bad.
func compileFilter(expr string) (*regexp.Regexp, error) {
	re, err := subjects.CompileFilter(expr)
	if err != nil {
		return nil, &flagError{fmt.Errorf("--filter %w", err)}
	}
	return re, nil
}

func readRun(ctx context.Context, o *ReadOptions) error {
	q, err := o.query(time.Now())
	if err != nil {
		return err
	}
	c, err := o.f.Connect(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	if o.Follow {
		enc := json.NewEncoder(o.f.Out)
		err := c.QueryAndFollow(ctx, q, func(r bus.Record) error {
			if o.JSON {
				return enc.Encode(r)
			}
			return printRecord(o.f.Out, r)
		})
		if ctx.Err() != nil {
			return ctx.Err() // interrupted (Ctrl-C): exit 130, as everywhere
		}
		return err
	}
	out := newRecordPrinter(o.f.Out, o.JSON)
	switch {
	case o.ID != "":
		r, gerr := c.Get(ctx, o.ID)
		if gerr != nil {
			return gerr
		}
		err = out.print(r)
	case o.unackedFirst && q.Tail > 0:
		var recs []bus.Record
		if recs, err = c.Query(ctx, q); err == nil {
			sort.SliceStable(recs, func(i, j int) bool { return needsAck(recs[i]) && !needsAck(recs[j]) })
			for _, r := range recs {
				if err = out.print(r); err != nil {
					break
				}
			}
		}
	case o.unackedFirst:
		// What needs an acknowledgement first, then the rest: two passes over the
		// store (the second skips what the first printed), nothing held but ids.
		first := map[string]bool{}
		err = c.QueryEach(ctx, q, func(r bus.Record) error {
			if !needsAck(r) {
				return nil
			}
			first[r.ID] = true
			return out.print(r)
		})
		if err == nil {
			err = c.QueryEach(ctx, q, func(r bus.Record) error {
				if first[r.ID] || needsAck(r) {
					return nil
				}
				return out.print(r)
			})
		}
	default:
		err = c.QueryEach(ctx, q, out.print)
	}
	if err != nil {
		return err
	}
	if out.count == 0 {
		fmt.Fprintf(o.f.Err, "tmux-orc: no messages match%s\n", o.describe())
	}
	return out.close()
}

// recordPrinter prints messages as they come: as text, or as the JSON document
// {"stored_messages": [...], "count": N}, written a message at a time (byte for byte what
// an indenting json.Encoder writes for the whole list), so no read holds its whole result.
type recordPrinter struct {
	w     io.Writer
	json  bool
	count int
}

func newRecordPrinter(w io.Writer, json bool) *recordPrinter {
	return &recordPrinter{w: w, json: json}
}

func (p *recordPrinter) print(r bus.Record) error {
	p.count++
	if !p.json {
		return printRecord(p.w, r)
	}
	b, err := json.MarshalIndent(r, "    ", "  ")
	if err != nil {
		return err
	}
	sep := ",\n    "
	if p.count == 1 {
		sep = "{\n  \"stored_messages\": [\n    "
	}
	_, err = io.WriteString(p.w, sep+string(b))
	return err
}

// close ends the JSON document.
func (p *recordPrinter) close() error {
	if !p.json {
		return nil
	}
	var err error
	if p.count == 0 {
		_, err = fmt.Fprintf(p.w, "{\n  \"stored_messages\": [],\n  \"count\": 0\n}\n")
	} else {
		_, err = fmt.Fprintf(p.w, "\n  ],\n  \"count\": %d\n}\n", p.count)
	}
	return err
}

// needsAck reports whether r asks for an acknowledgement it does not have.
func needsAck(r bus.Record) bool { return r.Metadata.RequiresAck && r.Ack == nil }

// describe says, for the "no messages match" note, what was asked.
func (o *ReadOptions) describe() string {
	var parts []string
	switch {
	case o.Group != "" && o.Session != "":
		parts = append(parts, "group "+o.Group+" in "+o.Session)
	case o.Group != "":
		parts = append(parts, "group "+o.Group)
	case o.Session != "":
		parts = append(parts, o.Session)
	}
	if o.Filter != "" {
		parts = append(parts, fmt.Sprintf("--filter %q", o.Filter))
	}
	for _, t := range o.Tags {
		parts = append(parts, "--tag "+t)
	}
	if o.Priorities != "" {
		parts = append(parts, "--priority "+o.Priorities)
	}
	if o.Since != "" {
		parts = append(parts, "--since "+o.Since)
	}
	if o.Unacked {
		parts = append(parts, "--unacked")
	}
	if len(parts) == 0 {
		return ""
	}
	return " (" + strings.Join(parts, ", ") + ")"
}

// printRecord prints one message: a header line, then the body indented when it says more
// than the subject.
func printRecord(w io.Writer, r bus.Record) error {
	m := r.Message
	ack := "unacked"
	if !m.Priority.Valid() || !r.Metadata.RequiresAck {
		ack = "no ack needed"
	}
	if r.Ack != nil {
		ack = "acked by " + termsafe.Line(r.Ack.By)
		if r.Ack.Note != "" {
			ack += ": " + termsafe.Line(r.Ack.Note)
		}
	}
	tags := ""
	if len(r.Metadata.Tags) > 0 {
		tags = " [" + termsafe.Line(strings.Join(r.Metadata.Tags, ",")) + "]"
	}
	_, err := fmt.Fprintf(w, "%s %s %s %s  to %s from %s%s  id=%s (%s)\n",
		r.Stored.Local().Format("2006-01-02 15:04:05"), m.Priority.Marker(), m.Priority.Label(),
		termsafe.Line(m.Content.Subject), termsafe.Line(r.Target.String()), termsafe.Line(r.Source.Identifier), tags, termsafe.Line(r.ID), ack)
	if err != nil {
		return err
	}
	if body := strings.TrimSpace(m.Content.Body); body != m.Content.Subject {
		for _, line := range strings.Split(body, "\n") {
			if _, err := fmt.Fprintf(w, "    %s\n", termsafe.Text(line)); err != nil {
				return err
			}
		}
	}
	for _, rc := range r.Receipts {
		if _, err := fmt.Fprintf(w, "    -> %s\n", termsafe.Line(describeReceipt(rc))); err != nil {
			return err
		}
	}
	return nil
}
