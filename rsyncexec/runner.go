package rsyncexec

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/sersync-go/sersync2/queue"
)

const (
	// DefaultSlots is the default bound on concurrent rsync processes (the
	// original's -n default).
	DefaultSlots = 10
	// ChunkSize is the most paths one update or remove run carries; longer
	// lists are split into chunks that run concurrently, each in its own
	// slot.
	ChunkSize = 2000
	// waitDelay bounds how long a canceled rsync may take to exit after
	// SIGTERM before it is killed.
	waitDelay = 10 * time.Second
	// stderrTail is how much of rsync's stderr an ExitError keeps.
	stderrTail = 4 << 10
)

// Runner runs rsync commands with a global bound on how many run at once.
// It is safe for concurrent use by any number of goroutines, across roots
// and remotes.
type Runner struct {
	bin  string
	path atomic.Pointer[string] // bin found in PATH; nil: look it up
	// confine says whether the binary found takes --confine-root.
	confine atomic.Pointer[confineSupport]
	slots   chan struct{}
	log     *slog.Logger
	chunk   int
	// pretend is set by Pretend (sersync2 --dry-run).
	pretend bool

	waiting atomic.Int32 // runs waiting for a slot
}

// RunOptions are per-call settings.
type RunOptions struct {
	// Echo, when not nil, receives each command's Shell form before it runs
	// and rsync's own stdout and stderr, as the original printed them with
	// <debug start="true">. Several rsyncs write to it at once: it must be
	// safe for concurrent use.
	Echo io.Writer
	// Progress, when not nil, makes a full run report its progress: the
	// run gets ProgressFlag and Progress is called with each line rsync
	// prints (from the goroutine reading rsync's stdout). The printed
	// commands (Plan, --check) do not show the flag.
	Progress func(Progress)
	// NoMoves turns off the renames on the remote that a batch's Moves
	// allow over ssh (see Runner.Run): the batch's runs alone make the
	// remote equal, sending the data of renamed paths again.
	NoMoves bool

	// Present, when not nil, is asked just before every rsync process and
	// every ssh rename session of the batch starts, the dry run of a
	// filtered full sync included: whatever can delete or rename on the
	// remote runs only while the watch root (and a local target) is still
	// the file system it was. An error stops the batch there; Result.Err
	// wraps it with ErrNotPresent.
	Present func() error

	// lines, when not nil, is called with each line rsync writes to its
	// stdout or stderr (the dry run before a full run reads them).
	lines func(line string)
}

// ErrNotPresent is wrapped by the error of a run that RunOptions.Present
// refused: nothing was started for it.
var ErrNotPresent = errors.New("rsyncexec: not run: the watch root or the local target is not the file system it was")

// Result is the outcome of one batch for one target.
type Result struct {
	// Err is nil when every run succeeded. Otherwise it wraps one
	// *ExitError (or another error) per failed run, joined; see Retryable.
	Err error
	// Runs counts the rsync processes started.
	Runs int
	// MovesDone and MovesFailed count the batch's Moves renamed on the
	// remote and those tried there that failed (the runs that follow send
	// what a failed one did not move). Moves not tried count in neither.
	MovesDone, MovesFailed int
	// Elapsed is the wall time of the whole batch.
	Elapsed time.Duration
}

