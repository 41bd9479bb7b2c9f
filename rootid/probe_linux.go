package rootid

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/sersync-go/sersync2/internal/mountinfo"
)

// Where the host's tables are; tests of this package point them at
// fixtures.
var (
	mountinfoPath = mountinfo.Self
	fstabPath     = "/etc/fstab"
	byUUIDDir     = "/dev/disk/by-uuid"
)

// signature is what a cheap look at a root gives (open, statx, fstatfs):
// while it stays the same, so does the mount there, and the last full
// probe's answer stands.
type signature struct {
	dev, mnt, ino uint64
	fsid          [2]int32
	magic         int64
}

// found is what a full probe of a root found.
type found struct {
	id  ID
	sig signature
	// mountedAt is where the mount holding the root is mounted.
	mountedAt string
	empty     bool
}

// look opens the directory at path as a chdir would (an automount is
// triggered) and takes its signature; empty says whether it has no entry.
func look(path string, wantEmpty bool) (signature, bool, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return signature{}, false, fmt.Errorf("rootid: open %s: %w", path, err)
	}
	f := os.NewFile(uintptr(fd), path)
	defer f.Close()
	var stx unix.Statx_t
	if err := unix.Statx(fd, "", unix.AT_EMPTY_PATH, unix.STATX_BASIC_STATS|unix.STATX_MNT_ID, &stx); err != nil {
		return signature{}, false, fmt.Errorf("rootid: statx %s: %w", path, err)
	}
	var sfs unix.Statfs_t
	if err := unix.Fstatfs(fd, &sfs); err != nil {
		return signature{}, false, fmt.Errorf("rootid: statfs %s: %w", path, err)
	}
	s := signature{dev: unix.Mkdev(stx.Dev_major, stx.Dev_minor), ino: stx.Ino, fsid: sfs.Fsid.Val, magic: sfs.Type}
	if stx.Mask&unix.STATX_MNT_ID != 0 {
		s.mnt = stx.Mnt_id
	}
	empty := false
	if wantEmpty {
		names, err := f.Readdirnames(1)
		empty = len(names) == 0 && errors.Is(err, io.EOF)
	}
	return s, empty, nil
}

// probe takes the identity of the root at path.
func probe(path string) (found, error) {
	sig, empty, err := look(path, true)
	if err != nil {
		return found{}, err
	}
	real, err := filepath.EvalSymlinks(path)
	if err != nil {
		return found{}, fmt.Errorf("rootid: %w", err)
	}
	mounts, err := readMounts()
	if err != nil {
		return found{}, err
	}
	m, ok := mountOf(mounts, sig, real)
	if !ok {
		return found{}, fmt.Errorf("rootid: %s: no entry of %s holds it", path, mountinfoPath)
	}
	f := found{sig: sig, mountedAt: m.Point, empty: empty, id: ID{
		Type: m.FSType, Source: m.Source, MountRoot: m.Root, MountPoint: m.Point == real,
	}}
	if v := sig.fsid; v != [2]int32{} {
		// Printed as stat -f -c %i prints it.
		f.id.FSID = fmt.Sprintf("%08x%08x", uint32(v[0]), uint32(v[1]))
	}
	if unix.Major(sig.dev) != 0 {
		f.id.UUID = uuidOf(sig.dev)
	}
	return f, nil
}

func readMounts() ([]mountinfo.Mount, error) {
	ms, err := mountinfo.Read(mountinfoPath)
	if err != nil {
		return nil, fmt.Errorf("rootid: %w", err)
	}
	return ms, nil
}

// mountOf finds the mount holding the root: by mount id when statx gives
// one, else the last mount of the root's device on the longest mount
// point above it.
func mountOf(ms []mountinfo.Mount, sig signature, real string) (mountinfo.Mount, bool) {
	if sig.mnt != 0 {
		for _, m := range ms {
			if m.ID == sig.mnt {
				return m, true
			}
		}
		return mountinfo.Mount{}, false
	}
	var best mountinfo.Mount
	ok := false
	for _, m := range ms {
		if m.Dev == sig.dev && mountinfo.Within(real, m.Point) && (!ok || len(m.Point) >= len(best.Point)) {
			best, ok = m, true
		}
	}
	return best, ok
}

// uuidOf returns the UUID udev lists for the block device dev, "" when
// none does.
func uuidOf(dev uint64) string {
	es, err := os.ReadDir(byUUIDDir)
	if err != nil {
		return ""
	}
	for _, e := range es {
		var st unix.Stat_t
		if unix.Stat(filepath.Join(byUUIDDir, e.Name()), &st) == nil && st.Mode&unix.S_IFMT == unix.S_IFBLK && st.Rdev == dev {
			return e.Name()
		}
	}
	return ""
}

// fstabPoints returns the mount points /etc/fstab lists (none when it
// cannot be read).
func fstabPoints() []string {
	data, err := os.ReadFile(fstabPath)
	if err != nil {
		return nil
	}
	return parseFstab(string(data))
}

func parseFstab(data string) []string {
	var ps []string
	for line := range strings.Lines(data) {
		fs := strings.Fields(line)
		if len(fs) < 2 || strings.HasPrefix(fs[0], "#") {
			continue
		}
		if p := mountinfo.Unescape(fs[1]); filepath.IsAbs(p) {
			ps = append(ps, filepath.Clean(p))
		}
	}
	return ps
}

// suspicious says why a root with nothing recorded looks like an
// unmounted mount point ("" when it does not), and whether that is a
// certainty worth holding it: /etc/fstab lists a mount point at or above
// it that is not mounted (held), or it is empty, not a mount point, and on
// the same file system as "/" (only warned of: a new empty directory looks
// the same).
func suspicious(path string, f found) (why string, hold bool) {
	real, err := filepath.EvalSymlinks(path)
	if err != nil {
		return "", false
	}
	mounted := map[string]bool{}
	if ms, err := readMounts(); err == nil {
		for _, m := range ms {
			mounted[m.Point] = true
		}
	}
	for _, p := range fstabPoints() {
		if p != "/" && mountinfo.Within(real, p) && !mounted[p] {
			return fmt.Sprintf("%s lists %s as a mount point and nothing is mounted there", fstabPath, p), true
		}
	}
	if f.empty && !f.id.MountPoint {
		var st unix.Stat_t
		if unix.Stat("/", &st) == nil && st.Dev == f.sig.dev {
			return `it is empty and on the same file system as "/"`, false
		}
	}
	return "", false
}

// gone reports whether err says that there is no directory at the path.
func gone(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, unix.ENOTDIR)
}

// inode returns the file's inode number, to notice a file replaced.
func inode(st fs.FileInfo) int64 {
	if s, ok := st.Sys().(*syscall.Stat_t); ok {
		return int64(s.Ino)
	}
	return 0
}
