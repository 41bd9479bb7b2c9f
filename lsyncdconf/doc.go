// Package lsyncdconf converts an lsyncd 2.x configuration into a
// confxml.xml for sersync2, with a report of what could not be carried over.
//
// An lsyncd configuration is a Lua program (loops over host lists, string
// concatenation, dofile of shared parts), so it is run, not parsed: an
// embedded Lua interpreter (gopher-lua) evaluates it with lsyncd's globals
// (settings, sync, default.rsync, default.rsyncssh, default.direct, ...)
// replaced by recorders. The interpreter is sandboxed: no io, os.execute
// or file writes; dofile and require read only files in the configuration's
// directory; a time limit stops a loop that does not end.
//
// What was recorded is then mapped onto confxml's model: sources become
// <localpath>s, targets <remote>s (or <localtarget dir> for a local
// directory), rsync globs the <filter>'s full-match regexes, the rsync
// table <commonParams>, <auth>, <userDefinedPort> and <timeout>, and the
// settings the sersync2 command line. Every sync{} key without an
// equivalent is named in the report with its file and line. The package
// writes text; it starts nothing and does not validate the result
// (confxml.Load does that).
package lsyncdconf
