package rsyncexec

import (
	"strconv"
	"strings"

	"github.com/sersync-go/sersync2/confxml"
	"github.com/sersync-go/sersync2/queue"
)

// Target is one remote of one watch root: everything needed to build the
// rsync command lines for it.
type Target struct {
	// Root is the local watch root; rsync runs with it as working directory
	// and sends "./".
	Root   string
	Remote confxml.Remote
	Rsync  confxml.Rsync
	// Delete is the <inotify><delete> toggle. As in the original it adds
	// --delete to the remove and full runs; off, a remove changes nothing
	// on the remote.
	Delete bool
	// CrontabExcludes are rsync filter patterns (globs) passed to the full
	// run as --exclude=PAT, in order (the original's CEXCL).
	CrontabExcludes []string
	// MaxDelete, when above 0, is passed to the full run as
	// --max-delete=N (with Delete only): rsync deletes at most N remote
	// paths, skips the rest and exits 25 (ErrDeletionsStopped); everything
	// else is still sent. Real-time removes name their paths and are not
	// limited.
	MaxDelete int
	// Exclude is the real-time <filter>, or nil for none. The full run asks
	// it about every path below Root (rel as in queue.Entry: no leading
	// slash) and keeps what it excludes off the remote, protected from
	// --delete.
	Exclude func(rel string, dir bool) bool
}

// Kind tells the three command forms apart.
type Kind int

const (
	// Update makes the listed paths equal on the remote (directories with
	// their content when PARAMS recurse).
	Update Kind = iota + 1
	// Remove deletes the listed paths on the remote (with Target.Delete).
	Remove
	// Full mirrors the whole root (-r, overflow, crontab).
	Full
	// DryRun is a full run with --dry-run, listing what the full run
	// would delete (DryRunCommand).
	DryRun
)

