package fsgen

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"
)

// Kind is what an Op does.
type Kind uint8

const (
	// Create writes a new file Path of Size bytes (it must not exist).
	Create Kind = iota + 1
	// Overwrite truncates the existing file Path and writes Size bytes.
	Overwrite
	// Append adds Size bytes to the existing file Path.
	Append
	// Truncate opens Path for writing and sets its size to Size.
	Truncate
	// Chmod sets Path's permission bits to Mode.
	Chmod
	// Utime sets Path's access and modification times to Time, or to the
	// time it is applied when Time is zero (touch).
	Utime
	// Mkdir makes the directory Path (its parent must exist).
	Mkdir
	// MkdirAll makes Path and its missing parents (mkdir -p), then at once
	// writes each of Files, file i with Size+i bytes.
	MkdirAll
	// Remove removes the file Path.
	Remove
	// RemoveAll removes Path and everything below it (rm -rf).
	RemoveAll
	// Rename renames Path to To, both below the root; To must not exist.
	Rename
	// MoveOut renames Path below the root to To in the outside directory.
	MoveOut
	// MoveIn renames Path in the outside directory to To below the root.
	MoveIn
	// Burst writes Count new files in the directory Path, named To
	// followed by a three-digit number, file j with Size+j bytes.
	Burst
)

var kindNames = [...]string{
	Create: "create", Overwrite: "overwrite", Append: "append", Truncate: "truncate",
	Chmod: "chmod", Utime: "utime", Mkdir: "mkdir", MkdirAll: "mkdir -p",
	Remove: "rm", RemoveAll: "rm -rf", Rename: "mv", MoveOut: "mv out", MoveIn: "mv in",
	Burst: "burst",
}

func (k Kind) String() string {
	if int(k) < len(kindNames) && kindNames[k] != "" {
		return kindNames[k]
	}
	return fmt.Sprintf("Kind(%d)", k)
}

// Op is one file-system operation. Paths are relative, "/"-separated,
// below the root (MoveIn's Path: below the outside directory).
type Op struct {
	Kind  Kind
	Path  string
	To    string
	Size  int64
	Count int
	Mode  fs.FileMode
	Time  time.Time
	Files []string
	// Salt seeds the bytes written, so two writes of one size differ.
	Salt uint32
	// Delay is the pause before the op, part of the plan.
	Delay time.Duration
}

// String returns the op on one line, names %q-quoted.
func (op Op) String() string {
	var s string
	switch op.Kind {
	case Create, Overwrite:
		s = fmt.Sprintf("%s %q %dB", op.Kind, op.Path, op.Size)
	case Append:
		s = fmt.Sprintf("append %q +%dB", op.Path, op.Size)
	case Truncate:
		s = fmt.Sprintf("truncate %q to %dB", op.Path, op.Size)
	case Chmod:
		s = fmt.Sprintf("chmod %#o %q", op.Mode, op.Path)
	case Utime:
		when := "now"
		if !op.Time.IsZero() {
			when = op.Time.UTC().Format(time.RFC3339)
		}
		s = fmt.Sprintf("utime %q %s", op.Path, when)
	case MkdirAll:
		s = fmt.Sprintf("mkdir -p %q", op.Path)
		if len(op.Files) > 0 {
			s += fmt.Sprintf(" + files %q (%dB+i)", op.Files, op.Size)
		}
	case Rename:
		s = fmt.Sprintf("mv %q %q", op.Path, op.To)
	case MoveOut:
		s = fmt.Sprintf("mv out %q -> outside/%q", op.Path, op.To)
	case MoveIn:
		s = fmt.Sprintf("mv in outside/%q -> %q", op.Path, op.To)
	case Burst:
		s = fmt.Sprintf("burst %d files %q (%dB+j)", op.Count, path.Join(op.Path, op.To+"NNN"), op.Size)
	default:
		s = fmt.Sprintf("%s %q", op.Kind, op.Path)
	}
	if op.Delay > 0 {
		s = fmt.Sprintf("after %s: %s", op.Delay, s)
	}
	return s
}

