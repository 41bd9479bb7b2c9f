// Package queue coalesces the change events of one watch root into batches
// for one remote, hands them out one batch at a time, and keeps what failed
// until it is synced. It consumes inotifymask.Event values and emits Batch
// values; it owns no goroutine, runs nothing (rsyncexec turns a Batch into
// rsync) and persists nothing. The replicate engine gives each (root,
// remote) pair its own queues and runs one worker per queue:
//
//	for {
//		b, err := q.Next(ctx)
//		if err != nil {
//			return err // ctx ended or q closed
//		}
//		q.Done(b, sync(ctx, b))
//	}
//
// In short: per path the latest change wins (a map, O(1) per event); a
// batch is cut as soon as the previous one is done, so batches grow with
// the load and an idle queue sends a change at once; an ancestor in a
// batch absorbs what it covers; at most one batch per queue is in flight,
// so the remote never ends older than the source; a failed batch returns to
// pending with exponential backoff; an overflow becomes a spaced full sync.
// docs/queue.md has the merge table, the ordering argument and the
// failure rules.
package queue
