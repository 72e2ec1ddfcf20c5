package embedded

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"

	"github.com/tmux-orc/tmux-orc/internal/home"
	"github.com/tmux-orc/tmux-orc/subjects"
)

// ErrPortInUse is returned when the listen address is taken.
var ErrPortInUse = errors.New("listen address already in use")

// ErrNotReady is returned when the server did not become ready in time.
var ErrNotReady = errors.New("server did not become ready")

// Account is the NATS account that holds tmux-orc's streams.
const Account = "ORC"

// Server is a running embedded NATS server with the tmux-orc streams provisioned.
type Server struct {
	cfg     Config
	log     *zap.Logger
	ns      *server.Server
	lock    *home.Lock
	nc      *nats.Conn
	js      jetstream.JetStream
	started time.Time

	mu         sync.Mutex
	metricsURL string

	opts     *server.Options
	faults   storeFaults
	reopenMu sync.Mutex
	cancel   context.CancelFunc
	markMu   sync.Mutex
	lastMark string
}

// Start locks the data directory, starts the server and returns once JetStream is ready and
// the streams exist. On error nothing is left running and the lock is released.
func Start(ctx context.Context, cfg Config, log *zap.Logger) (_ *Server, err error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	dir := cfg.Home
	if err := dir.Ensure(); err != nil {
		return nil, err
	}
	lock, err := dir.Acquire()
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, log: log, lock: lock, started: time.Now()}
	defer func() {
		if err != nil {
			s.stop()
		}
	}()
	pub, err := userKey(dir)
	if err != nil {
		return nil, err
	}
	opts, err := s.options(pub)
	if err != nil {
		return nil, err
	}
	if err := checkListen(cfg.Listen); err != nil {
		return nil, err
	}
	ns, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("creating server: %w", err)
	}
	s.opts = opts
	nl := &natsLogger{log: log.Named("nats").Sugar(), onError: s.serverError, onWarn: s.serverWarning, onNotice: s.serverNotice}
	ns.SetLoggerV2(nl, false, false, false)
	s.ns = ns
	go ns.Start()
	if err := s.waitReady(ctx, nl); err != nil {
		return nil, err
	}
	seed, err := nats.NkeyOptionFromSeed(dir.CredentialsFile())
	if err != nil {
		return nil, fmt.Errorf("loading credentials: %w", err)
	}
	s.nc, err = nats.Connect("", nats.InProcessServer(ns), seed, nats.Name("tmux-orc-daemon"))
	if err != nil {
		return nil, fmt.Errorf("connecting in process: %w", err)
	}
	if s.js, err = jetstream.New(s.nc); err != nil {
		return nil, fmt.Errorf("opening jetstream: %w", err)
	}
	if err := s.provision(ctx, s.js); err != nil {
		return nil, err
	}
	for _, subj := range []string{subjects.StatusSubject, subjects.StatusSubjectFor(cfg.ServerName)} {
		if _, err := s.nc.Subscribe(subj, s.answerStatus); err != nil {
			return nil, fmt.Errorf("serving status: %w", err)
		}
	}
	if err := dir.WriteConnInfo(s.connInfo()); err != nil {
		return nil, err
	}
	if err := s.writeNATSContext(); err != nil {
		log.Warn("could not write the nats CLI context", zap.Error(err))
	}
	if damage := s.checkStore(ctx); len(damage) > 0 {
		s.faults.mu.Lock()
		s.faults.damage = damage
		s.faults.mu.Unlock()
		for _, d := range damage {
			log.Error("STORE DAMAGE found at start", zap.String("damage", d))
		}
	}
	s.writeManifest(ctx)
	wctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	go s.watchDisk(wctx)
	go s.keepManifest(wctx)
	log.Info("ready", zap.Strings("urls", s.ClientURLs()), zap.String("store", dir.StoreDir()), zap.String("sync", cfg.Sync))
	return s, nil
}

func (s *Server) options(userPub string) (*server.Options, error) {
	cfg := s.cfg
	always, interval, _ := cfg.syncPolicy()
	opts := &server.Options{}
	var routeSecret string
	if cfg.Cluster.Enabled() && cfg.Cluster.SecretFile != "" {
		var err error
		if routeSecret, err = LoadRouteSecret(cfg.Cluster.SecretFile); err != nil {
			return nil, err
		}
	}
	if err := opts.ProcessConfigString(cfg.serverConfigText(userPub, routeSecret)); err != nil {
		return nil, fmt.Errorf("building server options: %w", err)
	}
	host, portStr, _ := net.SplitHostPort(cfg.Listen)
	port, _ := strconv.Atoi(portStr)
	if port == 0 {
		port = server.RANDOM_PORT
	}
	opts.Host, opts.Port = host, port
	opts.NoSigs = true
	opts.NoSystemAccount = false
	opts.JetStream = true
	opts.StoreDir = cfg.Home.StoreDir()
	opts.JetStreamMaxStore = int64(cfg.MaxStore)
	opts.JetStreamMaxMemory = 64 << 20
	opts.SyncAlways, opts.SyncInterval = always, interval
	opts.MaxPayload = 1 << 20
	if cfg.Cluster.Enabled() {
		// A lame-duck stop hands RAFT leadership to another node at once, then closes the
		// clients over a few seconds so that they reconnect elsewhere.
		opts.LameDuckDuration = 5 * time.Second
		opts.LameDuckGracePeriod = time.Second
	}
	return opts, nil
}

