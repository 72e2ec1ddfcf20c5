package cli

import (
	"context"
	"fmt"
	"os"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/tmux-orc/tmux-orc/loadtest"
)

type loadtestOptions struct {
	f          *factory
	cfg        loadtest.Config
	Rate       string
	JSON       bool
	Histogram  string
	CPUProfile string
	NoProgress bool
}

func newCmdLoadtest(f *factory) *cobra.Command {
	opts := &loadtestOptions{f: f}
	cmd := &cobra.Command{
		Use:   "loadtest [flags]",
		Short: "Measure delivery end to end: publish -> typed into the pane -> submitted",
		Long: `Start a daemon (or use --url), a private tmux server whose panes run the fake agent built into
this binary, publish at a steady rate, and report per priority min, median, p95, p99, max
and the share within the guide's targets (critical 50 ms, high 75 ms, normal 100 ms, low
500 ms) for "typed into the pane" (the pane program read the text) and "submitted" (it
accepted the prompt, after the bridge's Enter delay); plus throughput and the lost and
duplicated messages, which must be zero (the command exits 1 otherwise).

--broker-only skips tmux and measures publish -> the bridge's consumer. --sim-hosts N keeps
the bridges but replaces tmux with simulated panes in this process (a "> " prompt that takes
what is typed when Enter comes), the sessions spread over N bridges with their own host
names: the bus and the bridges measured alone, up to 20000 panes.

Each run also measures JetStream alone on the same server (a temporary stream with the
settings of ORC_NORMAL): synchronous publishes at full speed, as nats bench js pub sync
does (at --rate max), and publish -> a durable consumer at the run's rate.`,
		Example: `  tmux-orc loadtest --sessions 20 --panes 2 --messages 1000 --priority mix --rate 200/s
  tmux-orc loadtest --broker-only --messages 20000 --rate max --json
  tmux-orc loadtest --sim-hosts 10 --sessions 500 --panes 20 --messages 20000 --rate 1000/s`,
		Args: argsBetween(0, 0),
		RunE: func(cmd *cobra.Command, _ []string) error { return loadtestRun(cmd.Context(), opts) },
	}
	fl := cmd.Flags()
	fl.IntVar(&opts.cfg.Sessions, "sessions", 20, "tmux sessions")
	fl.IntVar(&opts.cfg.Panes, "panes", 2, "panes (windows) per session")
	fl.IntVar(&opts.cfg.Messages, "messages", 1000, "messages to publish")
	fl.StringVar(&opts.cfg.Priority, "priority", "mix", "mix (10% critical, 20% high, 50% normal, 20% low) or one priority")
	fl.StringVar(&opts.Rate, "rate", "200/s", "publish rate, e.g. 200/s, or max")
	fl.BoolVar(&opts.cfg.BrokerOnly, "broker-only", false, "no tmux: publish -> the bridge's consumers")
	fl.StringVar(&opts.cfg.Sync, "sync", "always", "fsync policy of the embedded daemon: always or an interval such as 1s")
	fl.DurationVar(&opts.cfg.EnterDelay, "enter-delay", 150*time.Millisecond, "the bridge's pause before Enter")
	fl.DurationVar(&opts.cfg.Timeout, "timeout", 60*time.Second, "how long to wait for deliveries after the last publish")
	fl.IntVar(&opts.cfg.Publishers, "publishers", 8, "concurrent publishers")
	fl.IntVar(&opts.cfg.SimHosts, "sim-hosts", 0, "simulate the panes (no tmux) and serve them with this many bridges (hosts) in this process")
	fl.BoolVar(&opts.cfg.NoBaseline, "no-baseline", false, "skip measuring JetStream alone on the same server (the report's yardstick)")
	fl.BoolVar(&opts.JSON, "json", false, "print the report as JSON")
	fl.StringVar(&opts.Histogram, "histogram", "", "write a latency histogram (SVG) of the typed stage to this file")
	fl.StringVar(&opts.CPUProfile, "cpuprofile", "", "write a CPU profile of the whole run (daemon, bridges and publishers: go tool pprof) to this file")
	fl.BoolVar(&opts.NoProgress, "no-progress", false, "no progress line on stderr")
	return cmd
}

func loadtestRun(ctx context.Context, o *loadtestOptions) error {
	rate, err := loadtest.ParseRate(o.Rate)
	if err != nil {
		return &flagError{err}
	}
	o.cfg.Rate = rate
	if o.f.urlFlag != "" {
		o.cfg.URLs = strings.Split(o.f.urlFlag, ",")
	}
	o.cfg.Host = o.f.Host()
	if err := o.cfg.Validate(); err != nil {
		return &flagError{err}
	}
	if o.cfg.Binary, err = os.Executable(); err != nil {
		return fmt.Errorf("finding the tmux-orc binary: %w", err)
	}
	var progress = o.f.Err
	if o.NoProgress {
		progress = nil
	}
	if o.CPUProfile != "" {
		f, err := os.Create(o.CPUProfile)
		if err != nil {
			return fmt.Errorf("writing the CPU profile: %w", err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			f.Close()
			return fmt.Errorf("writing the CPU profile: %w", err)
		}
		defer func() {
			pprof.StopCPUProfile()
			f.Close()
		}()
	}
	res, err := loadtest.Run(ctx, o.cfg, o.f.Log().Named("loadtest"), progress)
	if err != nil {
		return err
	}
	if o.Histogram != "" {
		f, err := os.Create(o.Histogram)
		if err != nil {
			return fmt.Errorf("writing the histogram: %w", err)
		}
		title := fmt.Sprintf("tmux-orc loadtest (%s): publish -> typed, %d messages", res.Report.Mode, res.Report.Messages)
		if err := loadtest.WriteSVG(f, title, res.Typed); err != nil {
			f.Close()
			return fmt.Errorf("writing the histogram: %w", err)
		}
		if err := f.Close(); err != nil {
			return fmt.Errorf("writing the histogram: %w", err)
		}
	}
	if o.JSON {
		if err := writeJSON(o.f.Out, res.Report); err != nil {
			return err
		}
	} else if err := res.Report.WriteText(o.f.Out); err != nil {
		return err
	}
	if res.Report.Lost > 0 || res.Report.Duplicates > 0 {
		return fmt.Errorf("%d messages lost and %d duplicated", res.Report.Lost, res.Report.Duplicates)
	}
	return nil
}
