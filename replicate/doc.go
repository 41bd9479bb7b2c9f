// Package replicate runs the replication pipeline: it watches the
// configured roots (inotifymask), coalesces their changes per remote
// (queue), pushes them with rsync (rsyncexec), tells the plugin of every
// change once its rsyncs were tried (plugins), retries what failed and
// counts what happened.
//
// An Engine is built from a confxml.Config and Options. It owns, for every
// watch root and every remote of it, a set of queues with one worker each;
// the watcher's events are routed to them by top-level entry, so a path and
// its ancestors always share a queue and stay in order, while different
// top-level entries sync in parallel. A full sync of a remote runs alone
// among that remote's queues (the others wait for it, it waits for them),
// so nothing it listed before another queue's batch can undo that batch.
// A remote that is down or slow never delays the others; its changes are
// kept and retried with backoff, at most DefaultMaxRetry apart.
//
// What still fails after one retry is recorded in the failLog (package
// failog), which the engine replays at start and every timeToExecute
// minutes by handing the entries back to the queues; a success removes
// them (failures.go). With Options.StateDir, a start after an unclean
// stop syncs every root in full, and a clean stop records a full sync for
// any remote that still had changes waiting.
//
// The plugin hears of each change the watcher reported, unfolded, once
// the first attempt to sync it to every remote of its root is over,
// success or not; delivery has its own workers and a bounded backlog, so
// a slow plugin never delays syncing (notify.go). Plugin-only mode (-m) is
// the same pipeline with no rsync target: the same delivery hands each
// change to the plugin. Full syncs (-r, the crontab, a
// signal, an event overflow) all enter as a full-sync request.
//
// Without running anything, it says what an engine of a configuration
// would do (Describe, for --check; Plan, the rsync command lines) and
// where its state lives (DefaultStateDir).
//
// The engine does not parse the command line, print the original's
// start-up lines, daemonize or handle signals: cmd/sersync2 does, and reads
// the engine's State for its logs; package status serves the same State as
// metrics and a status page.
package replicate