// Format returns ops one a line, numbered from 0.
func Format(ops []Op) string {
	var b strings.Builder
	for i, op := range ops {
		fmt.Fprintf(&b, "%4d %s\n", i, op)
	}
	return b.String()
}

// Content returns the size bytes an op with salt writes: letters from a
// small xorshift generator.
func Content(salt uint32, size int64) []byte {
	b := make([]byte, size)
	x := salt | 1
	for i := range b {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b[i] = 'a' + byte(x%26)
	}
	return b
}

// BurstName returns the name of file j of a Burst op.
func (op Op) BurstName(j int) string { return fmt.Sprintf("%s%03d", op.To, j) }

// Apply performs op below root (and outside, for MoveOut and MoveIn). An
// op whose preconditions do not hold (Rename onto something that exists,
// Create of an existing file) fails without changing anything.
func (op Op) Apply(root, outside string) error {
	p := filepath.Join(root, op.Path)
	var err error
	switch op.Kind {
	case Create:
		err = writeFile(p, os.O_CREATE|os.O_EXCL, op.Salt, op.Size)
	case Overwrite:
		err = writeFile(p, os.O_TRUNC, op.Salt, op.Size)
	case Append:
		err = writeFile(p, os.O_APPEND, op.Salt, op.Size)
	case Truncate:
		err = truncate(p, op.Size)
	case Chmod:
		err = os.Chmod(p, op.Mode)
	case Utime:
		when := op.Time
		if when.IsZero() {
			when = time.Now()
		}
		err = os.Chtimes(p, when, when)
	case Mkdir:
		err = os.Mkdir(p, 0o755)
	case MkdirAll:
		err = os.MkdirAll(p, 0o755)
		for i, f := range op.Files {
			if err != nil {
				break
			}
			err = writeFile(filepath.Join(root, f), os.O_CREATE|os.O_EXCL, op.Salt+uint32(i), op.Size+int64(i))
		}
	case Remove:
		err = removeFile(p)
	case RemoveAll:
		if _, err = os.Lstat(p); err == nil {
			err = os.RemoveAll(p)
		}
	case Rename:
		err = rename(p, filepath.Join(root, op.To))
	case MoveOut:
		err = rename(p, filepath.Join(outside, op.To))
	case MoveIn:
		err = rename(filepath.Join(outside, op.Path), filepath.Join(root, op.To))
	case Burst:
		for j := range op.Count {
			if err = writeFile(filepath.Join(p, op.BurstName(j)), os.O_CREATE|os.O_EXCL, op.Salt+uint32(j), op.Size+int64(j)); err != nil {
				break
			}
		}
	default:
		err = errors.New("unknown kind")
	}
	if err != nil {
		return fmt.Errorf("fsgen: %s: %w", op, err)
	}
	return nil
}

func writeFile(p string, flag int, salt uint32, size int64) error {
	f, err := os.OpenFile(p, os.O_WRONLY|flag, 0o644)
	if err != nil {
		return err
	}
	_, err = f.Write(Content(salt, size))
	return errors.Join(err, f.Close())
}

// truncate opens the file for writing, as truncate(1) does, so closing
// it is a close-after-write.
func truncate(p string, size int64) error {
	f, err := os.OpenFile(p, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	return errors.Join(f.Truncate(size), f.Close())
}

func removeFile(p string) error {
	fi, err := os.Lstat(p)
	if err != nil {
		return err
	}
	if fi.IsDir() {
		return fmt.Errorf("%s is a directory", p)
	}
	return os.Remove(p)
}

// rename refuses to replace an existing target: the plan never does that,
// so one that would is a plan out of step with the tree.
func rename(from, to string) error {
	if _, err := os.Lstat(to); err == nil {
		return fmt.Errorf("%s exists", to)
	}
	return os.Rename(from, to)
}
