package cli

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/tmux-orc/tmux-orc/bus"
	"github.com/tmux-orc/tmux-orc/internal/termsafe"
	"github.com/tmux-orc/tmux-orc/subjects"
)

func newCmdPubsub(f *factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "pubsub",
		Short: "Inspect the message bus: status and statistics",
	}
	cmd.AddCommand(newCmdPubsubStatus(f), newCmdPubsubStats(f))
	return cmd
}

type pubsubStatusOptions struct {
	f    *factory
	JSON bool
}

func newCmdPubsubStatus(f *factory) *cobra.Command {
	opts := &pubsubStatusOptions{f: f}
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Health, version, uptime, listen URL and store usage of the daemon",
		Args:  argsBetween(0, 0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return pubsubStatusRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print JSON")
	return cmd
}

func pubsubStatusRun(ctx context.Context, o *pubsubStatusOptions) error {
	c, err := o.f.Connect(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	st, err := c.Status(ctx)
	if err != nil {
		return err
	}
	// Session names that more than one host has: targets without a host are refused for them.
	entries, err := c.Sessions(ctx)
	if err != nil {
		return err
	}
	dups := bus.Duplicates(entries)
	uptime := time.Since(st.Started).Round(time.Second)
	if o.JSON {
		return writeJSON(o.f.Out, struct {
			subjects.ServerStatus
			Uptime            string              `json:"uptime"`
			UptimeSeconds     float64             `json:"uptime_seconds"`
			DuplicateSessions map[string][]string `json:"duplicate_sessions"`
		}{st, uptime.String(), uptime.Seconds(), dups})
	}
	health := "healthy"
	if !st.Healthy {
		health = "UNHEALTHY: " + st.Health
	}
	w := tabwriter.NewWriter(o.f.Out, 0, 0, 2, ' ', 0)
	fmt.Fprintf(w, "daemon:\trunning (pid %d), %s\n", st.PID, health)
	fmt.Fprintf(w, "server:\t%s, nats-server %s\n", st.ServerName, st.Version)
	fmt.Fprintf(w, "uptime:\t%s (since %s)\n", uptime, st.Started.Local().Format(time.RFC3339))
	for _, u := range st.ClientURLs {
		fmt.Fprintf(w, "listening:\t%s\n", u)
	}
	if st.MetricsURL != "" {
		fmt.Fprintf(w, "metrics:\t%s/metrics (health: %s/healthz)\n", st.MetricsURL, st.MetricsURL)
	} else {
		fmt.Fprintf(w, "metrics:\toff\n")
	}
	fmt.Fprintf(w, "store:\t%s used of %s (sync: %s)\n", humanBytes(st.StoreUsed), humanBytes(st.StoreMax), st.Sync)
	if st.StoreError != "" {
		fmt.Fprintf(w, "STORE FAULT:\t%s\n", termsafe.Line(st.StoreError))
	}
	for _, d := range st.StoreDamage {
		fmt.Fprintf(w, "STORE DAMAGE:\t%s\n", termsafe.Line(d))
	}
	fmt.Fprintf(w, "connections:\t%d\n", st.Connections)
	fmt.Fprintf(w, "data:\t%s\n", st.Home)
	names := make([]string, 0, len(dups))
	for s := range dups {
		names = append(names, s)
	}
	slices.Sort(names)
	for _, s := range names {
		fmt.Fprintf(w, "duplicate session:\t%q on hosts %s (name one: %s.%s)\n", s, strings.Join(dups[s], ", "), dups[s][0], termsafe.Line(s))
	}
	if st.Host != "" {
		fmt.Fprintf(w, "host:\t%s\n", st.Host)
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if st.Cluster != nil {
		return printCluster(o.f.Out, st.Cluster)
	}
	return nil
}

// printCluster prints the members and the placement of each stream.
func printCluster(out io.Writer, c *subjects.ClusterStatus) error {
	leader := c.MetaLeader
	if leader == "" {
		leader = "NONE (no majority: writes are refused until one is elected)"
	}
	fmt.Fprintf(out, "\ncluster %s: %d nodes, a majority of %d needed; meta leader %s; %d route connections from this node\n",
		c.Name, c.Size, c.QuorumNeeded, leader, c.Routes)
	if c.RouteAuth != "" {
		fmt.Fprintf(out, "routes authenticate by: %s\n", c.RouteAuth)
	}
	w := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "NODE\tMETA LEADER\tCURRENT\tLAST SEEN\tLAG")
	for _, m := range c.Members {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%d\n", m.Name, yesNo(m.Leader), peerState(m), time.Duration(m.ActiveMS)*time.Millisecond, m.Lag)
	}
	fmt.Fprintln(w, "\nSTREAM\tLEADER\tMESSAGES\tREPLICAS")
	for _, s := range c.Streams {
		var reps []string
		for _, r := range s.Replicas {
			reps = append(reps, fmt.Sprintf("%s (%s, lag %d)", r.Name, peerState(r), r.Lag))
		}
		ld := s.Leader
		if ld == "" {
			ld = "NONE"
		}
		fmt.Fprintf(w, "%s\t%s\t%d\t%s\n", s.Name, ld, s.Messages, strings.Join(reps, ", "))
	}
	return w.Flush()
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "-"
}

func peerState(p subjects.PeerStatus) string {
	switch {
	case p.Offline:
		return "offline"
	case p.Current:
		return "current"
	}
	return "behind"
}

type pubsubStatsOptions struct {
	f    *factory
	JSON bool
}

func newCmdPubsubStats(f *factory) *cobra.Command {
	opts := &pubsubStatsOptions{f: f}
	cmd := &cobra.Command{
		Use:   "stats",
		Short: "Per priority: published, stored, acknowledged and pending messages",
		Long: `Per priority: published (every message ever stored), stored (in the store now),
acked (distinct acknowledged ids), pending (stored - acked), and the stream's limits.`,
		Args: argsBetween(0, 0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return pubsubStatsRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print JSON")
	return cmd
}

func pubsubStatsRun(ctx context.Context, o *pubsubStatsOptions) error {
	c, err := o.f.Connect(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	st, err := c.Stats(ctx)
	if err != nil {
		return err
	}
	if o.JSON {
		return writeJSON(o.f.Out, st)
	}
	w := tabwriter.NewWriter(o.f.Out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "PRIORITY\tPUBLISHED\tSTORED\tACKED\tPENDING\tBYTES\tLIMIT MSGS\tMAX AGE\tWHEN FULL\t")
	for _, p := range st.Priorities {
		fmt.Fprintf(w, "%s\t%d\t%d\t%d\t%d\t%s\t%d\t%s\t%s\t\n", p.Priority, p.Published, p.Stored, p.Acked, p.Pending,
			humanBytes(int64(p.Bytes)), p.MaxMsgs, p.MaxAge, p.WhenFull)
	}
	if err := w.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(o.f.Out, "\nDelivery (outcomes all time; latency from publish over the last %s, ms):\n", bus.LatencyWindow)
	w = tabwriter.NewWriter(o.f.Out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "PRIORITY\tQUEUED\tDELIVERED\tRECEIVED\tUNCONFIRMED\tUNDELIVERABLE\tTYPED P50\tP95\tP99\tSUBMITTED P50\tP95\tP99\t")
	for _, p := range st.Priorities {
		fmt.Fprintf(w, "%s\t%d\t%d\t%d\t%d\t%d\t%.1f\t%.1f\t%.1f\t%.1f\t%.1f\t%.1f\t\n", p.Priority, p.Queued, p.Delivered, p.Received, p.Unconfirmed, p.Undeliverable,
			p.Typed.P50, p.Typed.P95, p.Typed.P99, p.Submitted.P50, p.Submitted.P95, p.Submitted.P99)
	}
	if err := w.Flush(); err != nil {
		return err
	}
	return printSummary(o.f.Out, st)
}

// printSummary prints the two lines the original guide greps for: "Queue Depth" and "P95".
func printSummary(out io.Writer, st bus.Stats) error {
	var total int64
	var depth, p95 []string
	for _, p := range st.Priorities {
		if p.QueueDepth < 0 || total < 0 {
			total = -1
		} else {
			total += p.QueueDepth
		}
		depth = append(depth, fmt.Sprintf("%s %d", p.Priority, p.QueueDepth))
		p95 = append(p95, fmt.Sprintf("%s %.1f ms", p.Priority, p.Typed.P95))
	}
	q := fmt.Sprintf("%d", total)
	if total < 0 {
		q = "unknown (these credentials may not list consumers)"
	}
	_, err := fmt.Fprintf(out, "\nQueue Depth: %s (not yet delivered by a bridge: %s)\nP95 publish -> typed, last %s: %s\n",
		q, strings.Join(depth, ", "), bus.LatencyWindow, strings.Join(p95, ", "))
	return err
}