// NewRunner returns a Runner for the rsync binary bin ("" means "rsync"
// from PATH) that runs at most slots rsync processes at once (slots < 1
// means DefaultSlots). log may be nil.
func NewRunner(bin string, slots int, log *slog.Logger) *Runner {
	if bin == "" {
		bin = "rsync"
	}
	if slots < 1 {
		slots = DefaultSlots
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Runner{bin: bin, slots: make(chan struct{}, slots), log: log, chunk: ChunkSize}
}

// Pretend makes the Runner run nothing from now on: each rsync command it
// would start, and each ssh rename session, is logged at info level with
// its paths (the sh form a person can read and run), and counts as done
// without starting a process. For sersync2 --dry-run; call it before the
// Runner is used.
func (r *Runner) Pretend() { r.pretend = true }

// Run makes the remote of t reflect batch b. A full batch is one full run.
// Otherwise, over ssh with deletion on (Target.Delete) and unless
// opts.NoMoves, the batch's Moves are first renamed on the remote, in
// order (MoveSessions: ssh sessions one after the other, each holding a
// slot of the Runner while it runs), so that
// the runs that follow find the renamed data in place and send none of it;
// a move is left out when the filter (Target.Exclude) excludes either path
// or its destination no longer exists locally, and a failed one is only
// logged at debug level (the runs make the remote equal anyway). Without
// deletion the mirror keeps a removed path's old copy, which a remote
// rename would take away. Then: a path below a parent that is no longer a
// real directory (a symlink, a file; see parents) is replaced by that
// parent, sent with deletion; update paths that no longer exist locally
// (lstat) join the removes; then the runs of Commands (removes, updates;
// with a filter, directories sent without what it excludes below them),
// each split into chunks of ChunkSize paths, all run at once: the two sets are disjoint and each entry makes its path equal to
// the local tree, so no order between them matters, and over a slow link
// a batch costs one session of waiting. Each process holds one slot of the
// Runner for its lifetime. The working directory is t.Root (b.Root when t.Root is empty;
// both set and different is an error).
func (r *Runner) Run(ctx context.Context, t Target, b queue.Batch, opts RunOptions) Result {
	start := time.Now()
	res := r.run(ctx, t, b, opts)
	res.Elapsed = time.Since(start)
	return res
}

func (r *Runner) run(ctx context.Context, t Target, b queue.Batch, opts RunOptions) Result {
	switch {
	case t.Root == "":
		t.Root = b.Root
	case b.Root != "" && filepath.Clean(b.Root) != filepath.Clean(t.Root):
		return Result{Err: fmt.Errorf("rsyncexec: batch root %q is not the target root %q", b.Root, t.Root)}
	}
	if t.Root == "" {
		return Result{Err: errors.New("rsyncexec: no root directory")}
	}
	if b.Full {
		return r.runFull(ctx, t, opts)
	}

	var res Result
	res.MovesDone, res.MovesFailed = r.runMoves(ctx, t, b.Moves, opts)

	var errs []error
	updates, removes := make([]queue.Entry, 0, len(b.Updates)), make([]queue.Entry, 0, len(b.Removes))
	pc := parents{root: t.Root}
	for _, e := range b.Removes {
		p := e.Path
		if err := CleanRel(p); err != nil {
			errs = append(errs, err)
			continue
		}
		if pc.diverted(p) {
			continue
		}
		removes = append(removes, queue.Entry{Path: p, Dir: e.Dir})
	}
	for _, e := range b.Updates {
		p := e.Path
		if err := CleanRel(p); err != nil {
			errs = append(errs, err)
			continue
		}
		if pc.diverted(p) {
			continue
		}
		if _, err := os.Lstat(filepath.Join(t.Root, p)); errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
			removes = append(removes, e) // gone since the batch was cut
			continue
		}
		if e.Replaced {
			// Removed and created again since the previous batch: the
			// remove form makes the path equal with deletion, so content
			// of the old directory left on the remote goes too. The
			// remote's copy is a directory whatever the path is now, so
			// its content is selected (Dir) even when a symlink or a file
			// took the name: otherwise the receiver could not delete the
			// directory to make way for it.
			e.Dir = true
			removes = append(removes, e)
			continue
		}
		updates = append(updates, e)
	}
	if len(pc.sent) > 0 {
		updates, removes = pc.replace(updates, removes)
	}

	// Removes and updates of one batch are disjoint (each entry makes its
	// path equal to the local tree now), so their runs, and the chunks of
	// each, go at once: over a slow link a batch with both (a rename) costs
	// one session of waiting, not two. The Runner's slots still bound how
	// many rsyncs run.
	cmds := Commands(t, updates, removes, r.chunk)
	cerrs := make([]error, len(cmds))
	var runs atomic.Int32
	var wg sync.WaitGroup
	for i, c := range cmds {
		wg.Go(func() {
			started, err := r.exec(ctx, c, opts)
			if started {
				runs.Add(1)
			}
			cerrs[i] = err
		})
	}
	wg.Wait()
	res.Runs = int(runs.Load())
	for _, err := range cerrs {
		if err != nil {
			errs = append(errs, err)
		}
	}
	if err := ctx.Err(); err != nil && !errors.Is(errors.Join(errs...), err) {
		errs = append(errs, fmt.Errorf("rsyncexec: batch for %s not run completely: %w", Destination(t), err))
	}
	res.Err = errors.Join(errs...)
	return res
}

