package replicate

import (
	"os"
	"path/filepath"
)

// DefaultStateDirText says what DefaultStateDir picks, for the help.
const DefaultStateDirText = "/var/lib/sersync2 as root, else $XDG_STATE_HOME/sersync2 or ~/.local/state/sersync2"

// DefaultStateDir is the state directory (Options.StateDir) when the
// operator names none: a directory that survives a reboot (not /tmp,
// which may be emptied by one).
func DefaultStateDir() string {
	if os.Geteuid() == 0 {
		return "/var/lib/sersync2"
	}
	if d := os.Getenv("XDG_STATE_HOME"); filepath.IsAbs(d) {
		return filepath.Join(d, "sersync2")
	}
	if h, err := os.UserHomeDir(); err == nil {
		return filepath.Join(h, ".local", "state", "sersync2")
	}
	return "/var/lib/sersync2"
}
