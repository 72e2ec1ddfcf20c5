// Package bus is the one way tmux-orc programs talk to the message bus: publish, query,
// follow, record a person's acknowledgement (Client.Ack) and read statistics, over nats.go
// and JetStream. "Ack" in this package is always that acknowledgement by a person or agent;
// JetStream's acknowledgement of a consumed message is Delivery.Done (or Nak, Term). The CLI uses it, and
// so do the bridge and the monitor. It never imports the server.
package bus

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"

	"github.com/tmux-orc/tmux-orc/internal/home"
)

var (
	// ErrNotRunning is returned when no daemon runs on the data directory and none was named.
	ErrNotRunning = errors.New("the tmux-orc daemon is not running")
	// ErrUnreachable is returned when the daemon cannot be reached.
	ErrUnreachable = errors.New("cannot reach the tmux-orc daemon")
	// ErrAuth is returned when the daemon refuses the credentials.
	ErrAuth = errors.New("the daemon refused the credentials")
	// ErrNotStored is returned when the bus did not acknowledge a publish in time: it may
	// or may not be stored, and publishing it again with the same id is safe.
	ErrNotStored = errors.New("not stored")
	// ErrNotFound is returned for a message id that is not in the store.
	ErrNotFound = errors.New("no message with that id")
)

// Environment variables that say how to connect (between the flags and the connection
// file the local daemon writes).
const (
	// EnvURL names the environment variable with daemon URLs (comma-separated).
	EnvURL = "TMUX_ORC_URL"
	// EnvCreds names an NKey seed file to authenticate with.
	EnvCreds = "TMUX_ORC_CREDS"
	// EnvTLSCA, EnvTLSCert and EnvTLSKey name the CA that signed the servers' certificates
	// and this client's certificate and key.
	EnvTLSCA   = "TMUX_ORC_TLS_CA"
	EnvTLSCert = "TMUX_ORC_TLS_CERT"
	EnvTLSKey  = "TMUX_ORC_TLS_KEY"
)

// Options say how to connect.
type Options struct {
	// Home is the data directory whose credentials and connection file are used.
	Home home.Dir
	// URLs override the connection file (and TMUX_ORC_URL). With several, the client fails
	// over between them (and the other nodes the servers announce).
	URLs []string
	// Creds is an NKey seed file; it overrides TMUX_ORC_CREDS, the connection file's and the
	// data directory's own.
	Creds string
	// TLS files override TMUX_ORC_TLS_* and the connection file's.
	TLS home.ClientTLS
	// Name is the connection name the server shows.
	Name string
	// Log receives connection events; nil means none.
	Log *zap.Logger
	// Timeout bounds connecting and each request; 0 means 5s.
	Timeout time.Duration
	// Host is this side's host token, resolved by the caller (the CLI: --host,
	// $TMUX_ORC_HOST, else the host name; see subjects.LocalHost). DaemonHost falls back to
	// it when the daemon does not name its own host. Empty: no fallback.
	Host string
}

// Client is a connection to the bus.
type Client struct {
	nc      *nats.Conn
	js      jetstream.JetStream
	log     *zap.Logger
	timeout time.Duration

	regMu      sync.Mutex
	kv         jetstream.KeyValue // the session registry, once opened
	monKV      jetstream.KeyValue // the monitor's state, once opened
	reg        *regCache          // the watched copy of the registry (WatchRegistry)
	daemonHost string             // once known
	host       string             // Options.Host: DaemonHost's fallback
}

