// Package inotifymask watches directory trees recursively and reports what
// changed below each watch root as Events, with sersync's eight <inotify>
// toggles and <filter> excludes applied. It owns the watches and nothing
// after them: it does not coalesce, batch, retry or run rsync (the queue
// and rsyncexec do).
//
// On Linux it uses raw inotify (golang.org/x/sys/unix): one goroutine
// drains the fd into an unbounded queue, one applies the events to a tree
// of watched directories and queues what it emits; the consumer takes
// everything queued at once with Next.
// Options.Backend may ask for fanotify instead, per root where it can
// work (BackendAuto): one filesystem mark per file system, directories
// known by file handle, no watch per directory; the same Events.
// Elsewhere it uses github.com/fsnotify/fsnotify (on Linux only in tests,
// built with -tags sersync_fsnotify); both pass one contract suite
// (testdata/events/*.txt).
//
// What it guarantees:
//   - for every path that changed after New returned, an event that covers
//     it (its own, an OpUpdate of a directory that appeared, or an
//     OpOverflow of its root); per path the last event gives its final
//     state;
//   - once every event read is processed, every directory below a root
//     that is not excluded is watched under its current path, whatever
//     the order of creations and renames; Check verifies it;
//   - a kernel queue overflow, a watch refused for the limit, or a root
//     that comes back after it disappeared is an OpOverflow: the consumer
//     syncs that root in full.
//
// Symlinks are never followed below a root. docs/watcher.md has the
// details (toggles, exclude rule, overflow, roots that disappear, debug
// lines, the fsnotify backend's limits); docs/compat.md compares with the
// original.
package inotifymask
