package confxml

import "strings"

// Recursion says whether and how rsync run with <commonParams> recurses
// into directories.
type Recursion int

const (
	// RecursionOff: no -r, -a, --recursive or --archive, or undone by
	// --no-r / --no-recursive.
	RecursionOff Recursion = iota
	// RecursionArchive: recursion comes from -a / --archive alone, which
	// rsync drops under --files-from.
	RecursionArchive
	// RecursionExplicit: -r or --recursive.
	RecursionExplicit
)

// Recursion reports how rsync run with r.Params recurses. It follows
// rsync's own bookkeeping (see recursionOf); this is the one place the rule
// is written.
func (r Rsync) Recursion() Recursion { return recursionOf(r.Params) }

// Recursive reports whether rsync run with r.Params recurses into
// directories at all: then a directory sent by an update goes with its
// content.
func (r Rsync) Recursive() bool { return r.Recursion() != RecursionOff }

// Short options of rsync 3.x that take an argument (attached or as the
// next word), and long ones that may take it as the next word.
const shortWithArg = "Be@TfM"

var longWithArg = map[string]bool{
	"--info": true, "--debug": true, "--stderr": true, "--backup-dir": true, "--suffix": true,
	"--confine-root": true, "--chmod": true, "--checksum-choice": true, "--block-size": true,
	"--rsh": true, "--rsync-path": true, "--max-delete": true, "--max-size": true, "--min-size": true,
	"--max-alloc": true, "--partial-dir": true, "--usermap": true, "--groupmap": true, "--chown": true,
	"--timeout": true, "--contimeout": true, "--modify-window": true, "--temp-dir": true,
	"--compare-dest": true, "--copy-dest": true, "--link-dest": true, "--compress-choice": true,
	"--compress-level": true, "--compress-threads": true, "--skip-compress": true, "--filter": true,
	"--exclude": true, "--exclude-from": true, "--include": true, "--include-from": true,
	"--files-from": true, "--copy-as": true, "--address": true, "--port": true, "--sockopts": true,
	"--outbuf": true, "--remote-option": true, "--out-format": true, "--log-file": true,
	"--log-file-format": true, "--password-file": true, "--early-input": true, "--bwlimit": true,
	"--stop-after": true, "--stop-at": true, "--write-batch": true, "--only-write-batch": true,
	"--read-batch": true, "--protocol": true, "--iconv": true, "--checksum-seed": true,
}

// recursionOf follows rsync's own bookkeeping: -a sets recursion only if
// it is off, -r sets it explicitly, --no-r clears it; the last word wins.
func recursionOf(params []string) Recursion {
	rec := RecursionOff
	eachOption(params, func(i, j int) {
		w := params[i]
		switch {
		case w == "--archive" || j > 0 && w[j] == 'a':
			if rec == RecursionOff {
				rec = RecursionArchive
			}
		case w == "--recursive" || j > 0 && w[j] == 'r':
			rec = RecursionExplicit
		case w == "--no-recursive" || w == "--no-r":
			rec = RecursionOff
		}
	})
	return rec
}

// ParamsWithoutQuiet returns r.Params without -q and --quiet: "-q" and
// "--quiet" words are left out and a 'q' is taken out of a cluster of
// short options ("-artuqz" becomes "-artuz"). rsync has no option that
// undoes -q, and -q silences the lines a dry run reports its deletions
// with.
func (r Rsync) ParamsWithoutQuiet() []string {
	return paramsWithout(r.Params, func(w string) bool { return w == "--quiet" }, 'q')
}

// ParamsWithoutDeletion returns r.Params without the options that make
// rsync delete on the receiver (--del, --delete and every --delete-…
// option).
func (r Rsync) ParamsWithoutDeletion() []string {
	return paramsWithout(r.Params, func(w string) bool {
		w, _, _ = strings.Cut(w, "=")
		return w == "--del" || w == "--delete" || strings.HasPrefix(w, "--delete-")
	}, 0)
}

// paramsWithout returns params without the long options long matches and
// the short option letter short (0: none), taken out of its clusters.
func paramsWithout(params []string, long func(string) bool, short byte) []string {
	drop := map[int][]int{} // word index: letters to take out (none: the whole word)
	eachOption(params, func(i, j int) {
		switch {
		case j == 0 && long(params[i]):
			drop[i] = nil
		case j > 0 && short != 0 && params[i][j] == short:
			drop[i] = append(drop[i], j)
		}
	})
	out := make([]string, 0, len(params))
	for i, w := range params {
		letters, ok := drop[i]
		switch {
		case !ok:
			out = append(out, w)
		case letters == nil: // a long option
		default:
			var b strings.Builder
			for j := 0; j < len(w); j++ {
				if len(letters) > 0 && letters[0] == j {
					letters = letters[1:]
					continue
				}
				b.WriteByte(w[j])
			}
			if b.Len() > 1 {
				out = append(out, b.String())
			}
		}
	}
	return out
}

// eachOption walks params as rsync's option parser reads them, up to
// "--": fn(i, 0) for the long option params[i], fn(i, j) for the j-th
// letter of the short option cluster params[i]. Option arguments, attached
// or in the next word, and words that are not options are skipped.
func eachOption(params []string, fn func(i, j int)) {
	for i := 0; i < len(params); i++ {
		w := params[i]
		switch {
		case w == "--":
			return
		case strings.HasPrefix(w, "--"):
			fn(i, 0)
			if longWithArg[w] { // argument in the next word
				i++
			}
		case strings.HasPrefix(w, "-") && len(w) > 1:
			for j := 1; j < len(w); j++ {
				fn(i, j)
				if strings.IndexByte(shortWithArg, w[j]) >= 0 {
					if j == len(w)-1 {
						i++ // argument in the next word
					}
					break // the rest of the word is the argument
				}
			}
		}
	}
}
