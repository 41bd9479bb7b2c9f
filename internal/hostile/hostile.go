// Package hostile reads the project's list of hostile file names
// (testdata/rsyncexec/hostile-names.txt: one Go-quoted name per line, #
// comments and blank lines skipped) for the tests, e2e suites and the
// benchmark harness, and checks that none of them was run as a command
// (NoPWNED). It does nothing else.
package hostile

import (
	"bufio"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// NoPWNED fails the test when a file named PWNED exists below any of dirs:
// several names of the list run "touch PWNED" if a shell ever reads them
// as code. A directory that does not exist is skipped.
func NoPWNED(tb testing.TB, dirs ...string) {
	tb.Helper()
	for _, d := range dirs {
		err := filepath.WalkDir(d, func(p string, e fs.DirEntry, err error) error {
			if err != nil {
				if p == d && os.IsNotExist(err) {
					return nil
				}
				return err
			}
			if e.Name() == "PWNED" {
				tb.Errorf("a file name was executed as shell code: %s exists", p)
			}
			return nil
		})
		if err != nil {
			tb.Fatal(err)
		}
	}
}

// Read returns the names in the file at p. Every name must be usable as
// one path component.
func Read(p string) ([]string, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, fmt.Errorf("hostile names: %w", err)
	}
	defer f.Close()
	var names []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		n, err := strconv.Unquote(line)
		if err != nil {
			return nil, fmt.Errorf("hostile names: %s: %q: %w", p, line, err)
		}
		if n == "" || n == "." || n == ".." || strings.ContainsAny(n, "/\x00") {
			return nil, fmt.Errorf("hostile names: %s: %q is not a file name", p, n)
		}
		names = append(names, n)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("hostile names: %w", err)
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("hostile names: %s has none", p)
	}
	return names, nil
}
