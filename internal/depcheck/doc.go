// Package depcheck holds only a test: it enforces the one-way import
// direction of the project's packages (confxml → inotifymask → queue →
// rsyncexec → plugins/failog, run by replicate, started by cmd/sersync2).
// It has no code.
package depcheck
