package rsyncexec

import (
	"context"
	"errors"
	"math"
	"strconv"
	"strings"

	"github.com/sersync-go/sersync2/queue"
)

// DryRunCommand builds the dry run of FullCommand(t, excluded) that lists
// what the full run would delete:
//
//	rsync PARAMS-without-q ... (as FullCommand) --dry-run --no-checksum --max-delete=2147483647 --out-format=%i %n
//
// -q would silence the lines that are read, so it is taken out of PARAMS
// (rsync has no option that undoes it). --no-checksum spares reading every
// file on both sides under -c: which paths are deleted does not depend on
// content. A --max-delete of PARAMS would cut the list short and fail the
// dry run; the last --max-delete wins, so the dry run lifts it.
func DryRunCommand(t Target, excluded []queue.Entry) Command {
	t.Rsync.Params = t.Rsync.ParamsWithoutQuiet()
	c := FullCommand(t, excluded)
	c.Kind = DryRun
	c.Argv = append(c.Argv, "--dry-run", "--no-checksum", "--max-delete="+strconv.Itoa(math.MaxInt32), "--out-format="+DryRunFormat)
	return c
}

// runFull makes the remote of t a mirror of the root, leaving out what
// the filter excludes. The local paths the filter excludes become exclude
// rules (ExcludedPaths). They cannot cover a path that exists only on the
// remote, which --delete would remove although the filter excludes it;
// rsync's globs cannot say what the filter's regexes say. So when the run
// deletes and a filter is set, a dry run of the same command first lists
// what it would delete, and of each such path the topmost one the filter
// excludes (the path or a directory above it) is added to the rules. A
// failed dry run fails the full run: it is retried, never run without
// that protection. One exception: a dry run that ends with exit 23 (some
// file could not be read; rsync then skips deletion) is followed by the
// full run without deletion, so the readable files are sent, and the
// dry run's error is returned so that the full sync is retried.
func (r *Runner) runFull(ctx context.Context, t Target, opts RunOptions) Result {
	excluded, err := ExcludedPaths(t.Root, t.Exclude)
	if err != nil {
		return Result{Err: err}
	}
	var res Result
	var errs []error
	if t.Exclude != nil && deletes(t) {
		k := newKeeper(t.Exclude)
		dry := opts
		dry.lines = k.line
		started, err := r.exec(ctx, DryRunCommand(t, excluded), dry)
		if started {
			res.Runs++
		}
		var kept []queue.Entry
		if err == nil {
			kept, err = k.result()
		}
		var xe *ExitError
		switch {
		case err == nil:
			if len(kept) > 0 {
				r.log.Info("full run keeps remote paths the filter excludes", "root", t.Root, "dest", Destination(t), "paths", len(kept))
			}
			excluded = append(excluded, kept...)
		case errors.As(err, &xe) && xe.Code == 23:
			errs = append(errs, err)
			t = withoutDeletion(t)
		default:
			res.Err = err
			return res
		}
	}
	started, err := r.exec(ctx, FullCommand(t, excluded), opts)
	if started {
		res.Runs++
	}
	res.Err = errors.Join(append(errs, err)...)
	return res
}

// ByHandFullCommand is the full run as the failLog writes it for an
// operator to run by hand: FullCommand, except that with a filter it
// deletes nothing (no --delete, no deletion option of PARAMS). Only
// sersync2's own dry run can tell which remote paths the filter's
// regexes protect, and a shell line cannot run it; sersync2 replays the
// failLog itself with the protection.
func ByHandFullCommand(t Target, excluded []queue.Entry) Command {
	if t.Exclude != nil && deletes(t) {
		t = withoutDeletion(t)
	}
	return FullCommand(t, excluded)
}

// withoutDeletion returns t with <delete> off and no deletion option in
// PARAMS.
func withoutDeletion(t Target) Target {
	t.Delete = false
	t.Rsync.Params = t.Rsync.ParamsWithoutDeletion()
	return t
}

// deletes reports whether the full run of t deletes on the remote:
// <delete> is on or PARAMS have a deletion option.
func deletes(t Target) bool { return t.Delete || paramsDelete(t) }

// paramsDelete reports whether PARAMS hold a deletion option (--del,
// --delete, --delete-after and the like). A word that is another option's
// argument may count: it costs a dry run, never the protection.
func paramsDelete(t Target) bool {
	for _, p := range t.Rsync.Params {
		if p == "--del" || strings.HasPrefix(p, "--delete") {
			return true
		}
	}
	return false
}
