package cli

import (
	"context"
	"os"
	"os/exec"
	"os/user"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/tmux-orc/tmux-orc/bus"
	"github.com/tmux-orc/tmux-orc/internal/home"
)

// factory hands commands what they share: streams, the data directory, the logger and a
// bus connection, each made when first needed.
type factory struct {
	IO
	homeFlag  string
	urlFlag   string
	credsFlag string
	tls       home.ClientTLS
	verbose   bool
	// hostFlag is a command's --host (the standalone bridge): the host its bus client
	// speaks for (see Host).
	hostFlag string

	logOnce  sync.Once
	log      *zap.Logger
	logLevel zapcore.Level
}

func newFactory(streams IO) *factory { return &factory{IO: streams, logLevel: zapcore.WarnLevel} }

// LogInfo raises the command's log level to info, for long-running commands (bridge).
// Call it before the first Log.
func (f *factory) LogInfo() { f.logLevel = zapcore.InfoLevel }

// Home resolves the data directory: --home, then TMUX_ORC_HOME, then ~/.tmux-orchestrator.
func (f *factory) Home() (home.Dir, error) {
	if f.homeFlag != "" {
		os.Setenv(home.EnvHome, f.homeFlag)
	}
	return home.Resolve()
}

// Log is the command's logger: warnings and errors on stderr (debug with --verbose).
func (f *factory) Log() *zap.Logger {
	f.logOnce.Do(func() {
		level := f.logLevel
		if f.verbose {
			level = zapcore.DebugLevel
		}
		enc := zap.NewDevelopmentEncoderConfig()
		if level > zapcore.InfoLevel {
			enc.TimeKey = ""
		}
		core := zapcore.NewCore(zapcore.NewConsoleEncoder(enc), zapcore.AddSync(f.Err), level)
		f.log = zap.New(core)
	})
	return f.log
}

func (f *factory) closeLog() {
	if f.log != nil {
		_ = f.log.Sync()
	}
}

// Connect connects to the daemon of the data directory (or --url / TMUX_ORC_URL).
func (f *factory) Connect(ctx context.Context) (*bus.Client, error) {
	dir, err := f.Home()
	if err != nil {
		return nil, err
	}
	var urls []string
	if f.urlFlag != "" {
		urls = strings.Split(f.urlFlag, ",")
	}
	return bus.Connect(ctx, bus.Options{Home: dir, URLs: urls, Creds: f.credsFlag, TLS: f.tls, Log: f.Log(), Name: "tmux-orc-cli", Host: f.Host()})
}

// Host is the host this command speaks for: --host where the command has it, else
// $TMUX_ORC_HOST, else the host name (see localHost).
func (f *factory) Host() string { return localHost(f.hostFlag) }

// Sender identifies who runs the command: the tmux window it runs in ("pm:1"), else
// user@host.
func (f *factory) Sender(ctx context.Context) string {
	if pane := os.Getenv("TMUX_PANE"); pane != "" {
		ctx, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		out, err := exec.CommandContext(ctx, "tmux", "display-message", "-p", "-t", pane, "#S:#I").Output()
		if s := strings.TrimSpace(string(out)); err == nil && s != "" {
			return s
		}
	}
	name := "unknown"
	if u, err := user.Current(); err == nil {
		name = u.Username
	}
	host, _ := os.Hostname()
	return name + "@" + host
}
