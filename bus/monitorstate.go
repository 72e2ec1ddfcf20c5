package bus

import (
	"context"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/tmux-orc/tmux-orc/subjects"
)

// MonitorBucket is the KV bucket of the monitors' state (see subjects.MonitorBucket); the
// daemon provisions it with the streams.
const MonitorBucket = subjects.MonitorBucket

// monitorState opens the monitors' state bucket.
func (c *Client) monitorState(ctx context.Context) (jetstream.KeyValue, error) {
	c.regMu.Lock()
	defer c.regMu.Unlock()
	if c.monKV != nil {
		return c.monKV, nil
	}
	var kv jetstream.KeyValue
	err := c.retry(ctx, func(ctx context.Context) (err error) {
		kv, err = c.js.KeyValue(ctx, MonitorBucket)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("opening the monitor's state bucket %s: %w", MonitorBucket, err)
	}
	c.monKV = kv
	return kv, nil
}

// PutMonitorState stores value under key (which starts with the monitor's host).
func (c *Client) PutMonitorState(ctx context.Context, key string, value []byte) error {
	kv, err := c.monitorState(ctx)
	if err != nil {
		return err
	}
	ctx, cancel := c.withTimeout(ctx)
	defer cancel()
	if _, err := kv.Put(ctx, key, value); err != nil {
		return fmt.Errorf("storing the monitor's state %s: %w", key, err)
	}
	return nil
}

// DeleteMonitorState removes key.
func (c *Client) DeleteMonitorState(ctx context.Context, key string) error {
	kv, err := c.monitorState(ctx)
	if err != nil {
		return err
	}
	ctx, cancel := c.withTimeout(ctx)
	defer cancel()
	if err := kv.Delete(ctx, key); err != nil && !errors.Is(err, jetstream.ErrKeyNotFound) {
		return fmt.Errorf("deleting the monitor's state %s: %w", key, err)
	}
	return nil
}

// LoadMonitorState returns every stored value whose key matches filter (a key with
// wildcards, e.g. "<host>.>"), by key.
func (c *Client) LoadMonitorState(ctx context.Context, filter string) (map[string][]byte, error) {
	kv, err := c.monitorState(ctx)
	if err != nil {
		return nil, err
	}
	ctx, cancel := c.withTimeout(ctx)
	defer cancel()
	w, err := kv.WatchFiltered(ctx, []string{filter}, jetstream.IgnoreDeletes())
	if err != nil {
		return nil, fmt.Errorf("loading the monitor's state: %w", err)
	}
	defer w.Stop()
	out := map[string][]byte{}
	for {
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("loading the monitor's state: %w", ctx.Err())
		case e, ok := <-w.Updates():
			if !ok {
				return out, nil
			}
			if e == nil { // the initial values are all there
				return out, nil
			}
			out[e.Key()] = e.Value()
		}
	}
}
