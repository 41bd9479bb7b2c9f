// Package queue coalesces the change events of one watch root into batches
// for one remote, hands them out one batch at a time, and keeps what failed
// until it is synced. It knows nothing of inotify (it consumes
// inotifymask.Event values) and runs nothing (rsyncexec turns a Batch into
// rsync); the replicate engine gives each (root, remote) pair its own
// queues (one per group of top-level entries, so a path and its ancestors
// always share a queue), so remotes progress independently, and runs one
// worker per queue:
//
//	for {
//		b, err := q.Next(ctx)
//		if err != nil {
//			return err // ctx ended or q closed
//		}
//		q.Done(b, sync(ctx, b))
//	}
//
// # Merge rules
//
// Pending changes live in a map keyed by path, O(1) per event; each path
// keeps only its latest operation (last op wins) and the directory flag of
// its latest event:
//
//	events for a path (oldest first)   pending afterwards
//	update, update, ... update         update (one rsync of the path)
//	update, remove                     remove
//	remove, update                     update
//	rename a -> b                      remove a, update b
//	overflow                           full sync of the root (spaced, see below)
//
// When a batch is cut, the taken paths are sorted in tree order and
// entries an ancestor in the same batch makes redundant are dropped:
//
//	ancestor d in the batch                 entries below d that are dropped
//	removed directory                       all older than d's removal
//	directory removed, then created again   updates older than the removal
//	updated directory, Options.Recursive    all updates (d is sent with its content)
//	updated directory, not recursive        none
//
// Removes below an updated directory are kept: an update deletes nothing
// remotely. rm -rf d therefore leaves as one removal of d, mv d e as a
// removal of d and an update of e, whatever was pending inside d. An
// update of a directory removed and created again since the previous batch
// is flagged Entry.Replaced, since the remote may hold stale content below
// it. Only entries that are sent cover others.
//
// # Ordering
//
// At most one batch per queue is in flight: a batch is cut only after the
// previous one was handed back with Done. So two changes of the same path
// are never synced at the same time, and a change made after a batch was cut
// leaves in a later batch, which starts only after the earlier one
// finished: the remote ends equal to the latest local state, never to an
// older one (the original's could). A failed batch goes back to
// pending, except paths a newer change has superseded meanwhile.
//
// # Batching and latency
//
// There is no fixed delay and no timer per event: when the queue is idle,
// Next returns a change as soon as it is added. Changes arriving while a
// batch is in flight pile up and leave together as the next batch, so
// batches grow with the load by themselves. Add never waits for a sync, so
// the inotify reader is never held up (the original's waited for its
// workers), and there is no batching window that decays under load.
// Options.MinDelay makes the queue wait
// after the first pending change for operators who prefer fewer, larger
// batches; Options.MaxBatch caps a batch, oldest paths first (an ancestor
// left pending by the cap covers nothing in the batch cut before it).
//
// Within a batch Updates and Removes are disjoint and each entry means
// "make this path equal to the local tree now", so a sender may apply them
// in either order.
//
// # Failures and full syncs
//
// A failed batch holds the queue off for an exponential backoff
// (Options.RetryBase doubling to Options.MaxBackoff, with jitter) and is
// retried with its Attempt count raised; nothing is dropped.
// RequestFull and overflows make the next batch a full sync that clears
// every change pending when it is cut. Overflow-driven full syncs are spaced
// by an interval that doubles while overflows keep coming, so an overflow
// storm cannot loop full syncs. Stats and Snapshot expose the counters and
// everything still owed to the remote.
//
// The queue owns no goroutine; it does not read events, run rsync, write a
// failLog or persist anything.
package queue