func (k Kind) String() string {
	switch k {
	case Update:
		return "update"
	case Remove:
		return "remove"
	case Full:
		return "full"
	case DryRun:
		return "dry-run"
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// Command is one rsync invocation, ready to run.
type Command struct {
	Kind Kind
	// Dir is the working directory (the watch root).
	Dir string
	// Argv is the complete argument vector; Argv[0] is the program ("rsync"
	// from the builders, the Runner's binary when it runs it).
	Argv []string
	// Stdin holds the records written to rsync's standard input, each
	// followed by a NUL byte: relative paths for an update, filter rules
	// for a remove or a filtered full run. nil means rsync reads no stdin.
	Stdin []string
	// Entries are the batch paths this command covers.
	Entries []queue.Entry
}

// Payload returns the bytes written to rsync's standard input.
func (c Command) Payload() []byte { return Payload(c.Stdin) }

// String returns the Shell form of c.
func (c Command) String() string { return Shell(c.Argv, c.Dir, c.Stdin) }

// UpdateCommand builds the update run for the given paths:
//
//	rsync PARAMS -R [-r] [--sockopts=TCP_NODELAY] [-e SSH] [--port=N] [--timeout=N] --from0 --files-from=- --ignore-missing-args ./ DEST [--password-file=F]
//
// with the paths on stdin. --files-from turns off the recursion -a implies
// (it keeps an explicit -r), so "-r" is added exactly when PARAMS recurse
// only through -a, to send a listed directory with its content as the
// original's "rsync -a -R ./dir" did. Missing parents are created on the
// remote with their local attributes (-R implied directories; deliberately
// no --no-implied-dirs). Paths that vanished meanwhile are skipped
// (--ignore-missing-args). A path starting with '#' or ';' is sent as
// "./path", since rsync reads such records as comments.
func UpdateCommand(t Target, updates []queue.Entry) Command {
	argv := []string{"rsync"}
	argv = append(argv, t.Rsync.Params...)
	argv = append(argv, "-R")
	if t.Rsync.Recursion() == confxml.RecursionArchive {
		argv = append(argv, "-r")
	}
	argv = append(argv, noDelay(t)...)
	argv = append(argv, transport(t)...)
	argv = append(argv, "--from0", "--files-from=-", "--ignore-missing-args", "./", Destination(t))
	argv = append(argv, passwordFile(t)...)
	paths := make([]string, len(updates))
	for i, e := range updates {
		paths[i] = filesFromName(e.Path)
	}
	return Command{Kind: Update, Dir: t.Root, Argv: argv, Stdin: paths, Entries: updates}
}

// RemoveCommand builds the remove run (the original's include-filter form,
// with anchored, literal patterns where the original's matched other names;
// docs/compat.md, "The rsync commands"):
//
//	rsync PARAMS -R [--sockopts=TCP_NODELAY] [-e SSH] [--port=N] [--timeout=N] [--delete] ./ --from0 --include-from=- --exclude=* DEST [--password-file=F]
//
// with RemoveRules(removes) on stdin. The receiver deletes an included path
// that no longer exists locally; everything else is excluded and therefore
// neither sent nor deleted (no --delete-excluded). A listed path that does
// exist locally is simply sent. Like the original it relies on PARAMS to
// recurse (-a or -r); without recursion rsync skips "./" and nothing
// happens.
func RemoveCommand(t Target, removes []queue.Entry) Command {
	return selectCommand(Remove, t, removes, nil)
}

// DirUpdateCommand builds the update run of directories (sent with their
// content) below which the filter excludes paths: the remove run's form
// without --delete,
//
//	rsync PARAMS -R [--sockopts=TCP_NODELAY] [-e SSH] [--port=N] [--timeout=N] ./ --from0 --include-from=- --exclude=* DEST [--password-file=F]
//
// with ExcludeRules(excluded) followed by RemoveRules(dirs) on stdin. The
// first matching rule wins, so an excluded path is neither sent nor, should
// PARAMS delete, deleted, although its directory is included with all its
// content. The update form cannot carry those rules: its paths take stdin,
// and a second channel (a file, /dev/fd/N) is an option path that
// --confine-root refuses.
func DirUpdateCommand(t Target, dirs, excluded []queue.Entry) Command {
	return selectCommand(Update, t, dirs, excluded)
}

// selectCommand builds the include-filter form of RemoveCommand and
// DirUpdateCommand: exclude rules for excluded, then the rules selecting
// entries; --delete (Target.Delete) for a remove only.
func selectCommand(k Kind, t Target, entries, excluded []queue.Entry) Command {
	argv := []string{"rsync"}
	argv = append(argv, t.Rsync.Params...)
	argv = append(argv, "-R")
	argv = append(argv, noDelay(t)...)
	argv = append(argv, transport(t)...)
	if k == Remove && t.Delete {
		argv = append(argv, "--delete")
	}
	argv = append(argv, "./", "--from0", "--include-from=-", "--exclude=*", Destination(t))
	argv = append(argv, passwordFile(t)...)
	rules := RemoveRules(entries)
	if len(excluded) > 0 {
		rules = append(ExcludeRules(excluded), rules...)
	}
	return Command{Kind: k, Dir: t.Root, Argv: argv, Stdin: rules, Entries: entries}
}

// FullCommand builds the full run, in the original's fragment order:
//
//	rsync PARAMS -R [--delete [--max-delete=N]] ./ [-e SSH] [--port=N] [--timeout=N] DEST [--password-file=F] [--exclude=PAT]... [--from0 --exclude-from=-]
//
// The --exclude=PAT are Target.CrontabExcludes. When Target.Exclude is set,
// excluded (see ExcludedPaths) become anchored literal "- /path" rules on
// stdin; excluded paths are neither sent nor deleted remotely.
func FullCommand(t Target, excluded []queue.Entry) Command {
	argv := []string{"rsync"}
	argv = append(argv, t.Rsync.Params...)
	argv = append(argv, "-R")
	if t.Delete {
		argv = append(argv, "--delete")
		if t.MaxDelete > 0 {
			argv = append(argv, "--max-delete="+strconv.Itoa(t.MaxDelete))
		}
	}
	argv = append(argv, "./")
	argv = append(argv, transport(t)...)
	argv = append(argv, Destination(t))
	argv = append(argv, passwordFile(t)...)
	for _, p := range t.CrontabExcludes {
		argv = append(argv, "--exclude="+p)
	}
	c := Command{Kind: Full, Dir: t.Root, Argv: argv}
	if t.Exclude != nil {
		c.Argv = append(c.Argv, "--from0", "--exclude-from=-")
		c.Stdin = ExcludeRules(excluded)
	}
	return c
}

// filesFromName returns the --files-from record for the relative path p.
// rsync skips records starting with '#' or ';' as comments, so those get a
// "./" prefix, which -R drops again.
func filesFromName(p string) string {
	if p != "" && (p[0] == '#' || p[0] == ';') {
		return "./" + p
	}
	return p
}

// Destination returns the rsync destination of t: [users@]ip::name for a
// daemon, [users@]ip:name with ssh, the directory of a local target. An
// IPv6 literal is put in brackets. A local target's directory is absolute:
// rsync never reads a word starting with '/' as host:path.
func Destination(t Target) string {
	if t.Remote.Local() {
		return t.Remote.Dir
	}
	host := t.Remote.IP
	if strings.Contains(host, ":") && !strings.HasPrefix(host, "[") {
		host = "[" + host + "]"
	}
	user := ""
	if t.Rsync.Auth.Enabled && t.Rsync.Auth.Users != "" {
		user = t.Rsync.Auth.Users + "@"
	}
	sep := "::"
	if t.Rsync.SSH.Enabled {
		sep = ":"
	}
	return user + host + sep + t.Remote.Name
}

// noDelay returns --sockopts=TCP_NODELAY for the real-time runs to a
// daemon. rsync's daemon protocol writes many small messages; with Nagle's
// algorithm and delayed ACKs each run waits on several of them, which
// dominates a small run (figures in docs/compat.md, "The rsync commands").
// It changes nothing that is transferred. Not for ssh (the socket is
// ssh's), not for a local target (no socket) and not when PARAMS set
// --sockopts themselves.
func noDelay(t Target) []string {
	if t.Rsync.SSH.Enabled || t.Remote.Local() {
		return nil
	}
	for _, p := range t.Rsync.Params {
		if strings.HasPrefix(p, "--sockopts") {
			return nil
		}
	}
	return []string{"--sockopts=TCP_NODELAY"}
}

// transport returns the -e, --port and --timeout options, in that order.
// A local target gets --timeout only: it has no remote shell and no
// daemon port.
func transport(t Target) []string {
	var a []string
	local := t.Remote.Local()
	if t.Rsync.SSH.Enabled && !local {
		// One argv element: rsync splits the -e command itself (honouring
		// quotes), exactly as it would split `-e "ssh -p 2222"` from a
		// shell, so no splitting is needed here.
		cmd := strings.TrimSpace(t.Rsync.SSH.Command)
		if cmd == "" {
			cmd = "ssh"
		}
		a = append(a, "-e", cmd)
	}
	if t.Rsync.Port.Enabled && !local {
		a = append(a, "--port="+strconv.Itoa(t.Rsync.Port.Port))
	}
	if t.Rsync.Timeout.Enabled {
		a = append(a, "--timeout="+strconv.Itoa(t.Rsync.Timeout.Seconds))
	}
	return a
}

// passwordFile returns --password-file=F when auth is on with a file, for
// a daemon only: rsync refuses the option with a remote shell or a local
// destination (exit 1, which failed every command of the original with
// auth and ssh on).
func passwordFile(t Target) []string {
	a := t.Rsync.Auth
	if !a.Enabled || a.PasswordFile == "" || t.Rsync.SSH.Enabled || t.Remote.Local() {
		return nil
	}
	return []string{"--password-file=" + a.PasswordFile}
}
