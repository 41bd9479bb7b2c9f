// Package depcheck holds only a test: it enforces the one-way import
// direction of the project's packages (confxml → inotifymask → queue →
// rsyncexec → plugins/failog, wired by cmd/sersync2). It has no code.
package depcheck
