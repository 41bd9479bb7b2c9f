package rsyncexec

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/sersync-go/sersync2/internal/shellwords"
	"github.com/sersync-go/sersync2/queue"
)

// moveScriptMax bounds the remote command of one ssh session. Linux takes
// at most 128 KiB for one argument of exec (MAX_ARG_STRLEN), and the
// command is one argument both of the local ssh and of the remote shell
// (sh -c COMMAND); longer lists of moves are split into several sessions.
const moveScriptMax = 64 << 10

// MoveSession is one ssh session that renames paths on the remote of a
// target, in order (see MoveSessions).
type MoveSession struct {
	// Argv is the local command: the <ssh> command's words, "-l USER"
	// when auth names a user, the host, then the remote command as one
	// word.
	Argv []string
	// Moves are the renames the remote command runs, in order; it prints
	// one line with mv's exit status for each.
	Moves []queue.Move
}

// String returns the session as one line for a person to read (or paste
// into bash): every word quoted, control bytes and bytes that are not
// UTF-8 in the $'…' form.
func (s MoveSession) String() string { return shellwords.JoinLine(s.Argv) }

// MoveSessions builds the ssh sessions that rename moves on the remote of
// t, in order, as lsyncd's rsyncssh does:
//
//	SSH [-l USER] HOST 'cd -- MODULE || exit 1; [mkdir -p -- PARENT && ]mv -T -- FROM TO; echo $?; …'
//
// SSH is the <ssh command> split as confxml splits it ("ssh" when empty),
// USER and HOST are those rsync gives ssh for the destination (an IPv6
// literal without brackets). Paths are relative to the module path, as the
// -R paths of the rsync runs are; the module path is quoted as a shell
// word except for a leading "~" or "~user", which the remote shell expands
// as it would in rsync's own remote command, and a relative one gets "./"
// so that CDPATH cannot send the cd elsewhere. Every name is quoted by
// shellwords.Quote: spaces, quotes, $(…), ;, newlines and bytes that are
// not UTF-8 reach mv as data. "--" keeps a name starting with '-' from
// being an option. mv -T (GNU coreutils, busybox) never moves into an
// existing directory: onto an existing one it replaces it only when that
// is empty, and fails otherwise; where mv has no -T it fails at once.
//
// The moves are separated by ';', not '&&': each is independent, and a
// failed one (its source never reached the remote, its target is a
// non-empty directory) says nothing about the next, so stopping would only
// make rsync send the data of the rest. Whatever subset succeeds, a move
// touches only its FROM and TO, which the batch's remove and update runs
// make equal to the local tree afterwards. Lists longer than a remote
// command may be are split into several sessions, run one after the other.
func MoveSessions(t Target, moves []queue.Move) ([]MoveSession, error) {
	words, err := sshWords(t)
	if err != nil {
		return nil, err
	}
	prefix := "cd -- " + remoteDir(t.Remote.Name) + " || exit 1"
	var out []MoveSession
	var b strings.Builder
	var cur []queue.Move
	made := map[string]bool{} // parents made earlier in the session
	flush := func() {
		if len(cur) > 0 {
			out = append(out, MoveSession{Argv: append(words[:len(words):len(words)], b.String()), Moves: cur})
		}
		cur = nil
		b.Reset()
		clear(made)
	}
	for _, m := range moves {
		step := moveStep(m, made)
		if len(cur) > 0 && b.Len()+len(step) > moveScriptMax {
			flush()
			step = moveStep(m, made)
		}
		if len(cur) == 0 {
			b.WriteString(prefix)
		}
		b.WriteString(step)
		made[path.Dir(m.To)] = true
		cur = append(cur, m)
	}
	flush()
	return out, nil
}

// moveStep returns the part of a remote command that runs m and prints
// its status: the destination's parent is made first (mkdir -p) unless
// the session made it already, since the remote may not have it yet (mkdir
// new; mv f new/ in one batch); the update run would make it anyway.
func moveStep(m queue.Move, made map[string]bool) string {
	mkdir := ""
	if dir := path.Dir(m.To); dir != "." && !made[dir] {
		mkdir = "mkdir -p -- " + shellwords.Quote(dir) + " && "
	}
	return "; " + mkdir + "mv -T -- " + shellwords.Quote(m.From) + " " + shellwords.Quote(m.To) + "; echo $?"
}

// sshWords returns the local words of a session before the remote command:
// the <ssh> command, -l USER, HOST (what rsync passes its remote shell for
// the destination Destination(t)).
func sshWords(t Target) ([]string, error) {
	cmd := strings.TrimSpace(t.Rsync.SSH.Command)
	if cmd == "" {
		cmd = "ssh"
	}
	words, err := shellwords.Split(cmd)
	if err != nil {
		return nil, fmt.Errorf("rsyncexec: <ssh command> %q: %w", cmd, err)
	}
	if len(words) == 0 {
		words = []string{"ssh"}
	}
	if t.Rsync.Auth.Enabled && t.Rsync.Auth.Users != "" {
		words = append(words, "-l", t.Rsync.Auth.Users)
	}
	host := strings.TrimSuffix(strings.TrimPrefix(t.Remote.IP, "["), "]")
	return append(words, host), nil
}

