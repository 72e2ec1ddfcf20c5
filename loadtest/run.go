package loadtest

import (
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/tmux-orc/tmux-orc/bridge"
	"github.com/tmux-orc/tmux-orc/bus"
	"github.com/tmux-orc/tmux-orc/embedded"
	"github.com/tmux-orc/tmux-orc/internal/agentsim"
	"github.com/tmux-orc/tmux-orc/internal/daemon"
	"github.com/tmux-orc/tmux-orc/internal/home"
	"github.com/tmux-orc/tmux-orc/subjects"
	"github.com/tmux-orc/tmux-orc/tmux"
)

// pane is one receiver.
type pane struct {
	session, window string
	log, raw        string
}

func (p pane) target() string { return p.session + ":" + p.window }

// Result is a report and the raw typed samples (for the histogram).
type Result struct {
	Report *Report
	Typed  map[subjects.Priority][]time.Duration
}

// Run runs one load test. progress receives a one-line status every 200 ms (nil: none).
func Run(ctx context.Context, cfg Config, log *zap.Logger, progress io.Writer) (*Result, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp("", "tmux-orc-loadtest-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	var rnd [4]byte
	_, _ = crand.Read(rnd[:])
	tag := "lt" + hex.EncodeToString(rnd[:])
	sock := tmux.Socket{Name: "orc-loadtest-" + hex.EncodeToString(rnd[:])}
	bcfg := bridge.DefaultConfig(sock, cfg.Host)
	bcfg.EnterDelay = cfg.EnterDelay

	// The daemon: an embedded one in the temporary directory (with the bridge inside, as in
	// production), or the one at --url with a bridge in this process.
	dctx, stopDaemon := context.WithCancel(context.Background())
	daemonDone := make(chan error, 1)
	var c *bus.Client
	var bopts bus.Options
	if len(cfg.URLs) == 0 {
		ecfg := embedded.DefaultConfig(home.Dir(filepath.Join(tmp, "home")))
		ecfg.SetPort(0)
		ecfg.Sync, ecfg.NATSContext, ecfg.MetricsListen = cfg.Sync, "", "off"
		if cfg.Host != "" {
			ecfg.HostName = cfg.Host
		}
		bcfg.Host = ecfg.HostName
		var opts daemon.Options
		if !cfg.BrokerOnly && cfg.SimHosts == 0 {
			opts.Bridge = &bcfg
		}
		ready := make(chan struct{})
		go func() {
			daemonDone <- daemon.Run(dctx, ecfg, opts, log.Named("daemon"), func([]string) { close(ready) })
		}()
		select {
		case <-ready:
		case err := <-daemonDone:
			stopDaemon()
			return nil, fmt.Errorf("starting the embedded daemon: %w", err)
		}
		bopts = bus.Options{Home: ecfg.Home, Name: "tmux-orc-loadtest", Host: ecfg.HostName}
		c, err = bus.Connect(ctx, bopts)
	} else {
		dir, herr := home.Resolve()
		if herr != nil {
			stopDaemon()
			return nil, herr
		}
		bopts = bus.Options{Home: dir, URLs: cfg.URLs, Name: "tmux-orc-loadtest", Host: cfg.Host}
		c, err = bus.Connect(ctx, bopts)
		if err == nil && !cfg.BrokerOnly && cfg.SimHosts == 0 {
			b := bridge.New(bcfg, c, log.Named("bridge"))
			go func() { daemonDone <- b.Run(dctx) }()
		} else {
			daemonDone <- nil
		}
	}
	defer func() { stopDaemon(); <-daemonDone }()
	if err != nil {
		return nil, err
	}
	defer c.Close()
	// The publishers resolve the panes' host as a long-lived publisher does, from a watched
	// copy of the session registry (the daemon's own monitor does the same). Broker-only
	// targets name the host, so there is nothing to resolve and no watch to pay for.
	if !cfg.BrokerOnly {
		if err := c.WatchRegistry(ctx); err != nil {
			log.Debug("cannot watch the session registry; host lookups ask it instead", zap.Error(err))
		}
	}
	var base *Baseline
	var bl *baseline
	var baseErr error
	if !cfg.NoBaseline {
		if progress != nil {
			fmt.Fprintf(progress, "measuring JetStream alone (the baseline)...\n")
		}
		bl, baseErr = newBaseline(ctx, cfg, c.Conn(), tag, envelopeSize(c.DaemonHost(ctx)))
		if baseErr == nil {
			defer bl.close()
			base, baseErr = bl.measure(ctx)
		}
	}
	var res *Result
	switch {
	case cfg.BrokerOnly:
		res, err = runBroker(ctx, cfg, c, tag, progress)
	case cfg.SimHosts > 0:
		res, err = runSim(ctx, cfg, c, bopts, tag, log, progress)
	default:
		res, err = runTmux(ctx, cfg, c, sock, tag, tmp, log, progress)
	}
	if err != nil {
		return nil, err
	}
	if base != nil && cfg.Rate == 0 {
		if progress != nil {
			fmt.Fprintf(progress, "measuring JetStream's publish-only rate again...\n")
		}
		if base.PublishOnlyAfter, baseErr = bl.publishOnly(ctx, "after"); baseErr == nil {
			base.PublishOnly = (base.PublishOnlyBefore + base.PublishOnlyAfter) / 2
		}
	}
	res.Report.setBaseline(base, baseErr)
	return res, nil
}

func runTmux(ctx context.Context, cfg Config, c *bus.Client, sock tmux.Socket, tag, tmp string, log *zap.Logger, progress io.Writer) (*Result, error) {
	panes, err := startPanesFn(ctx, cfg, sock, tag, tmp)
	defer tmux.KillServer(sock)
	if err != nil && strings.Contains(err.Error(), "server exited unexpectedly") {
		// Seldom (about once in tens of runs, cause unknown), the new tmux server dies while
		// the sessions are created and the daemon's bridge attaches; no plain-tmux script
		// reproduced it. The measurement has not begun: start the panes once more, afresh.
		log.Warn("the tmux server died while the load test's sessions were created; starting them again", zap.Error(err))
		tmux.KillServer(sock)
		again := filepath.Join(tmp, "again")
		if err = os.MkdirAll(again, 0o700); err == nil {
			panes, err = startPanesFn(ctx, cfg, sock, tag, again)
		}
	}
	if err != nil {
		return nil, err
	}
	if err := warmUp(ctx, c, panes, cfg.Timeout); err != nil {
		return nil, err
	}
	published, accepted, err := publishAndAwait(ctx, cfg, c, len(panes), func(i int) subjects.Address {
		a, _ := subjects.ParseTarget(panes[i].target())
		return a
	}, progress, func() map[string][]acceptance { return readAccepted(panes) })
	if err != nil {
		return nil, err
	}
	return analyse(cfg, "tmux", func(i int) string { return panes[i].target() }, published, accepted, typedTimes(panes))
}

// warmUp sends one message to every pane and waits until each has accepted it, so that the
// measurement starts with the bridge serving every session (it discovers new sessions within
// its rescan period) and every agent ready. Warm-up messages are not counted.
func warmUp(ctx context.Context, c *bus.Client, panes []pane, timeout time.Duration) error {
	ids := map[string]int{}
	for i, p := range panes {
		a, _ := subjects.ParseTarget(p.target())
		now := time.Now()
		e := &subjects.Envelope{ID: subjects.NewID(now), Timestamp: now.UTC(),
			Source: subjects.Source{Type: "loadtest", Identifier: "loadtest"}, Target: a,
			Message: subjects.Message{Type: "notification", Category: "loadtest", Priority: subjects.Normal,
				Content: subjects.Content{Subject: "warm-up", Body: "warm-up"}},
			Metadata: subjects.Metadata{Tags: []string{"loadtest"}}}
		if _, err := c.Publish(ctx, e); err != nil {
			return fmt.Errorf("warming up: %w", err)
		}
		ids[e.ID] = i
	}
	deadline := time.Now().Add(timeout)
	for {
		acc := readAccepted(panes)
		missing := 0
		for id := range ids {
			if len(acc[id]) == 0 {
				missing++
			}
		}
		if missing == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("warming up: %d of %d panes did not accept a message within %s", missing, len(panes), timeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// startPanesFn is startPanes; a test makes its first call fail as a dying tmux server does.
var startPanesFn = startPanes

// startPanes starts a private tmux server with Sessions sessions of Panes windows, each
// running the fake agent, and waits until every agent is ready.
func startPanes(ctx context.Context, cfg Config, sock tmux.Socket, tag, tmp string) ([]pane, error) {
	var panes []pane
	run := func(args ...string) error {
		cmd := exec.CommandContext(ctx, "tmux", sock.Args(args...)...)
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("tmux %s: %v: %s", args[0], err, strings.TrimSpace(string(out)))
		}
		return nil
	}
	for s := 0; s < cfg.Sessions; s++ {
		session := fmt.Sprintf("%s-%d", tag, s)
		for w := 0; w < cfg.Panes; w++ {
			p := pane{session: session, window: strconv.Itoa(w),
				log: filepath.Join(tmp, fmt.Sprintf("%d-%d.log", s, w)), raw: filepath.Join(tmp, fmt.Sprintf("%d-%d.raw", s, w))}
			prog := strings.Join([]string{cfg.Binary, "agentsim", "-log", p.log, "-raw", p.raw}, " ")
			var err error
			if w == 0 {
				err = run("new-session", "-d", "-s", session, "-x", "200", "-y", "50", prog)
				if err == nil && s == 0 {
					// tmux's automatic-rename polls every window's foreground process:
					// with hundreds of windows it takes most of the tmux server's CPU
					// (seen at 1000 panes: the tmux server at 60% of a core, deliveries queueing).
					err = run("set-option", "-g", "automatic-rename", "off")
				}
			} else {
				err = run("new-window", "-d", "-t", session+":", prog)
			}
			if err != nil {
				return panes, err
			}
			panes = append(panes, p)
		}
	}
	deadline := time.Now().Add(60 * time.Second)
	for _, p := range panes {
		for {
			l, err := agentsim.ReadLog(p.log)
			if err == nil && l.Count(agentsim.EventReady) > 0 {
				break
			}
			if time.Now().After(deadline) {
				return panes, fmt.Errorf("the fake agent in %s did not start", p.target())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	return panes, nil
}

// publishAll publishes cfg.Messages at cfg.Rate round-robin over n targets.
func publishAll(ctx context.Context, cfg Config, c *bus.Client, n int, target func(int) subjects.Address, count *atomic.Int64) ([]sent, error) {
	r := rand.New(rand.NewPCG(1, 2))
	out := make([]sent, cfg.Messages)
	prios := make([]subjects.Priority, cfg.Messages)
	for i := range prios {
		prios[i] = cfg.priorityFor(r)
	}
	err := drive(ctx, cfg.Rate, cfg.Publishers, cfg.Messages, func(i int) error {
		defer count.Add(1)
		now := time.Now()
		e := &subjects.Envelope{ID: subjects.NewID(now), Timestamp: now.UTC(),
			Source: subjects.Source{Type: "loadtest", Identifier: "loadtest"}, Target: target(i % n),
			Message: subjects.Message{Type: "notification", Category: "loadtest", Priority: prios[i],
				Content: subjects.Content{Subject: "load", Body: fmt.Sprintf("loadtest message %d", i)}},
			Metadata: subjects.Metadata{Tags: []string{"loadtest"}}}
		out[i] = sent{id: e.ID, priority: prios[i], target: i % n, at: now}
		_, err := c.Publish(ctx, e)
		return err
	})
	if err != nil {
		return out, fmt.Errorf("publishing %w", err)
	}
	return out, nil
}

// publishAndAwait publishes cfg.Messages round-robin over n targets (publishAll) and waits
// until every message was accepted by a pane, or cfg.Timeout after the last publish, reading
// the acceptances with read every 200 ms (before the last publish only to show progress). It
// returns what was published and the last acceptances read.
func publishAndAwait(ctx context.Context, cfg Config, c *bus.Client, n int, target func(int) subjects.Address, progress io.Writer,
	read func() map[string][]acceptance) ([]sent, map[string][]acceptance, error) {
	type result struct {
		published []sent
		err       error
	}
	pubDone := make(chan result, 1)
	var npub atomic.Int64
	go func() {
		published, err := publishAll(ctx, cfg, c, n, target, &npub)
		pubDone <- result{published, err}
	}()
	var published []sent
	byID := map[string]bool{}
	var accepted map[string][]acceptance
	pubFinished := false
	var deadline time.Time
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case r := <-pubDone:
			if r.err != nil {
				return nil, nil, r.err
			}
			published, pubFinished = r.published, true
			for _, s := range published {
				byID[s.id] = true
			}
			deadline = time.Now().Add(cfg.Timeout)
		case <-tick.C:
		case <-ctx.Done():
			return nil, nil, ctx.Err()
		}
		if !pubFinished && progress == nil {
			continue
		}
		accepted = read()
		done := 0
		for id := range accepted {
			if byID[id] {
				done++
			}
		}
		if progress != nil {
			fmt.Fprintf(progress, "\rpublished %d/%d, accepted %d", npub.Load(), cfg.Messages, done)
		}
		if pubFinished && (done >= len(published) || time.Now().After(deadline)) {
			break
		}
	}
	if progress != nil {
		fmt.Fprintln(progress)
	}
	return published, accepted, nil
}

// acceptance is one accepted prompt carrying a message id.
type acceptance struct {
	pane int
	at   time.Time
}

var idRE = regexp.MustCompile(`[0-9a-z]{16}`)

// readAccepted maps each message id to the prompts that carried it.
func readAccepted(panes []pane) map[string][]acceptance {
	out := map[string][]acceptance{}
	for i, p := range panes {
		l, err := agentsim.ReadLog(p.log)
		if err != nil {
			continue
		}
		for _, pr := range l.Prompts {
			addAcceptances(out, i, pr.Text, pr.Time)
		}
	}
	return out
}

// addAcceptances records, once per message id in text, that pane accepted it at at.
func addAcceptances(out map[string][]acceptance, pane int, text string, at time.Time) {
	seen := map[string]bool{}
	for _, id := range idRE.FindAllString(text, -1) {
		if !seen[id] {
			seen[id] = true
			out[id] = append(out[id], acceptance{pane: pane, at: at})
		}
	}
}

// typedTimes finds, per message id, when the pane program read the last byte of the id.
func typedTimes(panes []pane) map[string]time.Time {
	out := map[string]time.Time{}
	for _, p := range panes {
		reads, err := agentsim.ReadRaw(p.raw)
		if err != nil && len(reads) == 0 {
			continue
		}
		var stream []byte
		var ends []int
		var times []time.Time
		for _, r := range reads {
			stream = append(stream, r.Bytes()...)
			ends = append(ends, len(stream))
			times = append(times, r.Time())
		}
		k := 0
		for _, loc := range idRE.FindAllIndex(stream, -1) {
			id := string(stream[loc[0]:loc[1]])
			for k < len(ends) && ends[k] < loc[1] {
				k++
			}
			if _, ok := out[id]; !ok && k < len(times) {
				out[id] = times[k]
			}
		}
	}
	return out
}

// analyse computes the report of a run that typed into panes (tmux or simulated): target
// names pane i, accepted and typed are what the panes saw.
func analyse(cfg Config, mode string, target func(int) string, published []sent, accepted map[string][]acceptance, typed map[string]time.Time) (*Result, error) {
	res := &Result{Typed: map[subjects.Priority][]time.Duration{}}
	rep := &Report{Mode: mode, Hosts: cfg.SimHosts, Sessions: cfg.Sessions, Panes: cfg.Panes, Messages: cfg.Messages, Rate: cfg.Rate, Sync: cfg.Sync, Publishers: cfg.Publishers}
	subm := map[subjects.Priority][]time.Duration{}
	count := map[subjects.Priority]int{}
	var first, last time.Time
	for _, s := range published {
		count[s.priority]++
		if first.IsZero() || s.at.Before(first) {
			first = s.at
		}
		acc := accepted[s.id]
		switch {
		case len(acc) == 0:
			rep.Lost++
			continue
		case len(acc) > 1:
			rep.Duplicates += len(acc) - 1
		}
		if acc[0].pane != s.target {
			return nil, fmt.Errorf("message %s for %s was accepted in %s", s.id, target(s.target), target(acc[0].pane))
		}
		subm[s.priority] = append(subm[s.priority], acc[0].at.Sub(s.at))
		if acc[0].at.After(last) {
			last = acc[0].at
		}
		if t, ok := typed[s.id]; ok {
			res.Typed[s.priority] = append(res.Typed[s.priority], t.Sub(s.at))
		}
	}
	for _, p := range subjects.Priorities {
		if count[p] == 0 {
			continue
		}
		rep.Priorities = append(rep.Priorities, PriorityReport{Priority: p, Target: float64(Targets[p].Milliseconds()),
			Published: count[p], Typed: Summarize(res.Typed[p], Targets[p]), Submitted: Summarize(subm[p], Targets[p])})
	}
	if d := last.Sub(first); d > 0 {
		rep.Duration = d.Seconds()
		rep.Throughput = float64(len(published)-rep.Lost) / d.Seconds()
	}
	rep.DaemonRSS = peakRSS()
	res.Report = rep
	return res, nil
}

// runBroker measures publish -> the bridge's consumer: the same durable host consumers the
// bridge uses (one per priority for every session of the host), telling the server each
// message is done (Delivery.Done), no tmux.
func runBroker(ctx context.Context, cfg Config, c *bus.Client, tag string, progress io.Writer) (*Result, error) {
	type got struct {
		at    time.Time
		times int
	}
	var mu sync.Mutex
	recv := map[string]*got{}
	var nrecv atomic.Int64
	// The broker alone: targets name the daemon's host, so no registry lookup is measured.
	host := c.DaemonHost(ctx)
	stop, err := c.ConsumeHost(ctx, host, time.Now().Add(-time.Minute), func(d *bus.Delivery) {
		now := time.Now()
		mu.Lock()
		g := recv[d.Envelope.ID]
		if g == nil {
			g = &got{at: now}
			recv[d.Envelope.ID] = g
			nrecv.Add(1)
		}
		g.times++
		mu.Unlock()
		_ = d.Done(ctx)
	}, nil)
	if err != nil {
		return nil, err
	}
	defer stop()
	var npub atomic.Int64
	n := cfg.Sessions * cfg.Panes
	published, err := publishAll(ctx, cfg, c, n, func(i int) subjects.Address {
		a, _ := subjects.ParseTarget(fmt.Sprintf("%s.%s-%d:%d", host, tag, i/cfg.Panes, i%cfg.Panes))
		return a
	}, &npub)
	if err != nil {
		return nil, err
	}
	atPubEnd := nrecv.Load()
	deadline := time.Now().Add(cfg.Timeout)
	for nrecv.Load() < int64(len(published)) && time.Now().Before(deadline) && ctx.Err() == nil {
		if progress != nil {
			fmt.Fprintf(progress, "\rpublished %d/%d, received %d", npub.Load(), cfg.Messages, nrecv.Load())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if progress != nil {
		fmt.Fprintln(progress)
	}
	mu.Lock()
	defer mu.Unlock()
	res := &Result{Typed: map[subjects.Priority][]time.Duration{}}
	rep := &Report{Mode: "broker-only", Sessions: cfg.Sessions, Panes: cfg.Panes, Messages: cfg.Messages, Rate: cfg.Rate, Sync: cfg.Sync, Publishers: cfg.Publishers,
		ReceivedAtPublishEnd: int(atPubEnd)}
	count := map[subjects.Priority]int{}
	var first, last time.Time
	for _, s := range published {
		count[s.priority]++
		if first.IsZero() || s.at.Before(first) {
			first = s.at
		}
		g := recv[s.id]
		if g == nil {
			rep.Lost++
			continue
		}
		rep.Duplicates += g.times - 1
		res.Typed[s.priority] = append(res.Typed[s.priority], g.at.Sub(s.at))
		if g.at.After(last) {
			last = g.at
		}
	}
	for _, p := range subjects.Priorities {
		if count[p] > 0 {
			rep.Priorities = append(rep.Priorities, PriorityReport{Priority: p, Target: float64(Targets[p].Milliseconds()),
				Published: count[p], Typed: Summarize(res.Typed[p], Targets[p])})
		}
	}
	if d := last.Sub(first); d > 0 {
		rep.Duration = d.Seconds()
		rep.Throughput = float64(len(published)-rep.Lost) / d.Seconds()
	}
	rep.DaemonRSS = peakRSS()
	res.Report = rep
	return res, nil
}

// peakRSS is this process's peak resident memory (VmHWM), in bytes.
func peakRSS() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb * 1024
		}
	}
	return 0
}
