package rsyncd

import (
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// IP is the address the daemon listens on unless Options.IP names another
// loopback address.
const IP = "127.0.0.1"

// ErrNotRunning is returned by Restart after Close, and wrapped by the
// errors of a daemon that exited before it accepted connections.
var ErrNotRunning = errors.New("rsyncd: daemon not running")

// Options configures Start. The zero value gives one module "www" without
// authentication.
type Options struct {
	// Bin is the rsync binary (default "rsync" from PATH).
	Bin string
	// Modules are the module names (default ["www"]). Each module's path is
	// ModuleDir(name), created empty.
	Modules []string
	// Auth turns on "auth users" with a secrets file.
	Auth bool
	// User and Password are the credentials when Auth is on (defaults
	// "rsync_backup" and processPassword).
	User, Password string
	// IP is a loopback address to listen on (default 127.0.0.1); two
	// daemons on 127.0.0.1 and 127.0.0.2 can share one port, as the remotes
	// of one confxml.xml must.
	IP string
	// Port to listen on; 0 picks a free one.
	Port int
	// StartTimeout bounds the wait for the daemon to accept connections
	// (default 10s).
	StartTimeout time.Duration
}

// Daemon is one running rsync daemon.
type Daemon struct {
	Dir  string // everything lives below it
	IP   string // a loopback address, 127.0.0.1 by default
	Port int
	// User is the auth user ("" without auth); PasswordFile is a client-side
	// file holding the password, mode 0600 ("" without auth).
	User         string
	PasswordFile string
	ConfigFile   string
	LogFile      string

	bin     string
	timeout time.Duration
	opts    Options

	mu       sync.Mutex
	readOnly map[string]bool // modules made read-only by SetReadOnly
	proc     *process
	closed   bool
}

type process struct {
	cmd  *exec.Cmd
	done chan struct{} // closed when cmd.Wait returned
	err  error         // cmd.Wait's result, valid after done
}

// Addr returns "127.0.0.1:PORT".
func (d *Daemon) Addr() string { return net.JoinHostPort(d.IP, strconv.Itoa(d.Port)) }

// ModuleDir returns the directory served as module name.
func (d *Daemon) ModuleDir(name string) string { return filepath.Join(d.Dir, "modules", name) }

// Start writes the configuration below dir (which must exist) and starts the
// daemon on a free port. It returns once the daemon accepts TCP connections.
func Start(dir string, opts Options) (*Daemon, error) {
	if opts.Bin == "" {
		opts.Bin = "rsync"
	}
	if len(opts.Modules) == 0 {
		opts.Modules = []string{"www"}
	}
	if opts.StartTimeout <= 0 {
		opts.StartTimeout = 10 * time.Second
	}
	if opts.IP == "" {
		opts.IP = IP
	}
	if ip := net.ParseIP(opts.IP); ip == nil || !ip.IsLoopback() {
		return nil, fmt.Errorf("rsyncd: %q is not a loopback address", opts.IP)
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("rsyncd: %w", err)
	}
	d := &Daemon{
		Dir:        dir,
		IP:         opts.IP,
		ConfigFile: filepath.Join(dir, "rsyncd.conf"),
		LogFile:    filepath.Join(dir, "rsyncd.log"),
		bin:        opts.Bin,
		timeout:    opts.StartTimeout,
	}
	d.opts = opts
	if err := d.writeConfig(opts); err != nil {
		return nil, err
	}
	// A port found free may be taken before the daemon binds it: retry
	// with another one when the daemon exits early.
	if opts.Port != 0 {
		d.Port = opts.Port
		if err := d.start(); err != nil {
			return nil, err
		}
		return d, nil
	}
	var lastErr error
	for range 5 {
		port, err := freePort(d.IP)
		if err != nil {
			return nil, err
		}
		d.Port = port
		if lastErr = d.start(); lastErr == nil {
			return d, nil
		}
	}
	return nil, lastErr
}

// StartT starts a daemon in t.TempDir() and closes it when the test ends.
// It fails the test when the daemon cannot start.
func StartT(t testing.TB, opts Options) *Daemon {
	t.Helper()
	d, err := Start(t.TempDir(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := d.Close(); err != nil {
			t.Errorf("rsyncd: close: %v", err)
		}
	})
	return d
}

func (d *Daemon) writeConfig(opts Options) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# written by internal/rsyncd\n")
	fmt.Fprintf(&b, "use chroot = no\nread only = no\nmunge symlinks = no\nreverse lookup = no\n")
	fmt.Fprintf(&b, "log file = %s\n", d.LogFile)
	// One "recv <module> <path>" line per file received: tests count
	// transfers of a path with Transfers.
	fmt.Fprintf(&b, "transfer logging = yes\nlog format = %%o %%m %%f\n")
	if os.Geteuid() == 0 {
		fmt.Fprintf(&b, "uid = root\ngid = root\n")
	}
	if opts.Auth {
		d.User = opts.User
		if d.User == "" {
			d.User = "rsync_backup"
		}
		pw := opts.Password
		if pw == "" {
			pw = processPassword
		}
		secrets := filepath.Join(d.Dir, "rsyncd.secrets")
		if d.PasswordFile == "" { // written once: a running daemon may be reading it
			if err := os.WriteFile(secrets, []byte(d.User+":"+pw+"\n"), 0o600); err != nil {
				return fmt.Errorf("rsyncd: %w", err)
			}
			d.PasswordFile = filepath.Join(d.Dir, "client.password")
			if err := os.WriteFile(d.PasswordFile, []byte(pw+"\n"), 0o600); err != nil {
				return fmt.Errorf("rsyncd: %w", err)
			}
		}
		fmt.Fprintf(&b, "auth users = %s\nsecrets file = %s\nstrict modes = yes\n", d.User, secrets)
	}
	for _, m := range opts.Modules {
		if m == "" || strings.ContainsAny(m, "[]/\n") {
			return fmt.Errorf("rsyncd: bad module name %q", m)
		}
		if err := os.MkdirAll(d.ModuleDir(m), 0o755); err != nil {
			return fmt.Errorf("rsyncd: %w", err)
		}
		fmt.Fprintf(&b, "\n[%s]\npath = %s\n", m, d.ModuleDir(m))
		d.mu.Lock()
		if d.readOnly[m] {
			fmt.Fprintf(&b, "read only = yes\n")
		}
		d.mu.Unlock()
	}
	tmp := d.ConfigFile + ".new"
	if err := os.WriteFile(tmp, []byte(b.String()), 0o600); err != nil {
		return fmt.Errorf("rsyncd: %w", err)
	}
	if err := os.Rename(tmp, d.ConfigFile); err != nil {
		return fmt.Errorf("rsyncd: %w", err)
	}
	return nil
}

