package rsyncexec

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os/exec"
	"strconv"
	"strings"
)

// ErrTooOld is wrapped by Probe's error when rsync is older than
// MinVersion.
var ErrTooOld = errors.New("rsyncexec: rsync is too old (need 3.1.0 or newer for --ignore-missing-args and --from0 filter files)")

// MinVersion is the oldest rsync the commands of this package work with.
var MinVersion = Version{Major: 3, Minor: 1, Patch: 0}

// Version is an rsync release number and its protocol version.
type Version struct {
	Major, Minor, Patch int
	Protocol            int // 0 when not reported
}

func (v Version) String() string {
	s := fmt.Sprintf("%d.%d.%d", v.Major, v.Minor, v.Patch)
	if v.Protocol > 0 {
		s += " protocol " + strconv.Itoa(v.Protocol)
	}
	return s
}

// Less orders versions by release number (the protocol is ignored).
func (v Version) Less(o Version) bool {
	if v.Major != o.Major {
		return v.Major < o.Major
	}
	if v.Minor != o.Minor {
		return v.Minor < o.Minor
	}
	return v.Patch < o.Patch
}

// ParseVersion reads the first line of `rsync --version`, e.g.
// "rsync  version 3.2.7  protocol version 31" or "rsync  version v3.2.3
// protocol version 31". Suffixes such as "pre1" or "-dev" are ignored.
func ParseVersion(out string) (Version, error) {
	line, _, _ := strings.Cut(out, "\n")
	f := strings.Fields(line)
	var v Version
	found := false
	for i := 0; i+1 < len(f); i++ {
		switch {
		case f[i] == "version" && i > 0 && f[i-1] == "protocol":
			v.Protocol, _ = leadingInt(f[i+1])
		case f[i] == "version" && !found:
			nums := strings.SplitN(strings.TrimPrefix(f[i+1], "v"), ".", 3)
			var ok bool
			if v.Major, ok = leadingInt(nums[0]); !ok {
				return Version{}, fmt.Errorf("rsyncexec: cannot read the rsync version from %q", line)
			}
			if len(nums) > 1 {
				v.Minor, _ = leadingInt(nums[1])
			}
			if len(nums) > 2 {
				v.Patch, _ = leadingInt(nums[2])
			}
			found = true
		}
	}
	if !found || f[0] != "rsync" {
		return Version{}, fmt.Errorf("rsyncexec: cannot read the rsync version from %q", line)
	}
	return v, nil
}

func leadingInt(s string) (int, bool) {
	n := 0
	for n < len(s) && n < 9 && s[n] >= '0' && s[n] <= '9' {
		n++
	}
	if n == 0 {
		return 0, false
	}
	v, err := strconv.Atoi(s[:n])
	return v, err == nil
}

// Probe runs `bin --version` and returns the version; the error wraps
// ErrRsyncMissing when bin cannot be run and ErrTooOld when it is older
// than MinVersion.
func Probe(ctx context.Context, bin string) (Version, error) {
	if bin == "" {
		bin = "rsync"
	}
	out, err := exec.CommandContext(ctx, bin, "--version").Output()
	if err != nil {
		if errors.Is(err, exec.ErrNotFound) || errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrPermission) {
			return Version{}, fmt.Errorf("%w: %q: %w", ErrRsyncMissing, bin, err)
		}
		return Version{}, fmt.Errorf("rsyncexec: %s --version: %w", bin, err)
	}
	v, err := ParseVersion(string(bytes.TrimSpace(out)))
	if err != nil {
		return Version{}, err
	}
	if v.Less(MinVersion) {
		return v, fmt.Errorf("%w: %s is %s", ErrTooOld, bin, v)
	}
	return v, nil
}