// remoteDir returns the module path as a word of the remote command (see
// MoveSessions).
func remoteDir(name string) string {
	switch {
	case name == "":
		return "." // host: is the login directory, as for rsync
	case strings.HasPrefix(name, "/"):
		return shellwords.Quote(name)
	case strings.HasPrefix(name, "~"):
		head, rest, slash := strings.Cut(name, "/")
		if tildeSafe(head[1:]) {
			if !slash {
				return head
			}
			return head + "/" + shellwords.Quote(rest) // the slash unquoted: "~" stays a tilde-prefix
		}
	}
	return shellwords.Quote("./" + name)
}

// tildeSafe reports whether user may follow '~' unquoted: a login name of
// letters, digits, '.', '_' and '-' (or none, for the login directory).
func tildeSafe(user string) bool {
	for i := 0; i < len(user); i++ {
		c := user[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// runMoves renames the usable moves of a batch on the remote of t before
// its runs (see Run) and returns how many were done and how many failed.
func (r *Runner) runMoves(ctx context.Context, t Target, moves []queue.Move, opts RunOptions) (done, failed int) {
	if opts.NoMoves || !t.Rsync.SSH.Enabled || !t.Delete || len(moves) == 0 {
		return 0, 0
	}
	use := make([]queue.Move, 0, len(moves))
	for _, m := range moves {
		if u, ok := usableMove(t, m); ok {
			use = append(use, u)
		} else {
			r.log.Debug("remote move left out", "dest", Destination(t), "from", m.From, "to", m.To)
		}
	}
	sessions, err := MoveSessions(t, use)
	if err != nil {
		r.log.Debug("remote moves not run", "dest", Destination(t), "moves", len(use), "err", err)
		return 0, 0
	}
	for _, s := range sessions {
		n := r.execMoves(ctx, t, s, opts)
		done += n
		failed += len(s.Moves) - n
	}
	return done, failed
}

// usableMove returns m with clean paths, or false when it must not run
// on the remote: a path that is not a clean relative one, the same path
// twice, a path the filter excludes (its remote copy is not ours to move),
// or a destination that no longer exists locally (the batch removes it).
func usableMove(t Target, m queue.Move) (queue.Move, bool) {
	from, err1 := cleanRel(m.From)
	to, err2 := cleanRel(m.To)
	if err1 != nil || err2 != nil || from == to {
		return m, false
	}
	if t.Exclude != nil && (t.Exclude(from, m.Dir) || t.Exclude(to, m.Dir)) {
		return m, false
	}
	if _, err := os.Lstat(filepath.Join(t.Root, to)); err != nil {
		return m, false
	}
	return queue.Move{From: from, To: to, Dir: m.Dir}, true
}

// execMoves runs one session and returns how many of its moves were done.
// Nothing about it is an error of the batch: a session that fails, times
// out (<timeout>, when set, bounds the whole session) or reports a failed
// mv is logged at debug level.
func (r *Runner) execMoves(ctx context.Context, t Target, s MoveSession, opts RunOptions) int {
	if err := r.acquire(ctx); err != nil {
		return 0
	}
	defer r.release()
	if to := t.Rsync.Timeout; to.Enabled && to.Seconds > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, time.Duration(to.Seconds)*time.Second)
		defer cancel()
	}
	cmd := exec.CommandContext(ctx, s.Argv[0], s.Argv[1:]...)
	cmd.Dir = t.Root
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = waitDelay
	var out bytes.Buffer
	tail := &tailBuffer{max: stderrTail}
	cmd.Stdout, cmd.Stderr = &out, tail
	if w := opts.Echo; w != nil {
		fmt.Fprintln(w, s.String())
		cmd.Stdout, cmd.Stderr = io.MultiWriter(&out, w), io.MultiWriter(tail, w)
	}
	start := time.Now()
	err := cmd.Run()
	codes := statusLines(out.String())
	done := 0
	for i, m := range s.Moves {
		code := -1 // the session ended before this move
		if i < len(codes) {
			code = codes[i]
		}
		if code == 0 {
			done++
			continue
		}
		r.log.Debug("remote move failed; the runs send it", "dest", Destination(t), "from", m.From, "to", m.To, "status", code)
	}
	r.log.Debug("remote moves", "dest", Destination(t), "done", done, "failed", len(s.Moves)-done,
		"took", time.Since(start).Round(time.Millisecond), "err", err, "stderr", tail.String())
	return done
}

// statusLines returns the exit statuses a session printed, one per line;
// lines that are not a number (a login script's chatter) are skipped.
func statusLines(out string) []int {
	var codes []int
	for _, line := range strings.Split(out, "\n") {
		if n, err := strconv.Atoi(strings.TrimSpace(line)); err == nil && n >= 0 {
			codes = append(codes, n)
		}
	}
	return codes
}
