package rsyncexec

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/sersync-go/sersync2/internal/shellwords"
	"github.com/sersync-go/sersync2/queue"
)

// moveStdinMax bounds the records one ssh session sends; longer lists
// of moves are split into several sessions. It stays well below
// moveXargsSize, the command line xargs may build on the remote from
// them (see MoveSessions).
const moveStdinMax = 64 << 10

// moveXargsSize is the -s of the remote xargs: twice moveStdinMax, room
// for the records and sh's own words. It is GNU xargs' default, and more
// than busybox's (32 KiB), which is why it is given.
const moveXargsSize = 2 * moveStdinMax

// MoveSession is one ssh session that renames paths on the remote of a
// target, in order (see MoveSessions).
type MoveSession struct {
	// Dir is the local working directory (the watch root).
	Dir string
	// Argv is the local command: the <ssh> command's words, "-l USER"
	// when auth names a user, the host, then the remote command as one
	// word, which holds no name.
	Argv []string
	// Stdin holds the records written to the session's standard input,
	// each followed by a NUL byte: the module path, then the old and the
	// new name of each move.
	Stdin []string
	// Moves are the renames the remote command runs, in order; it prints
	// one line with mv's exit status for each.
	Moves []queue.Move
}

// String returns the Shell form of s, for a person to read or paste into
// sh.
func (s MoveSession) String() string { return Shell(s.Argv, s.Dir, s.Stdin) }

// MoveSessions builds the ssh sessions that rename moves on the remote of
// t, in order, as lsyncd's rsyncssh does, with every name sent as data:
//
//	printf 'MODULE\0FROM\0TO\0…' | SSH [-l USER] HOST 'xargs -0 -x -n N -s SIZE sh -c '\''SCRIPT'\'' sh'
//
// SSH is the <ssh command> split as confxml splits it ("ssh" when empty),
// USER and HOST are those rsync gives ssh for the destination (an IPv6
// literal without brackets). sshd hands the remote command to the remote
// user's login shell, whatever shell that is (sh, bash, csh, tcsh, fish):
// so the command holds no name and only characters that every one of them
// passes through unchanged: words, and one single-quoted sh script without
// a quote, backslash, '!' or newline inside. The names go NUL-terminated on
// stdin, and xargs -0 gives them to that script as its arguments, never
// through a parser; bytes that are not UTF-8, newlines, quotes and leading
// '-' reach mv as data ("--" before the names).
//
// The script (moveScript) checks it got all N records in one call (xargs
// -n N -x runs it once with all of them or not at all, never with a
// split list, which would pair a new name with the wrong old one), goes to
// the module path, then for each move makes the new name's parent when it
// is missing (the remote may not have it yet: mkdir new; mv f new/ in
// one batch) and runs mv -T -- FROM TO and prints its exit status. Paths
// are relative to the module path, as the -R paths of the rsync runs are;
// a module path of "~" or "~user" is expanded by the remote sh as it would
// be in rsync's own remote command (the prefix, checked by tildeSafe, is in
// the script; the rest of the path is data), and a relative one gets "./"
// so that CDPATH cannot send the cd elsewhere. mv -T (GNU coreutils,
// busybox) never moves into an existing directory: onto an existing one it
// replaces it only when that is empty, and fails otherwise; where mv has
// no -T it fails at once.
//
// Each move is independent: a failed one (its source never reached the
// remote, its target is a non-empty directory) says nothing about the
// next, so stopping would only make rsync send the data of the rest.
// Whatever subset succeeds, a move touches only its FROM and TO, which the
// batch's remove and update runs make equal to the local tree afterwards.
// Lists longer than moveStdinMax are split into several sessions, run one
// after the other.
func MoveSessions(t Target, moves []queue.Move) ([]MoveSession, error) {
	words, err := sshWords(t)
	if err != nil {
		return nil, err
	}
	home, dir := remoteDir(t.Remote.Name)
	if strings.IndexByte(dir, 0) >= 0 {
		return nil, fmt.Errorf("rsyncexec: remote path %q: holds a NUL byte", t.Remote.Name)
	}
	var out []MoveSession
	var cur []queue.Move
	size := 0
	flush := func() {
		if len(cur) == 0 {
			return
		}
		recs := make([]string, 0, 1+2*len(cur))
		recs = append(recs, dir)
		for _, m := range cur {
			recs = append(recs, m.From, m.To)
		}
		argv := append(words[:len(words):len(words)], moveCommand(home, len(recs)))
		out = append(out, MoveSession{Dir: t.Root, Argv: argv, Stdin: recs, Moves: cur})
		cur, size = nil, 0
	}
	for _, m := range moves {
		step := len(m.From) + len(m.To) + 2
		if len(cur) > 0 && len(dir)+1+size+step > moveStdinMax {
			flush()
		}
		cur = append(cur, m)
		size += step
	}
	flush()
	return out, nil
}

