// Package failog owns the failLog file (<failLog path timeToExecute>) and
// the state file that tells a clean stop from a crash.
//
// The failLog keeps the role and shape it had in sersync2 2.5.4: a POSIX sh
// script an operator can read and run by hand. Each change that could not
// be sent to a remote is one entry:
//
//	#errno 10: rsync exit code (error in socket I/O); 3 failures since 2026-11-26T10:00:00Z
//	#sersync2 op=update root="/data" remote="10.0.0.2::www" path="a b.txt" errno=10 failures=3 first=… last=…
//	cd /data && printf 'a b.txt\000' | rsync -artuz -R … --from0 --files-from=- … ./ 10.0.0.2::www
//	(empty line)
//
// The #errno number is rsync's exit code (the original wrote the wait
// status, 256 times larger). The command is rsyncexec.Shell's rendering of
// the argv rsyncexec builds for the entry: file names travel inside a
// single-quoted printf format with every unsafe byte escaped, so running
// the file with sh re-sends those files and never runs a file name. The
// "#sersync2" line is what this package reads back (Go-quoted fields, one
// line whatever the name holds); the command is regenerated from the
// current configuration at every write and never parsed, and the daemon
// never runs the file: it hands the entries back to its engine, which sends
// them through the same argv builder as any change.
//
// The file always holds exactly the current set of entries: every change
// writes the whole file to a temporary file in the same directory (mode
// 0600, fsynced) and renames it into place, so a reader, sh, or a crash
// sees either the old or the new file, never half an entry. The set is
// bounded: past Options.MaxEntries entries for one remote of one root they
// collapse into a single full-sync entry. Entries of remotes this
// configuration does not have (another sersync2 sharing the file) and
// lines that are not entries (the original binary's) are kept as they are;
// writers serialise on a lock file in the state directory (LockFile), never
// next to the failLog, where in /tmp any user could hold it. The lock is
// waited for a bounded time (Options.LockWait): past it the entries stay in
// memory and the next change, replay or Close writes them, so a held lock
// never stalls a start or a worker. Open warns about a failLog in a
// directory every user may write (Exposed), and names a better place.
//
// What it does not do: it runs no rsync and no shell, schedules nothing
// and retries nothing; the engine (replicate) decides when a failure is
// recorded, replays the entries Due returns, and tells the Log what was
// synced.
//
// Inside, the rules and the file stay apart: set.go holds the entries and
// the rules that change them (no file, no clock, no log), store.go and
// lock.go the file on disk (read, atomic write, the writers' lock),
// entry.go and file.go the text of an entry and of the file, and
// failog.go the Log that joins them.
//
// The state file (OpenState) is a small locked file written "running" at
// start and "clean" by MarkClean at a clean stop: a start that finds
// "running" follows a crash, a kill -9, an OOM kill or a power cut.
package failog
