package embedded

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/nats-io/nkeys"

	"github.com/tmux-orc/tmux-orc/internal/home"
)

// userKey returns the public key of the data directory's user, generating the NKey pair
// (seed stored with mode 0600) on first start.
func userKey(dir home.Dir) (string, error) {
	path := dir.CredentialsFile()
	seed, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		kp, err := nkeys.CreateUser()
		if err != nil {
			return "", fmt.Errorf("generating credentials: %w", err)
		}
		if seed, err = kp.Seed(); err != nil {
			return "", fmt.Errorf("generating credentials: %w", err)
		}
		if err := home.WriteFileAtomic(path, append(seed, '\n'), 0o600); err != nil {
			return "", err
		}
	} else if err != nil {
		return "", fmt.Errorf("reading credentials: %w", err)
	}
	kp, err := nkeys.ParseDecoratedNKey(seed)
	if err != nil {
		return "", fmt.Errorf("credentials file %s is malformed: %w", path, err)
	}
	pub, err := kp.PublicKey()
	if err != nil {
		return "", fmt.Errorf("credentials file %s is malformed: %w", path, err)
	}
	return pub, nil
}
