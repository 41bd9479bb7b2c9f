package sshd

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// IP is the only address the server listens on.
const IP = "127.0.0.1"

// ErrUnavailable means sshd cannot run here (not root, or not installed).
var ErrUnavailable = errors.New("sshd: cannot run an ssh server here")

// NoSkipEnv names the environment variable that turns StartT's skip into a
// failure, for CI where the server must run.
const NoSkipEnv = "SERSYNC_TEST_NO_SKIP"

// Options configures Start; the zero value is fine.
type Options struct {
	// Bin is the sshd binary (default /usr/sbin/sshd; sshd wants an
	// absolute path to re-execute itself).
	Bin string
	// StartTimeout bounds the wait for the first accepted connection
	// (default 10s).
	StartTimeout time.Duration
	// LoginShell, when set, runs every remote command as
	// "LoginShell -c COMMAND", as sshd does for a user whose login shell it
	// is (e.g. /usr/bin/tcsh), without changing the user's passwd entry.
	LoginShell string
}

// Server is one running sshd.
type Server struct {
	Dir     string
	IP      string // "127.0.0.1"
	Port    int
	User    string // login name accepted (the current user)
	KeyFile string // client private key

	cmd  *exec.Cmd
	done chan struct{}
	err  error // cmd.Wait's result, valid after done
	once sync.Once
}

// Start creates keys and a configuration below dir (which must exist) and
// starts sshd -D -e on a free port. It returns when the server accepts TCP
// connections.
func Start(dir string, opts Options) (*Server, error) {
	if opts.Bin == "" {
		opts.Bin = "/usr/sbin/sshd"
	}
	if opts.StartTimeout <= 0 {
		opts.StartTimeout = 10 * time.Second
	}
	if os.Geteuid() != 0 {
		return nil, fmt.Errorf("%w: not running as root", ErrUnavailable)
	}
	if _, err := os.Stat(opts.Bin); err != nil {
		return nil, fmt.Errorf("%w: %v (install openssh-server)", ErrUnavailable, err)
	}
	keygen, err := exec.LookPath("ssh-keygen")
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	if _, err := exec.LookPath("ssh"); err != nil {
		return nil, fmt.Errorf("%w: %v (install openssh-client)", ErrUnavailable, err)
	}
	dir, err = filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("sshd: %w", err)
	}
	u, err := user.Current()
	if err != nil {
		return nil, fmt.Errorf("sshd: %w", err)
	}
	s := &Server{Dir: dir, IP: IP, User: u.Username, KeyFile: filepath.Join(dir, "id_ed25519")}

	hostKey := filepath.Join(dir, "ssh_host_ed25519_key")
	for _, k := range []string{hostKey, s.KeyFile} {
		out, err := exec.Command(keygen, "-q", "-t", "ed25519", "-N", "", "-C", "sersync-test", "-f", k).CombinedOutput()
		if err != nil {
			return nil, fmt.Errorf("sshd: ssh-keygen %s: %w: %s", k, err, out)
		}
	}
	pub, err := os.ReadFile(s.KeyFile + ".pub")
	if err != nil {
		return nil, fmt.Errorf("sshd: %w", err)
	}
	authKeys := filepath.Join(dir, "authorized_keys")
	if err := os.WriteFile(authKeys, pub, 0o600); err != nil {
		return nil, fmt.Errorf("sshd: %w", err)
	}
	// Privilege separation directory; sshd refuses to start without it.
	if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
		return nil, fmt.Errorf("sshd: %w", err)
	}

	var lastErr error
	for range 5 {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		s.Port = port
		cfg := filepath.Join(dir, "sshd_config")
		conf := strings.Join([]string{
			"Port " + strconv.Itoa(port),
			"ListenAddress " + IP,
			"HostKey " + hostKey,
			"PidFile none",
			"AuthorizedKeysFile " + authKeys,
			"PermitRootLogin prohibit-password",
			"PubkeyAuthentication yes",
			"PasswordAuthentication no",
			"KbdInteractiveAuthentication no",
			"StrictModes no",
			"UsePAM no",
			"PrintMotd no",
			"LogLevel ERROR",
		}, "\n") + "\n"
		if opts.LoginShell != "" {
			// sshd runs the forced command with the user's own shell,
			// which then hands the client's command to LoginShell as is.
			conf += "ForceCommand exec " + quote(opts.LoginShell) + ` -c "$SSH_ORIGINAL_COMMAND"` + "\n"
		}
		if err := os.WriteFile(cfg, []byte(conf), 0o600); err != nil {
			return nil, fmt.Errorf("sshd: %w", err)
		}
		if lastErr = s.start(opts.Bin, cfg, opts.StartTimeout); lastErr == nil {
			return s, nil
		}
	}
	return nil, lastErr
}

