// Package mountinfo reads the kernel's table of the mounts a process sees
// (/proc/self/mountinfo, proc(5)): where each file system is mounted,
// which of its directories, its type and source.
package mountinfo

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Self is the table of the calling process.
const Self = "/proc/self/mountinfo"

// Mount is one line of a mountinfo table.
type Mount struct {
	ID     uint64
	Dev    uint64
	Root   string // the directory of the file system mounted
	Point  string
	FSType string
	Source string
}

// Read reads the table at path (Self, or a fixture).
func Read(path string) ([]Mount, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("mount table: %w", err)
	}
	defer f.Close()
	ms, err := Parse(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return ms, nil
}

// Parse reads the lines of a mountinfo table:
// "ID PARENT MAJ:MIN ROOT POINT OPTIONS [OPTIONAL...] - TYPE SOURCE SUPEROPTIONS".
func Parse(r io.Reader) ([]Mount, error) {
	var ms []Mount
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		sep := -1
		for i := 6; i < len(fs); i++ {
			if fs[i] == "-" {
				sep = i
				break
			}
		}
		if len(fs) < 7 || sep < 0 || sep+2 >= len(fs) {
			return nil, fmt.Errorf("malformed line %q", sc.Text())
		}
		id, err1 := strconv.ParseUint(fs[0], 10, 64)
		maj, min, ok := strings.Cut(fs[2], ":")
		ma, err2 := strconv.ParseUint(maj, 10, 32)
		mi, err3 := strconv.ParseUint(min, 10, 32)
		if err := errors.Join(err1, err2, err3); err != nil || !ok {
			return nil, fmt.Errorf("malformed line %q", sc.Text())
		}
		ms = append(ms, Mount{ID: id, Dev: unix.Mkdev(uint32(ma), uint32(mi)), Root: Unescape(fs[3]), Point: Unescape(fs[4]),
			FSType: fs[sep+1], Source: Unescape(fs[sep+2])})
	}
	return ms, sc.Err()
}

// Within reports whether the clean absolute path p is dir or below it.
func Within(p, dir string) bool {
	return p == dir || dir == "/" || strings.HasPrefix(p, dir+"/")
}

// Unescape undoes the octal escapes (\040 for a space) of the mount
// tables (mountinfo, fstab).
func Unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