// moveCommand returns the remote command of a session with n records
// whose module path is relative to home ("" for none, else "~" or
// "~user", see remoteDir).
func moveCommand(home string, n int) string {
	cd := ""
	if home != "" {
		cd = "cd " + home + " || exit 1; "
	}
	script := "[ $# = " + strconv.Itoa(n) + " ] || exit 1; " + cd + moveScript
	return "xargs -0 -x -n " + strconv.Itoa(n) + " -s " + strconv.Itoa(moveXargsSize) + " sh -c '" + script + "' sh"
}

// moveScript is the part of the remote sh script after the record count
// check (see MoveSessions): $1 is the module path, then each move's old
// and new name. It prints one status line per move, whatever happens.
const moveScript = `cd -- "$1" || exit 1; shift; ` +
	`while [ $# -gt 1 ]; do ` +
	`p=${2%/*}; { [ "$p" = "$2" ] || [ -d "$p" ] || mkdir -p -- "$p"; } && mv -T -- "$1" "$2"; echo $?; shift 2; ` +
	`done`

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

// remoteDir splits the module path into the tilde-prefix the remote sh
// expands ("", "~" or "~user") and the path from there (see
// MoveSessions).
func remoteDir(name string) (home, dir string) {
	switch {
	case name == "":
		return "", "." // host: is the login directory, as for rsync
	case strings.HasPrefix(name, "/"):
		return "", name
	case strings.HasPrefix(name, "~"):
		head, rest, _ := strings.Cut(name, "/")
		if tildeSafe(head[1:]) {
			return head, "./" + rest
		}
	}
	return "", "./" + name
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
	// A local target gets no renames: its runs send the data again.
	if opts.NoMoves || !t.Rsync.SSH.Enabled || t.Remote.Local() || !t.Delete || len(moves) == 0 {
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
		if r.pretend {
			r.log.Info("dry run: remote renames not run", "dest", Destination(t), "moves", len(s.Moves), "command", s.String())
			continue
		}
		n, ran := r.execMoves(ctx, t, s, opts)
		if !ran {
			break // the rest is refused too, or canceled; not tried
		}
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
	from, to := m.From, m.To
	if CleanRel(from) != nil || CleanRel(to) != nil || from == to {
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

// execMoves runs one session and returns how many of its moves were done;
// ran is false when it was not started (canceled, or Present refused).
// Nothing about it is an error of the batch: a session that fails, times
// out (<timeout>, when set, bounds the whole session) or reports a failed
// mv is logged at debug level.
func (r *Runner) execMoves(ctx context.Context, t Target, s MoveSession, opts RunOptions) (done int, ran bool) {
	if err := r.acquire(ctx); err != nil {
		return 0, false
	}
	defer r.release()
	if err := opts.present(); err != nil {
		r.log.Debug("remote moves not run", "dest", Destination(t), "moves", len(s.Moves), "err", err)
		return 0, false
	}
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
	cmd.Stdin = bytes.NewReader(Payload(s.Stdin))
	cmd.Stdout, cmd.Stderr = &out, tail
	if w := opts.Echo; w != nil {
		fmt.Fprintln(w, s.String())
		cmd.Stdout, cmd.Stderr = io.MultiWriter(&out, w), io.MultiWriter(tail, w)
	}
	start := time.Now()
	err := cmd.Run()
	codes := statusLines(out.String())
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
	return done, true
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
