package composetest_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// compose is the Compose command line: "docker compose" (v2) or "docker-compose" (v1, what
// Debian 12 ships).
var compose []string

// dockerErr says why Docker cannot be used here (nil when it can).
var dockerErr error

// requireDocker skips the test when Docker is unavailable, or fails it under CI.
func requireDocker(t *testing.T) {
	t.Helper()
	if dockerErr == nil {
		return
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("Docker is needed under CI and could not be set up: %v", dockerErr)
	}
	t.Skipf("Docker unavailable (%v); .ci/run installs and starts it", dockerErr)
}

// run runs a command with a time bound and returns its combined output.
func run(timeout time.Duration, env []string, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	if env != nil {
		cmd.Env = env
	}
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		err = fmt.Errorf("%s %s: timed out after %v", name, strings.Join(args, " "), timeout)
	}
	return string(out), err
}

func dockerUp() bool {
	_, err := run(20*time.Second, nil, "docker", "info")
	return err == nil
}

// setupDocker makes sure a Docker engine answers and a Compose command exists: it installs
// Debian's packages when they are missing and starts dockerd when it does not run. stop
// stops a dockerd it started.
func setupDocker(logDir string) (stop func(), err error) {
	stop = func() {}
	if !dockerUp() {
		if _, err := exec.LookPath("dockerd"); err != nil {
			if err := aptInstall("docker.io"); err != nil {
				return stop, err
			}
		}
		if stop, err = startDockerd(logDir); err != nil {
			return stop, err
		}
	}
	if compose, err = findCompose(); err != nil {
		if err := aptInstall("docker-compose"); err != nil {
			return stop, err
		}
		compose, err = findCompose()
	}
	return stop, err
}

func findCompose() ([]string, error) {
	if _, err := run(20*time.Second, nil, "docker", "compose", "version"); err == nil {
		return []string{"docker", "compose"}, nil
	}
	if _, err := run(20*time.Second, nil, "docker-compose", "version"); err == nil {
		return []string{"docker-compose"}, nil
	}
	return nil, errors.New("neither docker compose nor docker-compose runs")
}

func aptInstall(pkg string) error {
	if os.Geteuid() != 0 {
		return fmt.Errorf("%s is missing and installing it needs root", pkg)
	}
	if _, err := exec.LookPath("apt-get"); err != nil {
		return fmt.Errorf("%s is missing and there is no apt-get to install it", pkg)
	}
	env := append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
	if out, err := run(5*time.Minute, env, "apt-get", "update", "-qq"); err != nil {
		return fmt.Errorf("apt-get update: %v\n%s", err, out)
	}
	if out, err := run(10*time.Minute, env, "apt-get", "install", "-y", "-qq", pkg); err != nil {
		return fmt.Errorf("apt-get install %s: %v\n%s", pkg, err, out)
	}
	return nil
}

// startDockerd starts dockerd in its own session, logging to logDir, and waits up to 60 s
// for it to answer.
func startDockerd(logDir string) (stop func(), err error) {
	stop = func() {}
	log, err := os.Create(filepath.Join(logDir, "dockerd.log"))
	if err != nil {
		return stop, err
	}
	cmd := exec.Command("dockerd")
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		log.Close()
		return stop, fmt.Errorf("starting dockerd: %w", err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); log.Close(); close(exited) }()
	stop = func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	}
	deadline := time.Now().Add(60 * time.Second)
	for !dockerUp() {
		select {
		case <-exited:
			b, _ := os.ReadFile(log.Name())
			return func() {}, fmt.Errorf("dockerd exited at start:\n%s", tail(string(b), 2000))
		default:
		}
		if time.Now().After(deadline) {
			stop()
			return func() {}, errors.New("dockerd did not answer within 60s")
		}
		time.Sleep(500 * time.Millisecond)
	}
	return stop, nil
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
