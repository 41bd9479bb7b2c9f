// Package shellwords splits an operator-written command string into argv
// words the way /bin/sh splits a simple command, and quotes words back for
// display.
//
// Split honours blanks, '…' and "…" quoting and backslash escapes exactly as
// POSIX sh does for a simple command, but performs NO expansion of any kind:
// no parameter or command substitution ($x, $(…) and `…` stay literal), no
// globbing (*, ?, […] stay literal), no tilde expansion, no comments (# is an
// ordinary character) and no operators (; | & < > ( ) are ordinary
// characters, so "a;b" is one word, never a second command). Bytes that are
// not valid UTF-8 are kept as they are.
//
// It is used for the <commonParams params>, <ssh command> and command-plugin
// prefix/suffix strings of confxml.xml. It never runs anything and knows
// nothing about the configuration file; file names must never be passed
// through it (they are argv elements of their own).
package shellwords
