package failog

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// store is the failLog on disk: reading it with the checks on its type
// and owner, replacing it atomically, and the writers' lock in the state
// directory with its bounded wait (lock.go). It handles the file's bytes
// only; what the entries are is the set's business, their text file.go's.
// The Log calls it under its mutex.
type store struct {
	path     string
	stateDir string
	lockWait time.Duration
	log      *slog.Logger
	// lockFile is LockFile in stateDir, "" without one; busyUntil ends
	// the backoff after a wait for it ran out (nextWait).
	lockFile  string
	busyUntil time.Time
}

func newStore(path, stateDir string, lockWait time.Duration, log *slog.Logger) *store {
	s := &store{path: path, stateDir: stateDir, lockWait: lockWait, log: log}
	if stateDir != "" {
		s.lockFile = LockFile(stateDir, path)
	}
	return s
}

// removeTemps removes the temporary files of a write a crash interrupted;
// the caller holds the lock, so no other writer's are among them.
func (s *store) removeTemps() {
	des, err := os.ReadDir(filepath.Dir(s.path))
	if err != nil {
		return
	}
	for _, de := range des {
		if strings.HasPrefix(de.Name(), "."+filepath.Base(s.path)+".tmp") && de.Type().IsRegular() {
			os.Remove(filepath.Join(filepath.Dir(s.path), de.Name()))
		}
	}
}

// read returns the failLog's content ("" when it does not exist). It
// refuses a symbolic link or a non-regular file; a file of another owner
// is read as empty. At Open (first) a mode that lets others in is
// tightened to 0600 with a warning.
func (s *store) read(first bool) (string, error) {
	f, err := os.OpenFile(s.path, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_CLOEXEC|syscall.O_NONBLOCK, 0)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "", nil
	case errors.Is(err, syscall.ELOOP):
		return "", fmt.Errorf("failog: %s is a symbolic link; refusing to use it as the failLog", s.path)
	case err != nil:
		return "", fmt.Errorf("failog: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return "", fmt.Errorf("failog: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return "", fmt.Errorf("failog: %s is not a regular file (%s)", s.path, fi.Mode().Type())
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && int(st.Uid) != os.Geteuid() {
		if first {
			s.log.Warn("failLog owned by another user: its content is not read and the file is replaced",
				"file", s.path, "owner_uid", st.Uid)
		}
		return "", nil
	}
	if perm := fi.Mode().Perm(); first && perm&0o077 != 0 {
		if err := f.Chmod(0o600); err != nil {
			return "", fmt.Errorf("failog: tighten mode of %s: %w", s.path, err)
		}
		s.log.Warn("failLog was readable or writable by others; mode set to 0600", "file", s.path, "was", fmt.Sprintf("%04o", perm))
	}
	data, err := io.ReadAll(f)
	if err != nil {
		return "", fmt.Errorf("failog: read %s: %w", s.path, err)
	}
	return string(data), nil
}

// write replaces the file with data: a new file in the same directory,
// mode 0600, written and fsynced, renamed over the failLog, and the
// directory fsynced. Readers see the old or the new file, never a part.
func (s *store) write(data []byte) (err error) {
	dir, base := filepath.Split(s.path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp*")
	if err != nil {
		return fmt.Errorf("failog: write %s: %w", s.path, err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			os.Remove(tmp)
		}
	}()
	if err = f.Chmod(0o600); err == nil {
		if _, err = f.Write(data); err == nil {
			err = f.Sync()
		}
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, s.path)
	}
	if err != nil {
		return fmt.Errorf("failog: write %s: %w", s.path, err)
	}
	if d, derr := os.Open(dir); derr == nil {
		_ = d.Sync() // the rename is durable; best effort
		d.Close()
	}
	return nil
}