// SetReadOnly makes module refuse uploads (rsync exits 5 or 23 on the
// client) or accept them again. The daemon reads its configuration anew
// for every connection, so it takes effect for the next client without a
// restart. The file is replaced by a rename, so a connection never reads
// half of it.
func (d *Daemon) SetReadOnly(module string, ro bool) error {
	d.mu.Lock()
	if d.readOnly == nil {
		d.readOnly = map[string]bool{}
	}
	d.readOnly[module] = ro
	d.mu.Unlock()
	return d.writeConfig(d.opts)
}

// start runs the daemon on d.Port and waits until it accepts connections or
// exits. The caller must not hold d.mu.
func (d *Daemon) start() error {
	stderr, err := os.OpenFile(filepath.Join(d.Dir, "daemon.stderr"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("rsyncd: %w", err)
	}
	defer stderr.Close() // the child has its own copy
	cmd := exec.Command(d.bin, "--daemon", "--no-detach",
		"--config="+d.ConfigFile, "--port="+strconv.Itoa(d.Port), "--address="+d.IP)
	cmd.Dir = d.Dir
	cmd.Stdout = stderr
	cmd.Stderr = stderr
	// Its own process group, so that Stop also kills the per-connection
	// children the daemon forks.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("rsyncd: start %s: %w", d.bin, err)
	}
	p := &process{cmd: cmd, done: make(chan struct{})}
	go func() { // owned by p: Stop kills the process and waits for done
		p.err = cmd.Wait()
		close(p.done)
	}()
	d.mu.Lock()
	d.proc = p
	d.mu.Unlock()

	deadline := time.Now().Add(d.timeout)
	for {
		conn, err := net.DialTimeout("tcp", d.Addr(), 200*time.Millisecond)
		if err == nil {
			conn.Close()
			return nil
		}
		select {
		case <-p.done:
			return fmt.Errorf("%w: exited before accepting connections on %s (%v): %s",
				ErrNotRunning, d.Addr(), p.err, d.tail())
		case <-time.After(20 * time.Millisecond): // poll interval, not synchronisation
		}
		if time.Now().After(deadline) {
			_ = d.Stop()
			return fmt.Errorf("rsyncd: no connection on %s after %v: %s", d.Addr(), d.timeout, d.tail())
		}
	}
}

