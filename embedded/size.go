package embedded

import (
	"fmt"
	"strconv"
	"strings"
)

// Size is a byte count that YAML may write as a number or with a unit ("512MiB", "2GiB").
type Size int64

var units = []struct {
	suffix string
	mult   int64
}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40}, {"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"B", 1}}

// ParseSize parses "1048576", "512MiB" or "2GB".
func ParseSize(s string) (Size, error) {
	s = strings.TrimSpace(s)
	mult := int64(1)
	for _, u := range units {
		if strings.HasSuffix(s, u.suffix) {
			s, mult = strings.TrimSpace(strings.TrimSuffix(s, u.suffix)), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%w: size %q: want a number of bytes, optionally with KiB, MiB, GiB", ErrConfig, s)
	}
	return Size(n * mult), nil
}

// UnmarshalText lets YAML use units.
func (z *Size) UnmarshalText(b []byte) error {
	v, err := ParseSize(string(b))
	if err != nil {
		return err
	}
	*z = v
	return nil
}

// String renders the size with the largest exact binary unit.
func (z Size) String() string {
	switch {
	case z != 0 && z%(1<<30) == 0:
		return fmt.Sprintf("%dGiB", z>>30)
	case z != 0 && z%(1<<20) == 0:
		return fmt.Sprintf("%dMiB", z>>20)
	case z != 0 && z%(1<<10) == 0:
		return fmt.Sprintf("%dKiB", z>>10)
	}
	return fmt.Sprintf("%dB", int64(z))
}
