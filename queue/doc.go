// Package queue coalesces the change events of one watch root into batches
// for one remote, hands them out as batches, and keeps what failed
// until it is synced. It consumes inotifymask.Event values and emits Batch
// values; it owns no goroutine, runs nothing (rsyncexec turns a Batch into
// rsync) and persists nothing. The replicate engine gives each (root,
// remote) pair its own queues and runs one worker per batch a queue may
// have in flight:
//
//	for {
//		b, err := q.Next(ctx)
//		if err != nil {
//			return err // ctx ended or q closed
//		}
//		tried(q.Done(b, sync(ctx, b))) // the Adds whose first attempt is over
//	}
//
// In short: per path the latest change wins (a map, O(1) per event); an
// idle queue sends a change at once, and with Options.Adaptive a busy one
// holds the next batch a little (longer the higher the rate, at most
// 250 ms, ended as soon as changes pause) so batches grow with the load;
// an ancestor in a batch absorbs what it covers; batches in flight at once
// (Options.MaxInFlight) never share a path, an ancestor or a descendant,
// so the remote never ends older than the source; a rename can travel as
// a Move for senders that rename on the remote; a failed batch returns to
// pending with exponential backoff; an overflow becomes a spaced full
// sync; a remote's pending paths are bounded (Bound) and past the bound
// collapse into one full sync of the remote. docs/queue.md has the merge table, the ordering argument, the
// batching policy with its measured trade-off and the failure rules.
package queue
