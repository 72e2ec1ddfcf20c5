package embedded

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// RouteUser is the user name routes present with the cluster's route secret.
const RouteUser = "orc-route"

var routeSecretRE = regexp.MustCompile(`^[A-Za-z0-9_-]{24,256}$`)

// LoadRouteSecret reads the route secret at path, creating it (64 random hex digits, mode
// 0600) when it does not exist. Nodes started at once with the same path agree on one
// secret: the file is created by a hard link that fails when another node won the race.
// A secret readable by other users is refused.
func LoadRouteSecret(path string) (string, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		if err := createRouteSecret(path); err != nil {
			return "", err
		}
		b, err = os.ReadFile(path)
	}
	if err != nil {
		return "", fmt.Errorf("%w: cluster.secret_file: %w", ErrConfig, err)
	}
	if fi, err := os.Stat(path); err == nil && fi.Mode().Perm()&0o077 != 0 {
		return "", fmt.Errorf("%w: cluster.secret_file %s is readable by other users (mode %v); chmod 600 it", ErrConfig, path, fi.Mode().Perm())
	}
	secret := strings.TrimSpace(string(b))
	if !routeSecretRE.MatchString(secret) {
		return "", fmt.Errorf("%w: cluster.secret_file %s: want one line of 24-256 letters, digits, '-' or '_'", ErrConfig, path)
	}
	return secret, nil
}

func createRouteSecret(path string) error {
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return fmt.Errorf("creating the route secret: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("creating the route secret: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".route-secret-*")
	if err != nil {
		return fmt.Errorf("creating the route secret: %w", err)
	}
	defer os.Remove(tmp.Name())
	_, werr := tmp.WriteString(hex.EncodeToString(raw) + "\n")
	if err := errors.Join(werr, tmp.Sync(), tmp.Close()); err != nil {
		return fmt.Errorf("creating the route secret: %w", err)
	}
	if err := os.Link(tmp.Name(), path); err != nil && !errors.Is(err, os.ErrExist) {
		return fmt.Errorf("creating the route secret: %w", err)
	}
	return nil
}

// withRouteUser returns the route URL with the route user and secret, unless it names a
// user of its own.
func withRouteUser(route, secret string) string {
	u, err := url.Parse(route)
	if err != nil || u.User != nil {
		return route
	}
	u.User = url.UserPassword(RouteUser, secret)
	return u.String()
}

// RouteAuth says how routes authenticate, for the status.
func (c *Config) RouteAuth() string {
	switch {
	case !c.Cluster.Enabled():
		return ""
	case c.TLS.Enabled() && c.Cluster.SecretFile != "":
		return "mutual TLS and the route secret"
	case c.TLS.Enabled():
		return "mutual TLS"
	default:
		return "route secret, without TLS: loopback only"
	}
}