// Connect connects with the data directory's credentials.
func Connect(ctx context.Context, o Options) (*Client, error) {
	if o.Log == nil {
		o.Log = zap.NewNop()
	}
	if o.Timeout == 0 {
		o.Timeout = 5 * time.Second
	}
	if o.Name == "" {
		o.Name = "tmux-orc"
	}
	urls := o.URLs
	if len(urls) == 0 && os.Getenv(EnvURL) != "" {
		urls = strings.Split(os.Getenv(EnvURL), ",")
	}
	ci, ciErr := o.Home.ReadConnInfo()
	if len(urls) == 0 {
		if ciErr != nil {
			if running, _ := o.Home.Running(); !running {
				return nil, fmt.Errorf("%w (data directory %s); start it with: tmux-orc daemon start", ErrNotRunning, o.Home)
			}
			return nil, fmt.Errorf("%w: the daemon is starting or its connection file is unreadable: %w", ErrUnreachable, ciErr)
		}
		urls = ci.URLs
	}
	seedFile := firstOf(o.Creds, os.Getenv(EnvCreds), ci.Creds)
	if seedFile == "" {
		var err error
		if seedFile, err = o.Home.CheckCredentials(); err != nil {
			return nil, err
		}
	}
	seed, err := nats.NkeyOptionFromSeed(seedFile)
	if err != nil {
		return nil, fmt.Errorf("loading credentials %s: %w", seedFile, err)
	}
	tlsOpts, err := tlsOptions(home.ClientTLS{
		CA:   firstOf(o.TLS.CA, os.Getenv(EnvTLSCA), ci.TLS.CA),
		Cert: firstOf(o.TLS.Cert, os.Getenv(EnvTLSCert), ci.TLS.Cert),
		Key:  firstOf(o.TLS.Key, os.Getenv(EnvTLSKey), ci.TLS.Key),
	})
	if err != nil {
		return nil, err
	}
	log := o.Log
	nopts := append([]nats.Option{seed}, tlsOpts...)
	nc, err := nats.Connect(strings.Join(urls, ","), append(nopts,
		nats.Name(o.Name),
		nats.Timeout(o.Timeout),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(250*time.Millisecond),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				log.Warn("disconnected from the daemon", zap.Error(err))
			}
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) { log.Info("reconnected", zap.String("url", nc.ConnectedUrl())) }),
		// Asynchronous errors (a permissions violation for a request the user's role may not
		// make, such as deleting its own ephemeral consumer) go to the log, not the terminal.
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
			log.Debug("asynchronous error from the server", zap.Error(err))
		}),
	)...)
	if err != nil {
		if errors.Is(err, nats.ErrAuthorization) || strings.Contains(strings.ToLower(err.Error()), "authorization") {
			return nil, fmt.Errorf("%w (%s): %w", ErrAuth, seedFile, err)
		}
		if running, _ := o.Home.Running(); !running && len(o.URLs) == 0 && os.Getenv(EnvURL) == "" {
			return nil, fmt.Errorf("%w (data directory %s); start it with: tmux-orc daemon start", ErrNotRunning, o.Home)
		}
		return nil, fmt.Errorf("%w at %s: %w", ErrUnreachable, strings.Join(urls, ","), err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("opening jetstream: %w", err)
	}
	return &Client{nc: nc, js: js, log: log, timeout: o.Timeout, host: o.Host}, nil
}

// NewFromConn wraps an existing connection (the daemon's in-process one, or a test's);
// host is as Options.Host (the daemon passes its own).
func NewFromConn(nc *nats.Conn, host string, log *zap.Logger) (*Client, error) {
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, fmt.Errorf("opening jetstream: %w", err)
	}
	if log == nil {
		log = zap.NewNop()
	}
	return &Client{nc: nc, js: js, log: log, timeout: 5 * time.Second, host: host}, nil
}

// Conn exposes the underlying NATS connection.
func (c *Client) Conn() *nats.Conn { return c.nc }

// Close drains nothing and closes the connection; every publish returned before it was stored.
func (c *Client) Close() { c.nc.Close() }

func (c *Client) withTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, c.timeout)
}

func firstOf(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}

// tlsOptions turns TLS file names into connection options: a CA to verify the servers
// with, and a client certificate when both its files are named.
func tlsOptions(t home.ClientTLS) ([]nats.Option, error) {
	var opts []nats.Option
	if t.CA != "" {
		if _, err := os.Stat(t.CA); err != nil {
			return nil, fmt.Errorf("TLS CA: %w", err)
		}
		opts = append(opts, nats.RootCAs(t.CA))
	}
	switch {
	case t.Cert != "" && t.Key != "":
		opts = append(opts, nats.ClientCert(t.Cert, t.Key))
	case t.Cert != "" || t.Key != "":
		return nil, fmt.Errorf("a TLS client certificate needs both its files (--tls-cert and --tls-key)")
	}
	return opts, nil
}
