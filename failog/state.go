package failog

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// ErrStateLocked is returned by OpenState when another running process
// holds the state file (the same configuration started twice).
var ErrStateLocked = errors.New("failog: state file in use by another sersync2")

// Previous is what the state file says about the run before this one.
type Previous struct {
	// Unclean is true when that run did not stop cleanly: it was killed
	// (kill -9, OOM), crashed, or the machine lost power.
	Unclean bool
	// First is true when there was no state file: nothing is known.
	First bool
	// Detail describes the previous run for the log ("pid 123 started
	// 2026-11-26T10:00:00Z did not stop cleanly").
	Detail string
}

// State is the open state file of a running sersync2; it stays locked
// until Close.
type State struct {
	f   *os.File
	pid int
}

// StateFile returns the state file for a configuration file in dir: one
// per configuration, since operators run one sersync2 per confxml.xml.
// The name holds a hash of the configuration's absolute path.
func StateFile(dir, config string) string {
	return hashedName(dir, "sersync2-", config, ".state")
}

// hashedName returns dir/PREFIX HASH EXT, HASH standing for the absolute
// form of path.
func hashedName(dir, prefix, path, ext string) string {
	abs, err := filepath.Abs(path)
	if err != nil {
		abs = path
	}
	sum := sha256.Sum256([]byte(abs))
	return filepath.Join(dir, prefix+hex.EncodeToString(sum[:8])+ext)
}

// OpenState opens (creating it and its directory if needed) and locks the
// state file at path, reports what it says about the previous run, and
// marks this run as running: until MarkClean, a later start will find
// this run unclean. A file it cannot make sense of counts as unclean.
func OpenState(path string) (_ *State, prev Previous, err error) {
	if err := mkdirState(filepath.Dir(path)); err != nil {
		return nil, prev, err
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|syscall.O_NOFOLLOW|syscall.O_CLOEXEC, 0o600)
	if err != nil {
		return nil, prev, fmt.Errorf("failog: state file: %w", err)
	}
	defer func() {
		if err != nil {
			f.Close()
		}
	}()
	if err := lockWithin(f, lockWait); err != nil {
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, prev, fmt.Errorf("%w: %s", ErrStateLocked, path)
		}
		return nil, prev, fmt.Errorf("failog: lock state file %s: %w", path, err)
	}
	data, err := io.ReadAll(io.LimitReader(f, 4096))
	if err != nil {
		return nil, prev, fmt.Errorf("failog: read state file %s: %w", path, err)
	}
	prev = describe(string(data))
	s := &State{f: f, pid: os.Getpid()}
	if err := s.write("running pid=" + strconv.Itoa(s.pid) + " started=" + time.Now().UTC().Format(time.RFC3339)); err != nil {
		return nil, prev, err
	}
	if d, err := os.Open(filepath.Dir(path)); err == nil {
		_ = d.Sync() // a newly created file survives a power cut
		d.Close()
	}
	return s, prev, nil
}

// lockWait is how long OpenState waits for the lock: a process that just
// stopped, or a child forked by one between its fork and exec, may hold it
// for a moment.
const lockWait = 2 * time.Second

// describe reads a state file's content.
func describe(s string) Previous {
	s = strings.TrimSpace(s)
	fields := strings.Fields(s)
	switch {
	case s == "":
		return Previous{First: true, Detail: "no earlier run recorded"}
	case fields[0] == "clean":
		return Previous{Detail: "stopped cleanly (" + strings.Join(fields[1:], " ") + ")"}
	case fields[0] == "running":
		return Previous{Unclean: true, Detail: "did not stop cleanly (" + strings.Join(fields[1:], " ") + ")"}
	}
	return Previous{Unclean: true, Detail: "state file unreadable: " + strconv.Quote(firstLine(s))}
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	if len(s) > 80 {
		s = s[:80]
	}
	return s
}

// MarkClean records a clean stop: everything accepted was synced or is in
// the failLog. Call it last, just before Close.
func (s *State) MarkClean() error {
	return s.write("clean pid=" + strconv.Itoa(s.pid) + " stopped=" + time.Now().UTC().Format(time.RFC3339))
}

// write replaces the content with line and fsyncs it. It writes over
// the old content first and cuts what is left after it, so the file is
// never empty in between (an empty file would read as a first start). The
// line is far below one disk sector; a state file that still came out
// garbled counts as unclean, the safe side.
func (s *State) write(line string) error {
	b := []byte(line + "\n")
	if _, err := s.f.WriteAt(b, 0); err != nil {
		return fmt.Errorf("failog: state file: %w", err)
	}
	if err := s.f.Truncate(int64(len(b))); err != nil {
		return fmt.Errorf("failog: state file: %w", err)
	}
	if err := s.f.Sync(); err != nil {
		return fmt.Errorf("failog: state file: %w", err)
	}
	return nil
}

// Close releases the state file's lock. Without MarkClean before it, the
// next start treats this run as unclean.
func (s *State) Close() error { return s.f.Close() }
