package main

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

	"golang.org/x/sys/unix"
)

// errAlreadyRunning is returned by lockConfig when another process holds
// the configuration file's lock.
var errAlreadyRunning = errors.New("another sersync2 already replicates with this configuration file")

// defaultLockDir is /run/lock where it exists (shared by every instance,
// also under systemd's PrivateTmp), else the temporary directory.
func defaultLockDir() string {
	if st, err := os.Stat("/run/lock"); err == nil && st.IsDir() && unix.Access("/run/lock", unix.W_OK) == nil {
		return "/run/lock"
	}
	return os.TempDir()
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

// lockConfig takes the lock of config (flock on a lock file in dir that
// holds the owner's pid) for as long as the process runs, and returns the
// function that gives it back. When another process holds it, the error
// names that process.
func lockConfig(dir, config string) (unlock func(), _ error) {
	path, err := lockPath(dir, config)
	if err != nil {
		return nil, fmt.Errorf("lock for %s: %w", config, err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("lock for %s: %w", config, err)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("lock for %s: %w", config, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		b, _ := os.ReadFile(path)
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			pid := strings.TrimSpace(string(b))
			if _, perr := strconv.Atoi(pid); perr != nil {
				pid = "unknown"
			}
			return nil, fmt.Errorf("%s: %w (pid %s; lock %s)", config, errAlreadyRunning, pid, path)
		}
		return nil, fmt.Errorf("lock %s for %s: %w", path, config, err)
	}
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return func() {
		// The file stays: removing it would let a third process lock a
		// new file while a second still waits on the old one.
		_ = f.Truncate(0)
		f.Close()
	}, nil
}
