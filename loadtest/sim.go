package loadtest

import (
	"context"
	"fmt"
	"io"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/tmux-orc/tmux-orc/bridge"
	"github.com/tmux-orc/tmux-orc/bus"
	"github.com/tmux-orc/tmux-orc/internal/simtmux"
	"github.com/tmux-orc/tmux-orc/subjects"
	"github.com/tmux-orc/tmux-orc/tmux"
)

// simPane is one simulated pane and its host.
type simPane struct {
	host string
	p    *simtmux.Pane
}

func (s simPane) target() string { return s.host + "." + s.p.Target() }

// runSim runs the load test against simulated panes: cfg.SimHosts bridges in this process,
// each with its own connection, host name and simulated tmux server holding its share of
// the sessions.
func runSim(ctx context.Context, cfg Config, c *bus.Client, bopts bus.Options, tag string, log *zap.Logger, progress io.Writer) (*Result, error) {
	bctx, stopBridges := context.WithCancel(ctx)
	var wg sync.WaitGroup
	var clients []*bus.Client
	defer func() {
		stopBridges()
		wg.Wait()
		for _, bc := range clients {
			bc.Close()
		}
	}()
	var panes []simPane
	for h := 0; h < cfg.SimHosts; h++ {
		host := fmt.Sprintf("%ssim%d", tag, h)
		sessions := cfg.Sessions / cfg.SimHosts
		if h < cfg.Sessions%cfg.SimHosts {
			sessions++
		}
		srv := simtmux.New(fmt.Sprintf("%s-%d", tag, h), sessions, cfg.Panes)
		for _, p := range srv.Panes() {
			panes = append(panes, simPane{host: host, p: p})
		}
		o := bopts
		o.Name, o.Host = "tmux-orc-loadtest-bridge-"+host, host
		bc, err := bus.Connect(ctx, o)
		if err != nil {
			return nil, fmt.Errorf("connecting the bridge of simulated host %s: %w", host, err)
		}
		clients = append(clients, bc)
		bcfg := bridge.DefaultConfig(tmux.Socket{}, host)
		bcfg.Runner, bcfg.EnterDelay = srv, cfg.EnterDelay
		b := bridge.New(bcfg, bc, log.Named("bridge").With(zap.String("host", host)))
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := b.Run(bctx); err != nil && bctx.Err() == nil {
				log.Error("a simulated host's bridge stopped", zap.String("host", host), zap.Error(err))
			}
		}()
	}
	target := func(i int) subjects.Address {
		a, _ := subjects.ParseTarget(panes[i].target())
		return a
	}
	if err := simWarmUp(ctx, cfg, c, panes, target, progress); err != nil {
		return nil, err
	}
	published, accepted, err := publishAndAwait(ctx, cfg, c, len(panes), target, progress,
		func() map[string][]acceptance { return simAccepted(panes) })
	if err != nil {
		return nil, err
	}
	return analyse(cfg, "simulated", func(i int) string { return panes[i].target() }, published, accepted, simTyped(panes))
}

// simWarmUp sends one message to every pane and waits until each accepted it: every bridge
// then serves every session of its host. Warm-up messages are not counted.
func simWarmUp(ctx context.Context, cfg Config, c *bus.Client, panes []simPane, target func(int) subjects.Address, progress io.Writer) error {
	ids := make([]string, len(panes))
	err := drive(ctx, 0, cfg.Publishers, len(panes), func(i int) error {
		now := time.Now()
		e := &subjects.Envelope{ID: subjects.NewID(now), Timestamp: now.UTC(),
			Source: subjects.Source{Type: "loadtest", Identifier: "loadtest"}, Target: target(i),
			Message: subjects.Message{Type: "notification", Category: "loadtest", Priority: subjects.Normal,
				Content: subjects.Content{Subject: "warm-up", Body: "warm-up"}},
			Metadata: subjects.Metadata{Tags: []string{"loadtest"}}}
		ids[i] = e.ID
		_, err := c.Publish(ctx, e)
		return err
	})
	if err != nil {
		return fmt.Errorf("warming up: %w", err)
	}
	deadline := time.Now().Add(cfg.Timeout)
	for {
		acc := simAccepted(panes)
		missing := 0
		for _, id := range ids {
			if len(acc[id]) == 0 {
				missing++
			}
		}
		if progress != nil {
			fmt.Fprintf(progress, "\rwarming up: %d of %d panes took their first message", len(panes)-missing, len(panes))
		}
		if missing == 0 {
			if progress != nil {
				fmt.Fprintln(progress)
			}
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("warming up: %d of %d simulated panes did not accept a message within %s", missing, len(panes), cfg.Timeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// simAccepted maps each message id to the prompts that carried it.
func simAccepted(panes []simPane) map[string][]acceptance {
	out := map[string][]acceptance{}
	for i, p := range panes {
		for _, pr := range p.p.Prompts() {
			addAcceptances(out, i, pr.Text, pr.At)
		}
	}
	return out
}

// simTyped finds, per message id, when the text carrying it was typed into its pane.
func simTyped(panes []simPane) map[string]time.Time {
	out := map[string]time.Time{}
	for _, p := range panes {
		for _, t := range p.p.Typed() {
			for _, id := range idRE.FindAllString(t.Text, -1) {
				if _, ok := out[id]; !ok {
					out[id] = t.At
				}
			}
		}
	}
	return out
}
