package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/tmux-orc/tmux-orc/embedded"
	"github.com/tmux-orc/tmux-orc/internal/daemon"
	"github.com/tmux-orc/tmux-orc/internal/home"
)

// startWait bounds how long `daemon start` waits for the background daemon to be ready.
const startWait = 60 * time.Second

// DaemonStartOptions are the inputs of tmux-orc daemon start.
type DaemonStartOptions struct {
	f *factory

	Foreground bool
	ConfigFile string
	NotifyFD   int
	// Flags is the flags' layer of the configuration: only what the command line sets.
	Flags daemon.Config

	flags *pflag.FlagSet
}

// newCmdDaemonStart makes the command; runF, when set, runs instead of daemonStartRun (tests
// read the parsed options with it).
func newCmdDaemonStart(f *factory, runF func(context.Context, *DaemonStartOptions) error) *cobra.Command {
	opts := &DaemonStartOptions{f: f}
	cmd := &cobra.Command{
		Use:   "start [flags]",
		Short: "Start the daemon; returns once it is ready (--foreground stays attached)",
		Long: `Start the daemon: an embedded NATS server with JetStream, on loopback, with a bridge and
a monitor for the local tmux server.

Every setting comes from, in increasing precedence: the defaults, the config file
($TMUX_ORC_HOME/config.yaml or --config; bridge:, monitor: and notify: sections for theirs),
the environment ($TMUX_ORC_LISTEN, $TMUX_ORC_PORT, $TMUX_ORC_METRICS_LISTEN,
$TMUX_ORC_TMUX_SOCKET, $TMUX_ORC_HOST), and the flags. The README's Configuration section has
the table. Port 0 picks a free port. Starting a daemon that already runs on the same data
directory reports it and succeeds.

Prometheus metrics and a health check are served on http://127.0.0.1:14223/metrics and
/healthz (loopback only; metrics_listen, "off" disables them, port 0 picks a free port).
When the default address is taken, a free port is used instead. pubsub status shows the URL.`,
		Example: `  tmux-orc daemon start
  tmux-orc daemon start --port 4333
  tmux-orc daemon start --foreground`,
		Args: argsBetween(0, 0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts.flags = cmd.Flags()
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return daemonStartRun(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	l := &opts.Flags
	fl.BoolVar(&opts.Foreground, "foreground", false, "run in this process, logging to stderr too, until interrupted")
	intFlag(fl, &l.Port, "port", embedded.DefaultPort, "client port (0 picks a free port)")
	fl.StringVar(&l.Listen, "listen", "", "client listen address host:port (off loopback only with tls and users in the config, or --allow-insecure)")
	fl.StringVar(&l.ServerName, "server-name", "", "this node's name, unique and stable in a cluster (default tmux-orc-<hostname>)")
	fl.StringVar(&l.Cluster.Name, "cluster-name", "", "join a cluster of this name (with --cluster-listen and --routes)")
	fl.StringVar(&l.Cluster.Listen, "cluster-listen", "", "route listen address host:port")
	fl.StringSliceVar(&l.Cluster.Routes, "routes", nil, "every node's route URL, this one included, e.g. nats://h1:6222,nats://h2:6222,nats://h3:6222")
	fl.IntVar(&l.Cluster.Replicas, "replicas", 0, "copies of every stream in a cluster (default 3)")
	fl.StringVar(&l.Cluster.SecretFile, "cluster-secret", "", "route secret file, the same for every node (created when missing; required without TLS)")
	fl.BoolVar(&l.AllowInsecure, "allow-insecure", false, "accept listeners off loopback without TLS and users (plain text, unauthenticated)")
	fl.StringVar(&l.Websocket.Listen, "websocket-listen", "", "also serve NATS over WebSocket on host:port (off by default)")
	fl.StringVar(&opts.ConfigFile, "config", "", "YAML config file (default $TMUX_ORC_HOME/config.yaml)")
	fl.StringVar(&l.Sync, "sync", "", `fsync policy: "always" (default) or an interval such as 1s`)
	fl.IntVar(&opts.NotifyFD, "notify-fd", 0, "file descriptor to report readiness on (used by start itself)")
	_ = fl.MarkHidden("notify-fd")
	noFlag(fl, &l.Bridge.Enabled, "no-bridge", "do not run the bridge for the local tmux server")
	fl.Var(offIfEmpty{&l.MetricsListen}, "metrics-listen", `serve /metrics and /healthz on this loopback host:port (default `+embedded.DefaultMetricsListen+`; "off" disables)`)
	addBridgeFlags(fl, l)
	addMonitorFlags(fl, l)
	addNotifyFlags(fl, l)
	return cmd
}

// config merges the layers: defaults, the config file, the environment, the flags.
func (o *DaemonStartOptions) config(dir home.Dir) (daemon.Config, error) {
	cfg := daemon.DefaultConfig(dir)
	path := o.ConfigFile
	if path == "" {
		path = dir.ConfigFile()
	} else if _, err := os.Stat(path); err != nil {
		return cfg, fmt.Errorf("%w: --config: %w", embedded.ErrConfig, err)
	}
	file, err := daemon.LoadFile(path)
	if err != nil {
		return cfg, err
	}
	env, err := daemon.FromEnv(os.Getenv)
	if err != nil {
		return cfg, err
	}
	for _, layer := range []daemon.Config{file, env, o.Flags} {
		cfg.Merge(layer)
	}
	return cfg, cfg.Validate()
}

func daemonStartRun(ctx context.Context, o *DaemonStartOptions) error {
	dir, err := o.f.Home()
	if err != nil {
		return err
	}
	cfg, err := o.config(dir)
	if err != nil {
		return err
	}
	if *cfg.Bridge.Enabled {
		if p := tmuxServerProblem(ctx, cfg.Socket()); p != "" {
			fmt.Fprintf(o.f.Err, "tmux-orc: warning: %s; the daemon's bridge keeps trying and starts delivering once that server runs (wrong name? --tmux-socket or $TMUX_ORC_TMUX_SOCKET takes a -L name or a socket path)\n", p)
		}
	}
	if o.Foreground {
		return o.runForeground(ctx, cfg)
	}
	if running, _ := dir.Running(); running {
		return o.alreadyRunning(ctx, dir)
	}
	return o.startBackground(ctx, dir, cfg.Cluster.Enabled())
}

// alreadyRunning reports the daemon that holds dir, once it says where it listens: a daemon
// started at the same moment by another command may still be starting.
func (o *DaemonStartOptions) alreadyRunning(ctx context.Context, dir home.Dir) error {
	deadline := time.Now().Add(startWait)
	for {
		running, pid := dir.Running()
		if !running {
			return fmt.Errorf("another tmux-orc daemon was starting on %s and stopped; see %s", dir, dir.LogFile())
		}
		if ci, err := dir.ReadConnInfo(); err == nil && ci.PID == pid && len(ci.URLs) > 0 {
			fmt.Fprintf(o.f.Out, "tmux-orc daemon already running (pid %d), listening on %s, data in %s\n", pid, strings.Join(ci.URLs, ","), dir)
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("a tmux-orc daemon (pid %d) holds %s but did not become ready within %s; see %s", pid, dir, startWait, dir.LogFile())
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func (o *DaemonStartOptions) runForeground(ctx context.Context, cfg daemon.Config) error {
	if err := cfg.Home.Ensure(); err != nil {
		return err
	}
	level := zapcore.InfoLevel
	if o.f.verbose {
		level = zapcore.DebugLevel
	}
	log := daemon.NewLogger(cfg.Home.LogFile(), o.NotifyFD == 0, level)
	defer log.Sync() //nolint:errcheck
	var notify *os.File
	if o.NotifyFD > 0 {
		notify = os.NewFile(uintptr(o.NotifyFD), "notify")
		defer notify.Close()
	}
	dopts, err := cfg.Options()
	if err != nil {
		return err
	}
	dopts.OnStoreDamage = func(lines []string) {
		for _, l := range lines {
			if notify != nil {
				fmt.Fprintf(notify, "DAMAGE %s\n", strings.ReplaceAll(l, "\n", " "))
			} else {
				fmt.Fprintf(o.f.Err, "tmux-orc: warning: store damage: %s\n", l)
			}
		}
	}
	err = daemon.Run(ctx, cfg.Config, dopts, log, func(urls []string) {
		msg := strings.Join(urls, ",")
		if notify != nil {
			fmt.Fprintf(notify, "READY %s\n", msg)
			notify.Close()
			notify = nil
			return
		}
		fmt.Fprintf(o.f.Out, "tmux-orc daemon ready (pid %d), listening on %s, data in %s\n", os.Getpid(), msg, cfg.Home)
	})
	if err != nil {
		log.Error("daemon failed", zap.Error(err))
		if notify != nil {
			fmt.Fprintf(notify, "ERROR %s\n", strings.ReplaceAll(err.Error(), "\n", " "))
		}
	}
	return err
}

// childFlags are the flags given to this command, for the daemon it starts in the background
// (--home goes through the environment).
func childFlags(fs *pflag.FlagSet) []string {
	var args []string
	fs.Visit(func(fl *pflag.Flag) {
		if fl.Name != "foreground" && fl.Name != "notify-fd" && fl.Name != "home" {
			val := fl.Value.String()
			if sv, ok := fl.Value.(pflag.SliceValue); ok {
				val = strings.Join(sv.GetSlice(), ",")
			}
			args = append(args, "--"+fl.Name+"="+val)
		}
	})
	return args
}

// startBackground re-runs this binary as `daemon start --foreground` in a new session and
// waits for it to report readiness (or failure) on a pipe.
func (o *DaemonStartOptions) startBackground(ctx context.Context, dir home.Dir, clustered bool) error {
	if err := dir.Ensure(); err != nil {
		return err
	}
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("finding the tmux-orc binary: %w", err)
	}
	args := append([]string{"daemon", "start", "--foreground", "--notify-fd", "3"}, childFlags(o.flags)...)
	r, w, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("starting the daemon: %w", err)
	}
	defer r.Close()
	stderrPath := dir.LogDir() + "/daemon.stderr"
	errFile, err := os.OpenFile(stderrPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		w.Close()
		return fmt.Errorf("starting the daemon: %w", err)
	}
	defer errFile.Close()
	cmd := exec.Command(exe, args...)
	cmd.Env = append(os.Environ(), home.EnvHome+"="+string(dir))
	cmd.Stdout, cmd.Stderr = errFile, errFile
	cmd.ExtraFiles = []*os.File{w}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		w.Close()
		return fmt.Errorf("starting the daemon: %w", err)
	}
	w.Close()
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	lines := make(chan string, 1)
	var damage []string // before READY, one line per damaged stream
	go func() {
		br := bufio.NewReader(r)
		for {
			line, err := br.ReadString('\n')
			line = strings.TrimSpace(line)
			if d, ok := strings.CutPrefix(line, "DAMAGE "); ok && err == nil {
				damage = append(damage, d)
				continue
			}
			lines <- line
			return
		}
	}()
	select {
	case line := <-lines:
		if url, ok := strings.CutPrefix(line, "READY "); ok {
			fmt.Fprintf(o.f.Out, "tmux-orc daemon started (pid %d), listening on %s, data in %s\n", cmd.Process.Pid, url, dir)
			for _, d := range damage {
				fmt.Fprintf(o.f.Out, "STORE DAMAGE: %s (see tmux-orc pubsub status and %s)\n", d, dir.LogFile())
			}
			return nil
		}
		if msg, ok := strings.CutPrefix(line, "ERROR "); ok {
			<-exited
			if running, _ := dir.Running(); running {
				// Another start won the race for the data directory: report that daemon.
				return o.alreadyRunning(ctx, dir)
			}
			return errors.New(msg)
		}
		werr := <-exited
		return fmt.Errorf("the daemon exited during start (%v); see %s and %s", werr, dir.LogFile(), stderrPath)
	case <-time.After(startWait):
		if clustered {
			return fmt.Errorf("the daemon (pid %d) is running but not ready within %s: a cluster becomes ready once a majority of its nodes run (start the others); it keeps waiting; see %s", cmd.Process.Pid, startWait, dir.LogFile())
		}
		return fmt.Errorf("the daemon (pid %d) did not become ready within %s; see %s", cmd.Process.Pid, startWait, dir.LogFile())
	case <-ctx.Done():
		return ctx.Err()
	}
}
