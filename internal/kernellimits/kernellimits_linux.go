package kernellimits

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// kernelLimit is one /proc/sys/fs/inotify value the original forced at start.
type kernelLimit struct {
	name string // sysctl name
	file string
	want int64
}

var kernelLimits = []kernelLimit{
	{"fs.inotify.max_user_watches", "/proc/sys/fs/inotify/max_user_watches", 50000000},
	{"fs.inotify.max_queued_events", "/proc/sys/fs/inotify/max_queued_events", 327679},
}

// Raise keeps the original's effect honestly (it wrote both limits at
// every start, lowering them too; docs/compat.md, "Command line"): it
// raises a limit only when it is lower than the original's value, never
// lowers one, and says what it did. stdout gets the original's
// "execute：…" line only when the value is really written.
//
// root is "/" in production; tests point it at a directory holding fake
// proc/sys/fs/inotify files instead of changing the machine's settings.
func Raise(stdout io.Writer, log *slog.Logger, enabled bool, root string) {
	for _, l := range kernelLimits {
		file := filepath.Join(root, l.file)
		cur, err := readLimit(file)
		if err != nil {
			log.Warn("cannot read inotify limit", "sysctl", l.name, "err", err)
			continue
		}
		if cur >= l.want {
			fmt.Fprintf(stdout, "keep：%s = %d (>= %d)\n", l.name, cur, l.want)
			continue
		}
		if !enabled {
			log.Warn("inotify limit below the original's value; not raised (--no-tune-kernel)", "sysctl", l.name, "value", cur, "suggested", l.want)
			continue
		}
		if !canWrite(file) {
			log.Warn("inotify limit below the original's value and not writable here; as root run: sysctl -w "+l.name+"="+strconv.FormatInt(l.want, 10),
				"sysctl", l.name, "value", cur)
			continue
		}
		fmt.Fprintf(stdout, "execute：echo %d > %s\n", l.want, l.file)
		if err := os.WriteFile(file, []byte(strconv.FormatInt(l.want, 10)+"\n"), 0o644); err != nil {
			log.Warn("cannot raise inotify limit", "sysctl", l.name, "err", err)
			continue
		}
		log.Info("raised inotify limit", "sysctl", l.name, "from", cur, "to", l.want)
	}
}

// Unneeded says that the limits are left as they are, and why: nothing
// this process watches takes an inotify watch. It reads and writes
// nothing.
func Unneeded(stdout io.Writer, why string) {
	names := make([]string, len(kernelLimits))
	for i, l := range kernelLimits {
		names[i] = l.name
	}
	fmt.Fprintf(stdout, "keep：%s as they are: %s\n", strings.Join(names, ", "), why)
}

// canWrite reports whether this process may write the sysctl file.
func canWrite(file string) bool {
	return unix.Access(file, unix.W_OK) == nil
}

func readLimit(file string) (int64, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return 0, err
	}
	return strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
}
