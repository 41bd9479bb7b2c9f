// Package treecmp compares two directory trees for tests: entry types,
// file contents, permission bits, modification times (to the second) and
// symlink targets. It reports differences as readable lines with every name
// shown %q-quoted, so hostile names (newlines, invalid UTF-8) stay legible.
//
// It does not compare owners, extended attributes, ACLs, hard-link
// structure or access times, and it never follows symlinks. It is a test
// helper: it takes paths and returns errors, and EqualT adds a testing.TB
// front end.
package treecmp