// parents checks, for one batch, that every parent of a path below root is
// a real directory. rsync resolves the parents of a listed path as any
// program does, following symlinks: with -R, "d/f" where d is a symlink to
// /etc sends /etc/f as d/f. The first parent that exists but is not a
// directory (a symlink, a file) is itself what changed: it is sent in place
// of the paths below it, with deletion, so the remote's old directory of
// that name becomes what is there now. A missing parent is left to the
// existing handling of vanished paths (the path becomes a removal).
//
// The check runs just before the batch's rsyncs start; a directory swapped
// for a symlink between the check and rsync reading the path is not seen
// here. Results are kept per prefix, so a batch pays one lstat per distinct
// parent directory, and siblings cost one map lookup.
type parents struct {
	root  string
	state map[string]parentState
	// sent are the parents found not to be directories, in the order found:
	// each is sent (Entry.Replaced) instead of the paths below it.
	sent []string
}

type parentState uint8

const (
	parentDir parentState = iota + 1
	parentOther
	parentMissing
)

// diverted reports whether the clean relative path p has a parent that
// exists and is not a directory; that parent is then recorded in sent.
func (c *parents) diverted(p string) bool {
	last := strings.LastIndexByte(p, '/')
	if last < 0 {
		return false
	}
	if c.state == nil {
		c.state = make(map[string]parentState)
	}
	if c.state[p[:last]] == parentDir {
		return false // every ancestor was checked on the way to this one
	}
	for i := 0; i <= last; i++ {
		if p[i] != '/' {
			continue
		}
		q := p[:i]
		st, ok := c.state[q]
		if !ok {
			st = c.stat(q)
			c.state[q] = st
			if st == parentOther {
				c.sent = append(c.sent, q)
			}
		}
		switch st {
		case parentOther:
			return true
		case parentMissing:
			return false
		}
	}
	return false
}

func (c *parents) stat(q string) parentState {
	fi, err := os.Lstat(filepath.Join(c.root, q))
	switch {
	case err == nil && fi.IsDir():
		return parentDir
	case err == nil:
		return parentOther
	case errors.Is(err, fs.ErrNotExist):
		return parentMissing
	}
	// Unreadable: not known to be a directory, so nothing below it goes by
	// this name; sending the name itself lets rsync report the error.
	return parentOther
}

// replace drops the entries of the sent parents themselves from updates
// and removes and adds each sent parent as a removal-form update
// (Replaced), which sends what the name is now with deletion. The entry is
// marked Dir: the remote's copy is a directory (the batch has paths below
// it), and its content must be selected for the receiver to delete it
// before the new symlink or file can take the name.
func (c *parents) replace(updates, removes []queue.Entry) ([]queue.Entry, []queue.Entry) {
	drop := func(es []queue.Entry) []queue.Entry {
		return slices.DeleteFunc(es, func(e queue.Entry) bool { return c.state[e.Path] == parentOther })
	}
	updates, removes = drop(updates), drop(removes)
	for _, q := range c.sent {
		removes = append(removes, queue.Entry{Path: q, Dir: true, Replaced: true})
	}
	return updates, removes
}

func split(entries []queue.Entry, n int) [][]queue.Entry {
	if n < 1 {
		n = ChunkSize
	}
	var out [][]queue.Entry
	for len(entries) > n {
		out = append(out, entries[:n:n])
		entries = entries[n:]
	}
	return append(out, entries)
}

// Waiting returns how many rsync runs wait for a slot now: more than a
// few for long means -n bounds the throughput.
func (r *Runner) Waiting() int { return int(r.waiting.Load()) }