func checkListen(addr string) error {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		if errors.Is(err, syscall.EADDRINUSE) {
			return fmt.Errorf("%w: %s (another program or another tmux-orc daemon listens there; choose a port with --port or TMUX_ORC_PORT)", ErrPortInUse, addr)
		}
		return fmt.Errorf("cannot listen on %s: %w", addr, err)
	}
	return l.Close()
}

// waitReady returns once the server accepts clients and its health check passes, which in
// a cluster means that a JetStream meta leader is elected and this node is current. A
// single node gives up after 20 s; a cluster node waits as long as ctx allows for the other
// nodes (the first start of a cluster waits for a majority), saying so every 10 s.
func (s *Server) waitReady(ctx context.Context, nl *natsLogger) error {
	start := time.Now()
	deadline := start.Add(20 * time.Second)
	clustered := s.cfg.Cluster.Enabled()
	nextNote := start.Add(10 * time.Second)
	var last string
	for clustered || time.Now().Before(deadline) {
		if err := nl.fatalErr(); err != nil {
			return fmt.Errorf("%w: %w", ErrNotReady, err)
		}
		if s.ns.ReadyForConnections(50*time.Millisecond) && s.ns.JetStreamEnabled() {
			hs := s.ns.Healthz(nil)
			if hs.Status == "ok" {
				return nil
			}
			last = hs.Error
			// Damaged stream files keep the server unhealthy: say so now, not in 20 s.
			if err := s.startDamageErr(); err != nil && time.Since(start) > 2*time.Second {
				return fmt.Errorf("%w: %w", ErrNotReady, err)
			}
		}
		if clustered && time.Now().After(nextNote) {
			nextNote = time.Now().Add(10 * time.Second)
			s.log.Info("waiting for the cluster: a JetStream meta leader needs a majority of the nodes",
				zap.Int("routes", s.ns.NumRoutes()), zap.Int("nodes", len(s.cfg.Cluster.Routes)), zap.String("health", last))
		}
		select {
		case <-ctx.Done():
			if last != "" {
				return fmt.Errorf("%w: %s: %w", ErrNotReady, last, ctx.Err())
			}
			return fmt.Errorf("%w: %w", ErrNotReady, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
	if err := nl.fatalErr(); err != nil {
		return fmt.Errorf("%w: %w", ErrNotReady, err)
	}
	if err := s.startDamageErr(); err != nil {
		return fmt.Errorf("%w: %w", ErrNotReady, err)
	}
	if stuck := s.restoring(); len(stuck) > 0 {
		dir := filepath.Join(s.cfg.Home.StoreDir(), "jetstream", Account, "streams")
		return fmt.Errorf("%w within 20s: the server is still restoring stream %s from the store, whose files are probably damaged; move its directory (under %s) aside and start again: the stream is created empty and the moved files keep its messages",
			ErrNotReady, strings.Join(stuck, ", "), dir)
	}
	if last != "" {
		return fmt.Errorf("%w within 20s: %s", ErrNotReady, last)
	}
	return fmt.Errorf("%w within 20s", ErrNotReady)
}

func (s *Server) connInfo() home.ConnInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	ci := home.ConnInfo{URLs: s.ClientURLs(), PID: os.Getpid(), Started: s.started, Version: server.VERSION,
		Server: s.cfg.ServerName, StoreSync: s.cfg.Sync, MetricsURL: s.metricsURL, Host: s.cfg.HostName,
		Creds: s.cfg.Client.Creds}
	if s.cfg.TLS.Enabled() {
		ci.TLS = home.ClientTLS{CA: s.cfg.TLS.CA, Cert: s.cfg.Client.Cert, Key: s.cfg.Client.Key}
	}
	return ci
}

// SetMetricsURL records where the daemon serves its metrics ("" for nowhere), for the
// connection file and the status.
func (s *Server) SetMetricsURL(url string) error {
	s.mu.Lock()
	s.metricsURL = url
	s.mu.Unlock()
	return s.cfg.Home.WriteConnInfo(s.connInfo())
}

// Healthy returns nil when the server's own health check is ok, else what is wrong.
func (s *Server) Healthy() error {
	if f := s.StoreFault(); f != "" {
		return errors.New(f)
	}
	hs := s.ns.Healthz(nil)
	if hs.Status == "ok" {
		return nil
	}
	if hs.Error != "" {
		return errors.New(hs.Error)
	}
	return fmt.Errorf("server status %q", hs.Status)
}

// ClientURLs are the URLs clients on this machine connect to: the listen address, with a
// wildcard host (0.0.0.0, ::) replaced by 127.0.0.1.
func (s *Server) ClientURLs() []string {
	if s.ns == nil {
		return nil
	}
	addr, ok := s.ns.Addr().(*net.TCPAddr)
	if !ok {
		return []string{s.ns.ClientURL()}
	}
	ip := addr.IP
	if ip.IsUnspecified() {
		ip = net.IPv4(127, 0, 0, 1)
	}
	return []string{"nats://" + net.JoinHostPort(ip.String(), strconv.Itoa(addr.Port))}
}

// NATS returns the underlying server, for monitoring.
func (s *Server) NATS() *server.Server { return s.ns }

// Connect opens a new in-process connection as the data directory's user: no TCP, no
// port, for the parts of the daemon that run beside the server (bridge, monitor).
func (s *Server) Connect(name string) (*nats.Conn, error) {
	seed, err := nats.NkeyOptionFromSeed(s.cfg.Home.CredentialsFile())
	if err != nil {
		return nil, fmt.Errorf("loading credentials: %w", err)
	}
	nc, err := nats.Connect("", nats.InProcessServer(s.ns), seed, nats.Name(name))
	if err != nil {
		return nil, fmt.Errorf("connecting in process: %w", err)
	}
	return nc, nil
}

// Status gathers the daemon's status from the server, with the cluster's members and
// stream placement when withCluster is set (and the node is clustered).
func (s *Server) Status(withCluster bool) subjects.ServerStatus {
	st := subjects.ServerStatus{ServerName: s.cfg.ServerName, Version: server.VERSION, PID: os.Getpid(),
		Started: s.started, ClientURLs: s.ClientURLs(), Home: string(s.cfg.Home), Sync: s.cfg.Sync}
	s.mu.Lock()
	st.MetricsURL = s.metricsURL
	s.mu.Unlock()
	if v, err := s.ns.Varz(nil); err == nil {
		st.Connections, st.MemoryRSS, st.InMsgs, st.OutMsgs = v.Connections, v.Mem, v.InMsgs, v.OutMsgs
		st.StoreUsed, st.StoreMax = int64(v.JetStream.Stats.Store), v.JetStream.Config.MaxStore
	}
	hs := s.ns.Healthz(nil)
	st.Health, st.Healthy = hs.Status, hs.Status == "ok"
	if hs.Error != "" {
		st.Health = hs.Error
	}
	st.Host = s.cfg.HostName
	st.StoreError = s.StoreFault()
	st.StoreDamage = s.StoreDamage()
	if st.StoreError != "" {
		st.Healthy, st.Health = false, st.StoreError
	}
	if withCluster && s.cfg.Cluster.Enabled() {
		st.Cluster = s.clusterStatus()
		st.Cluster.RouteAuth = s.cfg.RouteAuth()
	}
	return st
}

func peerStatus(p *server.PeerInfo) subjects.PeerStatus {
	return subjects.PeerStatus{Name: p.Name, Current: p.Current, Offline: p.Offline, ActiveMS: p.Active.Milliseconds(), Lag: p.Lag}
}

// clusterStatus is this node's view of the cluster: members, meta leader, and the leader
// and replicas of each stream.
func (s *Server) clusterStatus() *subjects.ClusterStatus {
	cs := &subjects.ClusterStatus{Name: s.cfg.Cluster.Name, Routes: s.ns.NumRoutes()}
	jsz, err := s.ns.Jsz(nil)
	if err != nil {
		return cs
	}
	seen := map[string]bool{}
	if m := jsz.Meta; m != nil {
		cs.MetaLeader, cs.Size, cs.QuorumNeeded = m.Leader, m.Size, m.QuorumNeeded
		if m.Leader != "" {
			cs.Members = append(cs.Members, subjects.PeerStatus{Name: m.Leader, Leader: true, Current: true})
			seen[m.Leader] = true
		}
		for _, p := range m.Replicas {
			if !seen[p.Name] {
				seen[p.Name] = true
				ps := peerStatus(p)
				switch {
				case p.Name == s.cfg.ServerName:
					ps.Current = s.ns.JetStreamIsCurrent()
				case m.Leader != s.cfg.ServerName:
					// Only the leader tracks how current its followers are; a follower
					// knows whether it hears from the others.
					ps.Current = !p.Offline && p.Active < 10*time.Second
				}
				cs.Members = append(cs.Members, ps)
			}
		}
	}
	if !seen[s.cfg.ServerName] {
		cs.Members = append(cs.Members, subjects.PeerStatus{Name: s.cfg.ServerName, Current: s.ns.JetStreamIsCurrent()})
	}
	sort.Slice(cs.Members, func(i, j int) bool { return cs.Members[i].Name < cs.Members[j].Name })
	// Stream placement comes from each stream's leader (this node's own view of a stream
	// it follows can be stale).
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	names := []string{"KV_" + subjects.SessionsBucket}
	for _, sc := range s.cfg.StreamConfigs(s.cfg.Replicas()) {
		names = append(names, sc.Name)
	}
	for _, name := range names {
		ss := subjects.StreamStatus{Name: name}
		if st, err := s.js.Stream(ctx, name); err == nil {
			info := st.CachedInfo()
			ss.Messages = info.State.Msgs
			if info.Cluster != nil {
				ss.Leader = info.Cluster.Leader
				for _, p := range info.Cluster.Replicas {
					ss.Replicas = append(ss.Replicas, subjects.PeerStatus{Name: p.Name, Current: p.Current, Offline: p.Offline,
						ActiveMS: p.Active.Milliseconds(), Lag: p.Lag})
				}
			}
		}
		cs.Streams = append(cs.Streams, ss)
	}
	sort.Slice(cs.Streams, func(i, j int) bool { return cs.Streams[i].Name < cs.Streams[j].Name })
	return cs
}

func (s *Server) answerStatus(m *nats.Msg) {
	var req subjects.StatusRequest
	if len(m.Data) > 0 {
		_ = json.Unmarshal(m.Data, &req)
	}
	b, _ := json.Marshal(s.Status(req.Cluster))
	if err := m.Respond(b); err != nil {
		s.log.Warn("answering status request", zap.Error(err))
	}
}

// Shutdown stops the server in order: no new requests, then the server flushes and closes
// its store, then the connection file and lock are released. It waits at most until ctx ends.
func (s *Server) Shutdown(ctx context.Context) error {
	done := make(chan struct{})
	go func() { s.stop(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("shutting down: %w", ctx.Err())
	}
}

func (s *Server) stop() {
	if s.cancel != nil {
		s.cancel()
	}
	if s.js != nil && s.ns != nil && s.ns.JetStreamEnabled() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		s.writeManifest(ctx)
		cancel()
	}
	if s.nc != nil {
		s.nc.Close()
	}
	if s.ns != nil {
		if s.cfg.Cluster.Enabled() && s.ns.Running() {
			// Hands stream and meta leadership to other nodes before closing.
			s.ns.LameDuckShutdown()
		}
		s.ns.Shutdown()
		s.ns.WaitForShutdown()
		os.Remove(s.cfg.Home.ConnFile())
		s.log.Info("server stopped")
	}
	s.lock.Release(s.cfg.Home)
}

// natsContext is the subset of the nats CLI's context file that tmux-orc writes.
type natsContext struct {
	Description string `json:"description"`
	URL         string `json:"url"`
	NKey        string `json:"nkey"`
}

// NATSContextPath is where the nats CLI looks for a context called name.
func NATSContextPath(name string) (string, error) {
	base := os.Getenv("XDG_CONFIG_HOME")
	if base == "" {
		h, err := os.UserHomeDir()
		if err != nil {
			return "", err
		}
		base = h + "/.config"
	}
	return base + "/nats/context/" + name + ".json", nil
}

const contextMark = "tmux-orc daemon"

func (s *Server) writeNATSContext() error {
	if s.cfg.NATSContext == "" {
		return nil
	}
	path, err := NATSContextPath(s.cfg.NATSContext)
	if err != nil {
		return err
	}
	mine := contextMark + " at " + string(s.cfg.Home)
	if b, err := os.ReadFile(path); err == nil {
		var old natsContext
		if json.Unmarshal(b, &old) != nil || !strings.HasPrefix(old.Description, contextMark) {
			return fmt.Errorf("%s exists and was not written by tmux-orc; leaving it alone", path)
		}
		if old.Description != mine {
			return fmt.Errorf("%s belongs to another daemon (%s); leaving it alone: set nats_context in config.yaml to name this one's", path, old.Description)
		}
	}
	if err := os.MkdirAll(path[:strings.LastIndex(path, "/")], 0o700); err != nil {
		return err
	}
	b, _ := json.MarshalIndent(natsContext{Description: mine,
		URL: strings.Join(s.ClientURLs(), ","), NKey: s.cfg.Home.CredentialsFile()}, "", "  ")
	return home.WriteFileAtomic(path, append(b, '\n'), 0o600)
}