// Transfers returns how many times the daemon received the file rel of
// module (as its transfer log says so far).
func (d *Daemon) Transfers(module, rel string) (int, error) {
	b, err := os.ReadFile(d.LogFile)
	if err != nil {
		return 0, fmt.Errorf("rsyncd: transfer log: %w", err)
	}
	want := "recv " + module + " " + rel
	n := 0
	for _, line := range strings.Split(string(b), "\n") {
		if i := strings.Index(line, "] "); i >= 0 {
			line = line[i+2:]
		}
		if line == want {
			n++
		}
	}
	return n, nil
}

// tail returns the end of the daemon's stderr and log file, for errors.
func (d *Daemon) tail() string {
	var parts []string
	for _, f := range []string{filepath.Join(d.Dir, "daemon.stderr"), d.LogFile} {
		b, err := os.ReadFile(f)
		if err != nil || len(b) == 0 {
			continue
		}
		if len(b) > 2048 {
			b = b[len(b)-2048:]
		}
		parts = append(parts, strings.TrimSpace(string(b)))
	}
	return strings.Join(parts, " | ")
}

// Stop kills the daemon and waits for it to exit. Clients then get
// "connection refused". Stopping a stopped daemon is a no-op.
func (d *Daemon) Stop() error {
	d.mu.Lock()
	p := d.proc
	d.proc = nil
	d.mu.Unlock()
	if p == nil {
		return nil
	}
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	_ = p.cmd.Process.Kill() // in case the group kill was refused
	<-p.done
	return nil
}

// Restart stops the daemon if it runs and starts it again on the same port.
func (d *Daemon) Restart() error {
	d.mu.Lock()
	closed := d.closed
	d.mu.Unlock()
	if closed {
		return ErrNotRunning
	}
	if err := d.Stop(); err != nil {
		return err
	}
	// The port was just released; a new bind can race with lingering
	// connections, so retry within the start timeout.
	deadline := time.Now().Add(d.timeout)
	for {
		err := d.start()
		if err == nil || !errors.Is(err, ErrNotRunning) || time.Now().After(deadline) {
			return err
		}
		<-time.After(50 * time.Millisecond) // pause between attempts
	}
}

// Close stops the daemon for good. It is idempotent.
func (d *Daemon) Close() error {
	d.mu.Lock()
	d.closed = true
	d.mu.Unlock()
	return d.Stop()
}

// Running reports whether the daemon process is alive.
func (d *Daemon) Running() bool {
	d.mu.Lock()
	p := d.proc
	d.mu.Unlock()
	if p == nil {
		return false
	}
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// processPassword is the default password of this process's daemons: one
// for all of them, since a configuration has one password file for all its
// remotes, and another in each test binary, so that a client of another
// package's test that finds a daemon of this one on the port its own daemon
// had is refused.
var processPassword = rand.Text()

// taken are the ports every daemon of this process has had: a daemon
// stopped for a test's outage is restarted on its port, and meanwhile the
// kernel may offer that free port to a new daemon, whose files the first
// test's sersync2 would then write. freePort never hands one out twice.
var taken struct {
	sync.Mutex
	ports map[int]bool
}

func freePort(ip string) (int, error) {
	taken.Lock()
	defer taken.Unlock()
	if taken.ports == nil {
		taken.ports = map[int]bool{}
	}
	for range 100 {
		l, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
		if err != nil {
			return 0, fmt.Errorf("rsyncd: find a free port: %w", err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		l.Close()
		if !taken.ports[port] {
			taken.ports[port] = true
			return port, nil
		}
	}
	return 0, errors.New("rsyncd: find a free port: only ports other daemons had were offered")
}
