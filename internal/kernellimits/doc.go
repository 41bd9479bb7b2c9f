// Package kernellimits raises the system-wide inotify limits
// (fs.inotify.max_user_watches, max_queued_events) to the values the
// original sersync2 wrote at every start, when they are lower, and says
// what it did in the original's words. It never lowers a limit.
package kernellimits
