//go:build !linux

package rootid

import "os"

type signature struct{}

type found struct{ id ID }

func look(string, bool) (signature, bool, error) { return signature{}, false, ErrUnsupported }

func probe(string) (found, error) { return found{}, ErrUnsupported }

func suspicious(string, found) (string, bool) { return "", false }

func gone(error) bool { return false }

func inode(os.FileInfo) int64 { return 0 }
