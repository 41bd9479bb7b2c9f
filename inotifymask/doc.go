// Package inotifymask watches directory trees recursively and reports what
// changed below each watch root as Events, with sersync's eight <inotify>
// toggles and <filter> excludes applied. It does not coalesce, batch,
// debounce (except fsnotify's close_write stand-in), retry or run rsync:
// that is the queue's and rsyncexec's job. It never follows symlinks.
//
// On Linux it uses raw inotify (golang.org/x/sys/unix); elsewhere
// github.com/fsnotify/fsnotify, with the limits listed below. Both
// backends pass one contract suite (testdata/events/*.txt).
//
// # Pipeline
//
// One goroutine only drains the inotify fd (256 KiB reads) into an
// unbounded, counted queue; a second applies the events to the watch tree
// and emits; a third delivers to the Events channel. A slow consumer
// therefore never stops the kernel queue from being drained (the
// original's D-4); the cost is memory, visible in Stats.Backlog.
//
// # Toggles
//
// The kernel mask always holds IN_CREATE, IN_MOVED_FROM and IN_MOVED_TO
// (new directories must be watched, renamed ones followed) plus
// IN_ONLYDIR|IN_DONT_FOLLOW|IN_EXCL_UNLINK; a toggle adds its bit and
// decides what is emitted:
//
//	toggle        adds            when off, not emitted                       stays true when off
//	delete        IN_DELETE       OpRemove for deleted files and dirs         watches of deleted dirs are dropped (IN_IGNORED)
//	createFolder  –               OpUpdate for a new dir (mkdir) and for      the new dir is watched and the files in it are
//	                              dirs found inside it                        reported (the original never watched it, D-12)
//	createFile    –               OpUpdate at IN_CREATE of a regular file     symlinks, FIFOs, devices, sockets and new hard
//	                              (its IN_CLOSE_WRITE still reports it)       links are reported at IN_CREATE anyway (D-12)
//	closeWrite    IN_CLOSE_WRITE  OpUpdate when a file opened for writing     –
//	                              is closed
//	moveFrom      –               OpRemove for the old name of a move; a      a directory moved out loses its watches; one
//	                              rename inside a root is an OpUpdate of      renamed inside keeps them, under the new name
//	                              the new name                                (D-11)
//	moveTo        –               OpUpdate for what is moved in; a rename     a directory moved in is watched with its subtree,
//	                              inside a root is an OpRemove of the old     and files in it whose ctime is not older than
//	                              name                                        the move's are reported (changed since)
//	attrib        IN_ATTRIB       OpUpdate for chmod/chown/utimes/link        – (an attrib is never a removal and never drops
//	                              count changes                               watches, D-10)
//	modify        IN_MODIFY       OpUpdate for every write and truncate(2)    –
//
// With moveFrom and moveTo both on, IN_MOVED_FROM/IN_MOVED_TO with the
// same cookie inside one root are one OpRename{OldPath, Path}; across two
// roots they are an OpRemove in one and an OpUpdate in the other. A
// MOVED_FROM waits for its MOVED_TO only while more events are already
// queued, or a few milliseconds when it ends what was read.
//
// A directory that appears is watched first and read second, so nothing
// created in it is lost (mkdir -p a/b/c && cp -r x a/b/c/). What the read
// finds is reported as OpUpdate: after a mkdir, every file and (with
// createFolder) every directory; after a move in (moveTo on), everything.
// The read and the events that follow may report the same path twice.
//
// # Filters
//
// Temp files (the original's rule, D-13): a non-directory whose name
// starts with "." or ends with "~", or is "4913", is never reported,
// unless Filter.SyncDotfiles (syncDotfiles="true"). Directories are never
// skipped by this rule (hidden directories and their files are synced).
//
// Excludes (Filter.Enabled; each regex fully matched): a path rel
// relative to its root, without leading slash, is excluded when a regex
// matches rel or "/"+rel, or, for a directory, rel+"/" or "/"+rel+"/". An
// excluded directory gets no watch, so its whole subtree is excluded,
// whether it existed at start or was created, moved in or renamed at run
// time (D-14). A watched directory renamed to an excluded name is reported
// as removed; an excluded one renamed to a visible name as moved in.
// Results on the stock and common patterns (TestExcludeRule):
//
//	pattern            excluded                                   not excluded
//	(.*)\.svn          z.svn, a/q.svn, dir a/.svn and below       a/svn, a/b.svnx
//	(.*)\.gz           x.gz, a/b.gz                               a/x.gzip
//	^info/*            root file or dir info and below            a/info, info2
//	^static/*          root file or dir static and below          a/static, static2
//	.*\.tmp            any *.tmp, dir x.tmp and below             x.tmpl
//	/cache/.*          dir cache at the root and below            a/cache, root file cache
//	cache/.*           dir cache at the root and below            a/cache, root file cache
//	(.*)/\.git(/.*)?   dir .git anywhere and below                .gitignore, a/.github
//
// The original matched three different strings (the name at the root,
// "/rel" deeper, "rel/" only in the startup scan), so the same pattern
// behaved differently at startup and at run time; the rule above selects
// the same paths as the original's startup scan for the stock patterns
// and keeps them excluded at run time. It differs where the original was
// inconsistent: a/.svn is excluded (the original watched it), and
// "/cache/.*" also excludes the cache directory itself.
//
// # Overflow and limits
//
// IN_Q_OVERFLOW: every root is walked again (watches re-added, watches of
// vanished directories dropped) and then one OpOverflow per root is sent
// with Err ErrOverflow; Stats.Overflows counts them. A watch refused with
// ENOSPC is logged naming the sysctl fs.inotify.max_user_watches and sends
// an OpOverflow for its root with Err ErrWatchLimit; in New it is an error
// wrapping ErrWatchLimit. After an OpOverflow the consumer must full-sync
// that root: events were lost. Backing off repeated full syncs is the
// queue's job.
//
// # Contract
//
// For every path that changed after New returned, at least one event is
// sent that covers it (its own, or an OpUpdate of a directory that
// appeared, or an OpOverflow of its root). Per path, the last event sent
// gives its final state (OpUpdate/OpRename target: exists; OpRemove/
// OpRename source: gone). Duplicate OpUpdates are allowed, ordering
// between different paths is not guaranteed beyond a directory's OpUpdate
// preceding what its scan reports. A consumer that applies "last event
// wins" per path, and full-syncs on OpOverflow, replicates the tree.
//
// Changes made while New walks the trees are captured: the reader
// runs during the walk and every directory is watched before it is read;
// what existed before its watch is the initial state, which the caller's
// startup full sync (-r) covers when it runs after New returns.
//
// # Every directory watched
//
// Once every event read is processed, every directory below a root (not
// excluded) is watched under its current path. Paths come from the node
// tree and are stale while a rename of an ancestor is not processed yet,
// so a directory is read, and a new subdirectory watched, only through
// its parent opened at the tree's path and checked to be that node (its
// watch descriptor, asked through /proc/self/fd); the subdirectory is
// named relative to that open parent. When the check fails the request
// is deferred and tried again after the pending events are processed
// (Stats.Deferred counts them); one still failing after 30 s makes the
// root walked again and sent as OpOverflow (ErrUnwatched). Check walks
// the roots and reports every directory not watched under its path and
// every stale watch. docs/compat.md, "How every directory stays
// watched", has the reasoning.
//
// # Roots that disappear
//
// A root removed, moved away or unmounted (IN_DELETE_SELF, IN_MOVE_SELF,
// IN_UNMOUNT, IN_IGNORED on its watch) is logged, listed in
// Stats.MissingRoots, and its watches dropped; nothing is sent for it.
// Its path is polled; once a directory is there again (after an unmount:
// not the bare mount point) it is watched and an OpOverflow with
// ErrRootReturned asks for one full sync.
//
// # Symlinks and XFS
//
// Watches below a root are added with IN_DONT_FOLLOW and directories are
// read with O_NOFOLLOW, so a symlink to a directory is reported as a
// symlink (rsync -a copies the link) and never descended into, also with
// xfs="true" (D-17). A root that is itself a symlink is followed.
// xfs="true" (Options.XFS) needs nothing more: Go's ReadDir takes the
// type from d_type and calls lstat when a file system reports DT_UNKNOWN.
//
// # Debug lines
//
// Options.Debug gets "add watch: PATH return wd is: WD" for each watch
// added and "inotify wd:WD\tname:NAME\tmask:MASK" (decimal mask) for every
// raw event before filtering; nameless events (IN_IGNORED, IN_Q_OVERFLOW
// with wd -1, a directory's own events) print an empty name (the original
// printed buffer garbage, D-7). Events for unknown watch descriptors are
// ignored without creating anything. The fsnotify backend prints wd 0,
// the absolute path as name and fsnotify's op names as mask.
//
// # fsnotify backend (non-Linux)
//
//   - Recursion by walking, as above; directories are told apart by lstat.
//   - No IN_CLOSE_WRITE: with closeWrite on, a file is reported once it
//     has not been written (Create or Write) for a quiet period of 500 ms.
//     A file written continuously is reported only when it pauses.
//   - No cookie: a rename is OpRemove of the old name (moveFrom) and a
//     create of the new one. A create and a move in look the same, so a
//     new file or directory is reported when createFile/createFolder or
//     moveTo is on, and a new directory's content is reported as moved in
//     when moveTo is on.
//   - Renames of watched directories: events already queued for their
//     subdirectories may carry the old path; they are dropped when that
//     path no longer exists.
//   - kqueue (macOS, BSD) needs one descriptor per watched file and
//     directory: raise ulimit -n; EMFILE is treated like ENOSPC.
package inotifymask
