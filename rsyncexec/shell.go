package rsyncexec

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/sersync-go/sersync2/internal/shellwords"
)

// Shell renders an invocation as an equivalent POSIX sh command line, for
// debug output and the failLog (it is never executed by this package):
//
//	cd ROOT && rsync ARGS...
//	cd ROOT && printf 'rec1\000rec2\000' | rsync ARGS...
//
// The second form is used when stdin is not nil: the records go through a
// printf format in which '%', '\\', the single quote and every byte that is
// not printable UTF-8 (newline, control bytes, invalid UTF-8) are written
// as escapes ('\\ooo' with three octal digits, understood by dash's and
// bash's printf), so the whole command stays on one line and reproduces
// the payload byte for byte; file names therefore never make the command
// span lines (only an argv word from the configuration containing a newline
// would, inside its quotes). A '-' that would open the format is written
// as '\\055' as well: dash's and bash's printf read a first argument
// starting with '-' as options and refuse it (exclude rules start "- ",
// and a file name may). The escape relies only on the octal escapes the
// format already uses; "printf --" would also rely on every sh's printf
// discarding "--". Words are quoted by shellwords.Quote: bare when made
// only of safe characters, so simple commands read exactly like the
// original's, single-quoted otherwise.
func Shell(argv []string, root string, stdin []string) string {
	var b strings.Builder
	b.WriteString("cd ")
	b.WriteString(shellwords.Quote(root))
	b.WriteString(" && ")
	if stdin != nil {
		b.WriteString("printf '")
		for i, r := range stdin {
			if i == 0 && strings.HasPrefix(r, "-") {
				octal(&b, '-')
				r = r[1:]
			}
			printfEscape(&b, r)
			b.WriteString(`\000`)
		}
		b.WriteString("' | ")
	}
	for i, a := range argv {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(shellwords.Quote(a))
	}
	return b.String()
}

// printfEscape writes s as text for a single-quoted printf format.
func printfEscape(b *strings.Builder, s string) {
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == '%':
			b.WriteString("%%")
		case r == '\\':
			b.WriteString(`\\`)
		case r == '\'' || (r == utf8.RuneError && size <= 1) || !unicode.IsPrint(r):
			for j := 0; j < size; j++ {
				octal(b, s[i+j])
			}
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
}

func octal(b *strings.Builder, c byte) {
	o := strconv.FormatUint(uint64(c), 8)
	b.WriteByte('\\')
	b.WriteString(strings.Repeat("0", 3-len(o)))
	b.WriteString(o)
}
