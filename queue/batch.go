// Batch, Entry and Move: what a queue hands out.

package queue

// Entry is one path of a batch, relative to the batch's root.
type Entry struct {
	// Path is slash-separated, relative to the root, with no leading "/".
	// It holds the kernel's bytes unchanged: any byte but NUL may appear,
	// newlines and invalid UTF-8 included.
	Path string
	// Dir is the directory flag of the latest event seen for Path.
	Dir bool
	// Replaced is set on an update of a path that was removed as a
	// directory and created again (as a directory or not) since the
	// previous batch: delete+create merges into an update, but the remote
	// may still hold content of the old directory that an update alone does
	// not delete. A sender that honours it syncs the path with deletion (the
	// original's remove form does that for a path that exists); one that
	// ignores it gets the original's behaviour.
	Replaced bool
}

// Move is a rename seen locally whose source and destination both left in
// the same batch: From was renamed to To (Dir: a directory). A sender that
// can rename on the remote (ssh targets) may do so before anything else in
// the batch, so the data is not sent again; the batch still carries the
// removal of From and the update of To, so a move that is skipped or fails
// loses nothing. Chains are collapsed (a -> b -> c is one move a -> c).
// The update of a directory that came by a rename is flagged Replaced: the
// remote copy moved there may hold entries the local one no longer has.
// Moves are filled only when Options.Moves is set.
type Move struct {
	From, To string
	Dir      bool
}

// Batch is the unit of work handed to rsyncexec: everything that changed
// below Root since the previous batch of the same queue, coalesced.
//
// Updates and Removes are each sorted in tree order: byte order with "/"
// sorting before every other byte, so a directory comes right before its
// content. A path appears at most once in a batch.
type Batch struct {
	Root string
	// Full asks for a whole-tree sync of Root (startup -r, overflow,
	// crontab). A full batch carries no Updates or Removes: it covers them.
	Full bool
	// Reason says why a full batch was requested ("overflow", "crontab",
	// ... as given to RequestFull); empty for other batches.
	Reason string
	// Updates are paths to make equal on the remote that existed when the
	// batch was cut; directories are sent with their content.
	Updates []Entry
	// Removes are paths that no longer exist locally.
	Removes []Entry
	// Moves are the renames behind some of Removes and Updates, oldest
	// first (see Move); only an optimisation for the sender.
	Moves []Move
	// Attempt counts how often these changes were tried before (0 = first):
	// the highest attempt count among the batch's paths.
	Attempt int

	// id ties the batch to the queue's in-flight record for Done.
	id uint64
}

// Len returns the number of paths in b.
func (b Batch) Len() int { return len(b.Updates) + len(b.Removes) }
