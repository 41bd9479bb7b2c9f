// Package rsyncexec turns one watch root, one remote and one queue.Batch
// into rsync invocations and runs them.
//
// What it does:
//
//   - Builds argv as pure functions (UpdateCommand, RemoveCommand,
//     FullCommand): the options and destinations of the original sersync2
//     (PARAMS -R, -e ssh, --port, --timeout, --delete, user@ip::module,
//     --password-file, crontab --exclude patterns), but ONE rsync per batch
//     and remote instead of one per event, with every file name passed
//     NUL-terminated on stdin (--from0 --files-from=-, --include-from=-,
//     --exclude-from=-), never in argv and never through a shell.
//   - Removes use anchored, literal filter rules ("+ /d1/", "+ /d1/old",
//     "+ /dir/***", then --exclude=*): only the named path is deleted on the
//     remote, never a same-named file elsewhere nor a name the pattern would
//     match as a wildcard (the original ran a shell per event and used
//     unanchored wildcards; docs/compat.md, "The rsync commands").
//   - With a filter, keeps what it excludes off the remote in every run
//     that sends a directory with its content: full runs and directories
//     of update and remove runs (Commands) carry anchored literal exclude
//     rules for the excluded paths a walk finds.
//   - Over ssh, renames a batch's Moves on the remote first (MoveSessions:
//     "mv -T" through the same ssh command, a fixed remote command that
//     any login shell passes on unchanged, the names NUL-terminated on its
//     stdin), so renamed data is not sent again; a move that fails or is
//     left out costs nothing but that saving, since the rsync runs that
//     follow make the remote equal either way.
//   - Sends nothing from outside the watch root through a symlinked
//     parent: a listed path whose parent is no longer a real directory is
//     replaced by that parent (sent as what it is now, with deletion), and
//     an rsync that has --confine-root refuses a path that a swap made
//     resolve outside the root after that check.
//   - Runs rsync with exec.CommandContext, the watch root as working
//     directory, a global bound on concurrent rsync processes (-n), SIGTERM
//     on cancellation; classifies the exit status (ExitError.Retryable).
//   - Renders each invocation as an equivalent, correctly quoted sh command
//     (Shell) for debug output and the failLog.
//
// What it does not: it knows nothing of inotify, of coalescing events, of
// retry policy or of the failLog file; callers (replicate, failog)
// decide what to do with a Result. It never deletes anything locally.
package rsyncexec
