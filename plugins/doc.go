// Package plugins runs the three post-sync plugins of sersync2 — command,
// socket and refreshCDN — for one synchronised path at a time.
//
// A caller (the replicate engine) builds one Plugin with New from the loaded
// configuration and calls Handle once per changed path, after the rsyncs for
// that path were tried (sync mode) or directly (-m plugin-only mode). Handle is safe
// for concurrent use by several workers. The command plugin runs its program
// for at most CommandTimeout; the socket plugin queues the change for its own
// sender, which keeps a bounded backlog while the peer is down; the
// refreshCDN plugin retries an unreachable CDN CDNAttempts times.
//
// What each plugin sends is kept identical to sersync2 2.5.4 where operators
// depend on it: the socket payload is the raw absolute path with no framing,
// the refreshCDN request and errorlog.txt lines keep the original's layout
// (byte for byte for plain names), and the command plugin's argv is prefix,
// path, suffix. The original's defects are not kept: the path is always one
// argv element and never shell text, refreshCDN query values are
// percent-encoded and its log never holds the password, deadlines do not
// decay, failures are returned as errors, and there are no fixed-size
// buffers (see docs/compat.md, section Plugins).
//
// The package does not watch files, coalesce events, decide which watch root
// a plugin takes over (the caller forms Change.Abs), or know anything about
// rsync. The http plugin of the original source is not built, as in the
// 2.5.4 binary: New reports ErrUnsupported for it.
package plugins
