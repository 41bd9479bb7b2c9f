package rsyncexec

import "github.com/sersync-go/sersync2/queue"

// Commands builds the runs that make the remote of t equal to the local
// tree for updates and removes (clean relative paths, as Runner.Run passes
// them on): remove runs, update runs of directories below which the filter
// excludes paths (DirUpdateCommand), update runs of the rest
// (UpdateCommand); each list cut into chunks of at most chunk paths
// (chunk < 1: ChunkSize). The failLog builds the command an operator runs
// by hand for one entry with it, so that it keeps out what the runs keep
// out.
//
// A directory is sent with its content whenever PARAMS recurse, so with a
// filter (Target.Exclude) each directory entry's subtree is walked as
// ExcludedPaths walks the root, and what the filter excludes becomes
// anchored literal exclude rules of that directory's run: a directory
// renamed or moved into the root arrives without its excluded files, and
// a replaced directory's remove run neither sends them nor deletes their
// remote copies. The rules hold what the walk found; a path created below
// the directory after the walk is sent unless the filter excluded a
// directory above it.
func Commands(t Target, updates, removes []queue.Entry, chunk int) []Command {
	var excl map[string][]queue.Entry
	if t.Exclude != nil && t.Rsync.Recursive() {
		excl = excludedBelow(t, updates, removes)
	}
	var plain, filtered []queue.Entry
	for _, e := range updates {
		if excl[e.Path] != nil {
			filtered = append(filtered, e)
		} else {
			plain = append(plain, e)
		}
	}
	var cmds []Command
	for _, ch := range split(removes, chunk) {
		if len(ch) > 0 {
			cmds = append(cmds, selectCommand(Remove, t, ch, below(excl, ch)))
		}
	}
	for _, ch := range split(filtered, chunk) {
		if len(ch) > 0 {
			cmds = append(cmds, DirUpdateCommand(t, ch, below(excl, ch)))
		}
	}
	for _, ch := range split(plain, chunk) {
		if len(ch) > 0 {
			cmds = append(cmds, UpdateCommand(t, ch))
		}
	}
	return cmds
}

// excludedBelow walks the subtree of each directory entry and returns, by
// entry path, the paths below it that t.Exclude excludes; entries with none
// are left out. A subtree that cannot be walked (gone since, unreadable)
// counts as holding none: rsync, running as this process does, cannot read
// below it either, and reports what it cannot read.
func excludedBelow(t Target, lists ...[]queue.Entry) map[string][]queue.Entry {
	var out map[string][]queue.Entry
	for _, entries := range lists {
		for _, e := range entries {
			if !e.Dir {
				continue
			}
			ex, _ := excludedUnder(t.Root, e.Path, t.Exclude)
			if len(ex) == 0 {
				continue
			}
			if out == nil {
				out = make(map[string][]queue.Entry)
			}
			out[e.Path] = ex
		}
	}
	return out
}

// below returns the excluded paths of the given entries, in their order.
func below(excl map[string][]queue.Entry, entries []queue.Entry) []queue.Entry {
	var out []queue.Entry
	for _, e := range entries {
		out = append(out, excl[e.Path]...)
	}
	return out
}
