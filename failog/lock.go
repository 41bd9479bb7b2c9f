package failog

import (
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"
)

// ErrLockBusy is returned when another process held the failLog's lock
// for longer than Options.LockWait; the entries stay in memory.
var ErrLockBusy = errors.New("failog: failLog lock held by another process")

// DefaultLockWait is how long a write waits for the failLog's lock. A
// writer holds it while it reads, writes and fsyncs a file of at most a
// few hundred KiB per remote: far less than this, even on a slow disk.
const DefaultLockWait = time.Second

// busyBackoff is how long after a wait for the lock ran out the writes
// try it once without waiting: a lock held that long is held on purpose
// or by a stuck process, and the workers that record failures must not
// wait a LockWait each. Due and Close wait the full LockWait again.
const busyBackoff = 30 * time.Second

// LockFile returns the lock file the writers of the failLog at failLog
// serialise on, in dir (the state directory): one per failLog, shared by
// every configuration that names the same file. The failLog's own
// directory is no place for it: in /tmp any user could create it first
// and hold it.
func LockFile(dir, failLog string) string {
	return hashedName(dir, "sersync2-faillog-", failLog, ".lock")
}

// lock takes the writers' lock, an exclusive flock on the lock file,
// waiting at most wait. Without a state directory there is no lock: see
// Options.StateDir.
func (s *store) lock(wait time.Duration) (unlock func(), err error) {
	if s.lockFile == "" {
		return func() {}, nil
	}
	if err := mkdirState(s.stateDir); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(s.lockFile, os.O_RDWR|os.O_CREATE|syscall.O_NOFOLLOW|syscall.O_CLOEXEC|syscall.O_NONBLOCK, 0o600)
	if err != nil {
		return nil, fmt.Errorf("failog: lock file: %w", err)
	}
	if err := lockWithin(f, wait); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("%w: %s, waited %s", ErrLockBusy, s.lockFile, wait)
		}
		return nil, fmt.Errorf("failog: lock %s: %w", s.lockFile, err)
	}
	return func() { f.Close() }, nil // closing drops the lock
}

// nextWait returns how long the next write may wait for the lock: the
// full LockWait, or nothing while a recent wait ran out (busyBackoff).
func (s *store) nextWait() time.Duration {
	if s.backingOff() {
		return 0
	}
	return s.lockWait
}

// backingOff reports whether a recent wait for the lock ran out and the
// busyBackoff after it lasts.
func (s *store) backingOff() bool { return time.Now().Before(s.busyUntil) }

// endBackoff makes the next write wait the full LockWait again.
func (s *store) endBackoff() { s.busyUntil = time.Time{} }

// lockFailed notes a failed attempt at the lock that waited wait.
func (s *store) lockFailed(err error, wait time.Duration) {
	if errors.Is(err, ErrLockBusy) && wait > 0 {
		s.busyUntil = time.Now().Add(busyBackoff)
	}
}

// lockWithin takes an exclusive flock on f, trying again for up to wait.
func lockWithin(f *os.File, wait time.Duration) error {
	deadline := time.Now().Add(wait)
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if !errors.Is(err, syscall.EWOULDBLOCK) || !time.Now().Before(deadline) {
			return err
		}
		time.Sleep(20 * time.Millisecond) // polling a lock held elsewhere
	}
}

// mkdirState creates the state directory, owner only, if it is missing.
func mkdirState(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("failog: state directory: %w", err)
	}
	return nil
}
