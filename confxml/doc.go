// Package confxml reads sersync2's configuration file, confxml.xml, into a
// Config: Load (sync mode) and LoadPlugin (-m plugin mode) start from
// Default, decode the file over it, then validate the result, in one place,
// and report every problem at once. It reads; it does not watch, run rsync,
// run plugins or print the original's banners, and it imports nothing of
// this module but internal/shellwords.
//
// # Compatibility with sersync2 2.5.4
//
// Every file the original accepted and ran with is accepted and means the
// same, with these rules (docs/compat.md, "The configuration file"):
//
//   - Element and attribute names are case-insensitive (<DEBUG START=…>,
//     <LocalPath Watch=…>); values are not: a toggle is on only for the
//     exact value "true" (anything but "true" or "false" is warned about).
//   - The first of duplicate elements (and attributes) wins, with a warning;
//     <localpath>, <remote>, <exclude> and <include> are lists. Head-level
//     <plugin> blocks are found by their name attribute, the first wins.
//   - Comments, text and unknown attributes are ignored; <x/> equals
//     <x></x>. Unknown elements are ignored with one warning per path.
//   - No transcoding: the CharsetReader passes bytes through for every
//     declared encoding, so the stock file (declared ISO-8859-1, holding
//     UTF-8) gives UTF-8 values, and bytes that are not UTF-8 come out as
//     the same raw bytes. Values are never trimmed (blanks are warned about).
//   - The parser is permissive (etree, encoding/xml non-strict): a bare & is
//     taken literally, HTML entities and character references above 255 are
//     accepted, a valueless attribute (<ssh start/>) reads as its own name.
//     An end tag must repeat its start tag's case exactly.
//   - What the original needed but the file lacks gets the original's
//     default with a warning (<ssh/> is start="false"; failLog path "" is
//     "rsync_fail_log.sh"), never a crash. Where there is no sane default
//     (no <head>, <sersync>, <localpath>, watch, <remote>, remote ip or
//     name, a selected plugin's block or required attribute) it is an error.
//   - All <localpath> elements are loaded (the original used the first);
//     watch roots must be absolute, existing directories that do not
//     overlap. Exactly one trailing slash is removed; "/" stays "/".
//   - Numbers are checked (ports 1..65535, timeout and failLog minutes
//     digits only), except crontab schedule, which keeps atoi semantics.
//   - Regular expressions use Go's RE2 syntax and are compiled at load time;
//     an invalid one is an error (the original printed and skipped it).
//     Filter excludes are compiled when the filter is on; command-plugin
//     includes and the refreshCDN match whenever the block is decoded, but
//     their problems only count when that plugin is selected.
//   - Problems of a <plugin> block count only when that plugin is selected,
//     by <sersync><plugin start="true" name=…> or by -m (ValidatePlugin).
//   - Ours, ignored by the original: <filter syncDotfiles="true"> and
//     <ssh command="ssh -p 2222 …">.
//
// Errors about the file itself are *ParseError (the original exited 255);
// all others name the element and attribute, e.g.
//
//	confxml: <sersync><localpath> #1<remote> #2: attribute ip: "" is empty
package confxml
