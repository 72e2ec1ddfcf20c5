package metrics

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.uber.org/zap"
)

// DefaultListen is where the daemon serves /metrics unless told otherwise: next to the
// client port 14222.
const DefaultListen = "127.0.0.1:14223"

// Off, as a listen address, disables the metrics server (so does "").
const Off = "off"

// ErrListen is returned for a listen address that is malformed or not loopback.
var ErrListen = errors.New("invalid metrics listen address")

// ErrAddrInUse is returned when the listen address is taken.
var ErrAddrInUse = errors.New("metrics listen address already in use")

// Disabled reports whether addr turns the metrics server off.
func Disabled(addr string) bool { return addr == "" || addr == Off }

// ValidateListen accepts "", "off" and a loopback host:port (port 0 picks a free port).
// The endpoint has no authentication, so it is never served beyond the host.
func ValidateListen(addr string) error {
	if Disabled(addr) {
		return nil
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%w %q: want host:port, or \"off\"", ErrListen, addr)
	}
	if p, err := strconv.Atoi(port); err != nil || p < 0 || p > 65535 {
		return fmt.Errorf("%w %q: port must be 0-65535", ErrListen, addr)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("%w %q: only loopback addresses are allowed (the endpoint has no authentication)", ErrListen, addr)
	}
	return nil
}

// HealthFunc reports the embedded server's health: nil when ok.
type HealthFunc func() error

// Server serves /metrics and /healthz.
type Server struct {
	http *http.Server
	url  string
	done chan struct{}
}

// Serve listens on addr (loopback only) and serves the registry at /metrics and health at
// /healthz: 200 "ok" when health returns nil, else 503 with the reason.
func (m *Metrics) Serve(addr string, health HealthFunc, log *zap.Logger) (*Server, error) {
	if Disabled(addr) {
		return nil, fmt.Errorf("%w: the metrics server is off", ErrListen)
	}
	if err := ValidateListen(addr); err != nil {
		return nil, err
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		if errors.Is(err, syscall.EADDRINUSE) {
			return nil, fmt.Errorf("%w: %s (choose another with --metrics-listen or TMUX_ORC_METRICS_LISTEN, or \"off\")", ErrAddrInUse, addr)
		}
		return nil, fmt.Errorf("metrics: cannot listen on %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg, ErrorLog: zap.NewStdLog(log),
		Timeout: 30 * time.Second}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if err := health(); err != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintln(w, err)
			return
		}
		fmt.Fprintln(w, "ok")
	})
	listenHost, _, _ := net.SplitHostPort(addr)
	s := &Server{http: &http.Server{Handler: checkHost(listenHost, mux), ReadHeaderTimeout: 5 * time.Second}, done: make(chan struct{}),
		url: "http://" + l.Addr().String()}
	go func() {
		defer close(s.done)
		if err := s.http.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("metrics server", zap.Error(err))
		}
	}()
	log.Info("serving metrics", zap.String("url", s.URL()+"/metrics"))
	return s, nil
}

// URL is the server's base URL, e.g. http://127.0.0.1:14223 (the port chosen when 0 was asked).
func (s *Server) URL() string { return s.url }

// Shutdown stops accepting scrapes and waits for those in progress, at most until ctx ends.
func (s *Server) Shutdown(ctx context.Context) error {
	err := s.http.Shutdown(ctx)
	if err != nil {
		_ = s.http.Close()
	}
	<-s.done
	return err
}

// checkHost refuses (421 Misdirected Request) a request whose Host header names anything but
// a loopback address, "localhost" or the listen host: a web page the user opens cannot
// reach the endpoint by pointing its own domain at 127.0.0.1 (DNS rebinding).
func checkHost(listenHost string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !allowedHost(r.Host, listenHost) {
			http.Error(w, "metrics: Host header "+strconv.Quote(r.Host)+" is not this machine's loopback address", http.StatusMisdirectedRequest)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func allowedHost(hostHeader, listenHost string) bool {
	h := hostHeader
	if host, _, err := net.SplitHostPort(hostHeader); err == nil {
		h = host
	}
	h = strings.TrimSuffix(strings.TrimPrefix(h, "["), "]")
	if h == "" {
		return false
	}
	if strings.EqualFold(h, "localhost") || strings.EqualFold(h, "localhost.") || (listenHost != "" && strings.EqualFold(h, listenHost)) {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}
