// Package fsgen generates seeded random sequences of file-system
// operations below a directory tree and applies them, for the stress tests
// of the watcher and of replication. Generate keeps a model of the tree,
// so the operations of one sequence are valid when applied in order (renames
// of things that exist, into directories that exist); the same seed and
// options always give the same sequence. Every operation prints as one
// readable line, so a failing sequence can be read and replayed.
//
// It knows nothing of sersync2, rsync or inotify: it only makes and
// changes files. Pauses between operations are part of the sequence
// (Op.Delay); waiting for anything else is the caller's business.
package fsgen
