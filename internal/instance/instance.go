package instance

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/sersync-go/sersync2/internal/safefile"
	"golang.org/x/sys/unix"
)

// ErrAlreadyRunning is returned by lockConfig when another process holds
// the configuration file's lock.
var ErrAlreadyRunning = errors.New("instance: another sersync2 already replicates with this configuration file")

// rootLockDir is the lock directory of root: under /run, which only root
// may write, so nobody can plant a file or a link where the lock goes.
const rootLockDir = "/run/sersync2"

// DefaultLockDir is the directory of the lock files without --lock-dir.
func DefaultLockDir() string {
	return lockDirFor(os.Geteuid(), os.Getenv("XDG_RUNTIME_DIR"), writableDir)
}

// lockDirFor picks the lock directory for user euid: rootLockDir for root;
// for another user the per-user runtime directory that systemd-logind
// makes (XDG_RUNTIME_DIR, mode 0700, emptied at logout like /run), which
// no other user can write; without one, /run/lock when writable, else the
// temporary directory. Those two are shared by every user (world-writable,
// sticky), which is why lock files are opened by openOwnFile.
func lockDirFor(euid int, runtimeDir string, writable func(string) bool) string {
	switch {
	case euid == 0:
		return rootLockDir
	case filepath.IsAbs(runtimeDir):
		return filepath.Join(runtimeDir, "sersync2")
	case writable("/run/lock"):
		return "/run/lock"
	}
	return os.TempDir()
}

func writableDir(dir string) bool {
	st, err := os.Stat(dir)
	return err == nil && st.IsDir() && unix.Access(dir, unix.W_OK) == nil
}

// lockDirMode is the mode a missing lock directory is made with: root's
// may be read by others (the pid in a lock file says who runs a
// configuration), another user's is private.
func lockDirMode() os.FileMode {
	if os.Geteuid() == 0 {
		return 0o755
	}
	return 0o700
}

// lockPath is the lock file of a configuration file: one per file,
// however it is named on the command line (symbolic links resolved).
func lockPath(dir, config string) (string, error) {
	abs, err := filepath.Abs(config)
	if err != nil {
		return "", err
	}
	if real, err := filepath.EvalSymlinks(abs); err == nil {
		abs = real
	}
	sum := sha256.Sum256([]byte(abs))
	return filepath.Join(dir, "sersync2-"+hex.EncodeToString(sum[:8])+".lock"), nil
}

// Lock takes the lock of config (flock on a lock file in dir that
// holds the owner's pid) for as long as the process runs, and returns the
// function that gives it back. When another process holds it, the error
// names that process.
func Lock(dir, config string) (unlock func(), _ error) {
	path, err := lockPath(dir, config)
	if err != nil {
		return nil, fmt.Errorf("lock for %s: %w", config, err)
	}
	if err := os.MkdirAll(filepath.Dir(path), lockDirMode()); err != nil {
		return nil, fmt.Errorf("lock for %s: %w", config, err)
	}
	f, err := openOwnFile(path)
	if err != nil {
		return nil, fmt.Errorf("lock for %s: %w", config, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		b := make([]byte, 32)
		n, _ := f.ReadAt(b, 0)
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			pid := strings.TrimSpace(string(b[:n]))
			if _, perr := strconv.Atoi(pid); perr != nil {
				pid = "unknown"
			}
			return nil, fmt.Errorf("%s: %w (pid %s; lock %s)", config, ErrAlreadyRunning, pid, path)
		}
		return nil, fmt.Errorf("lock %s for %s: %w", path, config, err)
	}
	_ = writePid(f)
	return func() {
		// The file stays: removing it would let a third process lock a
		// new file while a second still waits on the old one.
		_ = f.Truncate(0)
		f.Close()
	}, nil
}

// WritePidFile writes this process's id to path (--pidfile) and returns
// the function that removes the file again, if it is still the one
// written.
func WritePidFile(path string) (remove func(), _ error) {
	f, err := openOwnFile(path)
	if err != nil {
		return nil, fmt.Errorf("pid file: %w", err)
	}
	defer f.Close()
	if err := writePid(f); err != nil {
		return nil, fmt.Errorf("pid file %s: %w", path, err)
	}
	written, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("pid file %s: %w", path, err)
	}
	return func() {
		// The same inode still holding our pid: a file put there since
		// may have been given the inode number ours had.
		fi, err := os.Lstat(path)
		if err != nil || !os.SameFile(fi, written) {
			return
		}
		if b, err := os.ReadFile(path); err == nil && string(b) == pidLine() {
			_ = os.Remove(path)
		}
	}, nil
}

func pidLine() string { return strconv.Itoa(os.Getpid()) + "\n" }

// writePid replaces the content of f with this process's id; the old
// content is cut only after the new one is written, so that a reader never
// finds the file empty.
func writePid(f *os.File) error {
	b := []byte(pidLine())
	if _, err := f.WriteAt(b, 0); err != nil {
		return err
	}
	return f.Truncate(int64(len(b)))
}

// openOwnFile opens path for reading and writing, creating it (0644),
// through safefile: lock and pid files may live in a directory other users
// can write (/tmp, /run/lock), where a planted link, FIFO or file of
// another user is refused and left alone.
func openOwnFile(path string) (*os.File, error) {
	return safefile.Open(path, os.O_RDWR|os.O_CREATE, 0o644)
}
