// Package confxml reads sersync2's configuration file, confxml.xml, into a
// Config: Load (sync mode) and LoadPlugin (-m plugin mode) start from
// Default, decode the file over it, then validate the result, in one place,
// and report every problem at once; PluginMode says which plugin the names
// given with -m select. It reads; it does not watch, run rsync,
// run plugins or print the original's banners, and it imports nothing of
// this module but internal/shellwords.
//
// Every file the original accepted and ran with is accepted and means the
// same: names are case-insensitive, toggles are on only for "true", the
// first of duplicates wins with a warning, no transcoding, a permissive
// parser, the original's defaults where it had one (with a warning) and an
// error where it had none. docs/config.md lists the rules one by one.
//
// Errors about the file itself are *ParseError (the original exited 255);
// all others name the element and attribute, e.g.
//
//	confxml: <sersync><localpath> #1<remote> #2: attribute ip: "" is empty
package confxml