// acquire takes one of the Runner's slots, waiting for it until ctx ends;
// release gives it back.
func (r *Runner) acquire(ctx context.Context) error {
	r.waiting.Add(1)
	defer r.waiting.Add(-1)
	select {
	case r.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (r *Runner) release() { <-r.slots }

// exec runs one command, holding a slot of the Runner while rsync runs, and
// reports whether a process was started. Argv[0] is replaced by the
// Runner's binary. Exit statuses 0 and 24 are success; any other status
// gives an error wrapping *ExitError; a missing binary gives an error
// wrapping ErrRsyncMissing; cancellation of ctx (SIGTERM to rsync, SIGKILL
// after WaitDelay) gives an error wrapping ctx.Err().
func (r *Runner) exec(ctx context.Context, c Command, opts RunOptions) (started bool, _ error) {
	what := fmt.Sprintf("rsyncexec: %s run of %d paths to %s", c.Kind, len(c.Entries), destOf(c.Argv))
	switch c.Kind {
	case Full:
		what = fmt.Sprintf("rsyncexec: full run of %s to %s", c.Dir, destOf(c.Argv))
	case DryRun:
		what = fmt.Sprintf("rsyncexec: dry run of the full run of %s to %s", c.Dir, destOf(c.Argv))
	}
	if len(c.Argv) == 0 {
		return false, fmt.Errorf("%s: empty argv", what)
	}
	if err := r.acquire(ctx); err != nil {
		return false, fmt.Errorf("%s: not started: %w", what, err)
	}
	defer r.release()

	if _, err := os.Stat(c.Dir); err != nil {
		return false, fmt.Errorf("%s: watch root: %w", what, err)
	}
	if err := opts.present(); err != nil {
		return false, fmt.Errorf("%s: %w", what, err)
	}
	if r.pretend {
		r.log.Info("dry run: rsync not run", "kind", c.Kind, "dest", destOf(c.Argv), "paths", len(c.Entries), "command", Shell(c.Argv, c.Dir, c.Stdin))
		return false, nil
	}
	bin := r.binPath()
	argv := append([]string{r.bin}, c.Argv[1:]...)
	switch {
	case c.Kind == Full && opts.Progress != nil:
		argv = append([]string{r.bin, ProgressFlag}, c.Argv[1:]...)
	}
	// The echoed command is the one built, which runs by hand as it is;
	// confining it is how this process runs it.
	shown, env := argv, []string(nil)
	if c.Kind == Update && r.confines(ctx, bin) {
		argv, env = confined(argv, c.Dir)
	}
	cmd := exec.CommandContext(ctx, bin, argv[1:]...)
	cmd.Env = env
	cmd.Args[0] = r.bin
	cmd.Dir = c.Dir
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = waitDelay
	if c.Stdin != nil {
		cmd.Stdin = bytes.NewReader(c.Payload())
	}
	tail := &tailBuffer{max: stderrTail}
	cmd.Stderr = tail
	if w := opts.Echo; w != nil {
		fmt.Fprintln(w, Shell(shown, c.Dir, c.Stdin))
		cmd.Stdout = w
		cmd.Stderr = io.MultiWriter(w, tail)
	}
	if c.Kind == Full && opts.Progress != nil {
		cmd.Stdout = tee(cmd.Stdout, newProgressWriter(opts.Progress))
	}
	if opts.lines != nil {
		out, errOut := &lineWriter{fn: opts.lines}, &lineWriter{fn: opts.lines}
		cmd.Stdout, cmd.Stderr = tee(cmd.Stdout, out), tee(cmd.Stderr, errOut)
		defer out.flush()
		defer errOut.flush()
	}

	var exited exitWatch
	exited.prepare(cmd)
	start := time.Now()
	r.log.Debug("rsync start", "kind", c.Kind.String(), "dest", destOf(argv), "paths", len(c.Entries), "root", c.Dir)
	err := cmd.Start()
	if err == nil {
		exited.wait()
		err = cmd.Wait()
	}
	took := time.Since(start)
	started = cmd.Process != nil
	var ee *exec.ExitError
	if c.Kind == Full && stoppedDeleting(tail.String()) && (err == nil || errors.As(err, &ee) && Succeeded(ee.ExitCode())) {
		err, ee = &stoppedExit{}, nil // a daemon's receiver stopped at --max-delete
	}
	switch {
	case ctx.Err() != nil && err != nil:
		return started, fmt.Errorf("%s: canceled: %w", what, ctx.Err())
	case err == nil:
		r.log.Debug("rsync done", "kind", c.Kind.String(), "dest", destOf(argv), "paths", len(c.Entries), "took", took)
		return started, nil
	case errors.As(err, &ee) || errors.As(err, new(*stoppedExit)):
		code := exitCodeDeletionsStopped
		if ee != nil {
			code = ee.ExitCode() // -1 when killed by a signal
		}
		if Succeeded(code) {
			r.log.Debug("rsync done", "kind", c.Kind.String(), "dest", destOf(argv), "paths", len(c.Entries), "took", took, "code", code)
			return started, nil
		}
		xe := &ExitError{Code: code, Stderr: tail.String(), Argv: argv}
		level := slog.LevelWarn
		if !xe.Retryable() {
			level = slog.LevelError // a configuration problem: say it loudly
		}
		r.log.Log(ctx, level, "rsync failed", "kind", c.Kind.String(), "dest", destOf(argv),
			"paths", len(c.Entries), "code", code, "retryable", xe.Retryable(), "took", took, "err", xe)
		return started, fmt.Errorf("%s: %w", what, xe)
	case errors.Is(err, exec.ErrNotFound) || errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrPermission):
		r.path.Store(nil) // looked up again next time: it may be installed by then
		r.log.Error("rsync missing", "bin", r.bin, "err", err)
		return started, &reasonError{msg: fmt.Sprintf("%s: rsync binary %q not found (install rsync 3.1.0 or newer): %v", what, r.bin, err), errs: []error{ErrRsyncMissing, err}}
	default:
		return started, fmt.Errorf("%s: %w", what, err)
	}
}

// confineRootFlag is rsync's option (newer releases) that makes a path of
// a --files-from list that resolves outside the directory an error instead
// of a transfer.
const confineRootFlag = "--confine-root="

// tee returns a writer that writes to w (when not nil) and to more.
func tee(w, more io.Writer) io.Writer {
	if w == nil {
		return more
	}
	return io.MultiWriter(w, more)
}

// binPath returns the program to start for r.bin: looked up in PATH once
// and remembered until a start fails (a lookup per run costs a stat per
// PATH entry, a measurable share of the daemon's own CPU per run). When the
// lookup fails, r.bin itself is returned and the start reports why.
func (r *Runner) binPath() string {
	if p := r.path.Load(); p != nil {
		return *p
	}
	p, err := exec.LookPath(r.bin)
	if err != nil {
		return r.bin
	}
	r.path.Store(&p)
	return p
}

// confines reports whether the rsync at path takes --confine-root, asking
// it (--help) once per binary found, when the first update runs.
func (r *Runner) confines(ctx context.Context, path string) bool {
	if c := r.confine.Load(); c != nil && c.path == path {
		return c.ok
	}
	help, err := exec.CommandContext(ctx, path, "--help").Output()
	ok := bytes.Contains(help, []byte(confineRootFlag))
	if err == nil {
		r.confine.Store(&confineSupport{path: path, ok: ok})
	}
	return ok
}

type confineSupport struct {
	path string
	ok   bool
}

// confined returns the argv of an update run with --confine-root: the
// parent check of Run cannot see a directory swapped for a symlink after
// it ran, and rsync then refuses a listed path that resolves outside the
// root (exit 23, retried; the retry's check sends the symlink). The option
// confines rsync's option paths too, so a --password-file outside the root
// is passed as RSYNC_PASSWORD in the returned environment instead, read
// as rsync reads it. When the file does not pass rsync's own checks, argv
// is returned unconfined, for rsync to report the problem.
func confined(argv []string, dir string) (_ []string, env []string) {
	root, err := filepath.Abs(dir)
	if err != nil {
		return argv, nil
	}
	out := make([]string, 0, len(argv)+1)
	out = append(out, argv[0], confineRootFlag+root)
	for _, a := range argv[1:] {
		f, ok := strings.CutPrefix(a, "--password-file=")
		if !ok {
			out = append(out, a)
			continue
		}
		pw, ok := readPassword(f)
		if !ok {
			return argv, nil
		}
		env = append(os.Environ(), "RSYNC_PASSWORD="+pw)
	}
	return out, env
}

// readPassword reads an rsync client password file as rsync does: not
// accessible by others, owned by root when running as root, the first
// non-empty line of its first 511 bytes.
func readPassword(name string) (string, bool) {
	f, err := os.Open(name)
	if err != nil {
		return "", false
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || fi.Mode().Perm()&0o006 != 0 {
		return "", false
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); !ok || (os.Geteuid() == 0 && st.Uid != 0) {
		return "", false
	}
	buf := make([]byte, 511)
	n, _ := io.ReadFull(f, buf)
	for line := range strings.FieldsFuncSeq(string(buf[:n]), func(r rune) bool { return r == '\n' || r == '\r' }) {
		return line, true
	}
	return "", false
}

// destOf returns the destination word of an argv built by this package
// (the last word that is not an option: every word the builders put after
// it is one), for messages.
func destOf(argv []string) string {
	for i := len(argv) - 1; i > 0; i-- {
		if a := argv[i]; a != "" && a[0] != '-' {
			return a
		}
	}
	return "?"
}

// present asks opts.Present, wrapping its refusal with ErrNotPresent.
func (o RunOptions) present() error {
	if o.Present == nil {
		return nil
	}
	if err := o.Present(); err != nil {
		return fmt.Errorf("%w: %w", ErrNotPresent, err)
	}
	return nil
}