// StartT starts a server in t.TempDir() and closes it when the test ends.
// When sshd cannot run here it skips the test with the reason, unless
// SERSYNC_TEST_NO_SKIP=1, which makes it a failure.
func StartT(t testing.TB) *Server {
	t.Helper()
	return StartTWith(t, Options{})
}

// StartTWith is StartT with options.
func StartTWith(t testing.TB, opts Options) *Server {
	t.Helper()
	s, err := Start(t.TempDir(), opts)
	if errors.Is(err, ErrUnavailable) && os.Getenv(NoSkipEnv) != "1" {
		t.Skipf("skipping: %v (set %s=1 to fail instead)", err, NoSkipEnv)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("sshd: close: %v", err)
		}
	})
	return s
}

func (s *Server) start(bin, cfg string, timeout time.Duration) error {
	logf, err := os.OpenFile(filepath.Join(s.Dir, "sshd.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("sshd: %w", err)
	}
	defer logf.Close()
	cmd := exec.Command(bin, "-D", "-e", "-f", cfg)
	cmd.Stdout = logf
	cmd.Stderr = logf
	// Own process group: Close also kills the per-connection children.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("sshd: start %s: %w", bin, err)
	}
	s.cmd = cmd
	s.done = make(chan struct{})
	s.once = sync.Once{}
	go func() { // owned by s: Close kills the process and waits for done
		s.err = cmd.Wait()
		close(s.done)
	}()
	deadline := time.Now().Add(timeout)
	addr := net.JoinHostPort(s.IP, strconv.Itoa(s.Port))
	for {
		conn, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			conn.Close()
			return nil
		}
		select {
		case <-s.done:
			return fmt.Errorf("sshd: exited before accepting connections on %s (%v): %s", addr, s.err, s.logTail())
		case <-time.After(20 * time.Millisecond): // poll interval
		}
		if time.Now().After(deadline) {
			_ = s.Close()
			return fmt.Errorf("sshd: no connection on %s after %v: %s", addr, timeout, s.logTail())
		}
	}
}

func (s *Server) logTail() string {
	b, _ := os.ReadFile(filepath.Join(s.Dir, "sshd.log"))
	if len(b) > 2048 {
		b = b[len(b)-2048:]
	}
	return strings.TrimSpace(string(b))
}

// SSHCommand returns the remote-shell command for rsync -e (or a shell):
// ssh with the port, the client key, no host-key checking, batch mode.
// Paths are single-quoted when they need it (rsync's -e splitter honours
// quotes).
func (s *Server) SSHCommand() string { return s.SSHCommandPort(s.Port) }

// SSHCommandPort is SSHCommand for a connection to port on the server's
// address instead (a relay in front of the server).
func (s *Server) SSHCommandPort(port int) string {
	return strings.Join([]string{
		"ssh", "-p", strconv.Itoa(port), "-i", quote(s.KeyFile),
		"-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
		"-o", "BatchMode=yes", "-o", "LogLevel=ERROR",
	}, " ")
}

// Close kills the server and waits for it. It is idempotent.
func (s *Server) Close() error {
	s.once.Do(func() {
		_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
		_ = s.cmd.Process.Kill()
		<-s.done
	})
	return nil
}

func quote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_@%+=:,./-") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", net.JoinHostPort(IP, "0"))
	if err != nil {
		return 0, fmt.Errorf("sshd: find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
