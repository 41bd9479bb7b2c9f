package rootid

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/sersync-go/sersync2/internal/mnt"
)

// checkIs fails unless err is nil (want nil) or wraps want.
func checkIs(t *testing.T, step string, err, want error) {
	t.Helper()
	if (err == nil) != (want == nil) || (want != nil && !errors.Is(err, want)) {
		t.Fatalf("%s: Check = %v, want %v", step, err, want)
	}
	var ae *AbsentError
	if err != nil && !errors.As(err, &ae) {
		t.Fatalf("%s: %v is not an *AbsentError", step, err)
	}
}

// TestTrackerMounts follows one root through what happens to a mount
// point: its disk (a loop-mounted ext4 image) recorded at the first
// check, unmounted (the bare mount point), another file system mounted
// instead, the same disk back, the directory removed, and another file
// system accepted by the operator.
func TestTrackerMounts(t *testing.T) {
	img := mnt.NewImage(t, 8)
	root := filepath.Join(t.TempDir(), "data")
	if err := os.Mkdir(root, 0o755); err != nil {
		t.Fatal(err)
	}
	img.Mount(t, root)
	file := filepath.Join(t.TempDir(), "state", "x.roots")
	tr, err := Open(file, []string{root}, nil)
	if err != nil {
		t.Fatal(err)
	}
	checkIs(t, "disk mounted, first check", tr.Check(root), nil)
	recs, err := load(file)
	if err != nil {
		t.Fatal(err)
	}
	rec, ok := recs[root]
	if !ok || !rec.MountPoint || rec.Type != "ext4" || rec.FSID == "" {
		t.Fatalf("recorded %+v (%v), want the ext4 mount point", rec, ok)
	}
	t.Logf("recorded %s", rec.ID)
	// The f_fsid reads as stat(1) prints it.
	if out, err := exec.Command("stat", "-f", "-c", "%i", root).Output(); err == nil && strings.TrimLeft(rec.FSID, "0") != strings.TrimSpace(string(out)) {
		t.Errorf("fsid %s, stat -f says %s", rec.FSID, out)
	}

	steps := []struct {
		name string
		do   func(t *testing.T)
		want error
	}{
		{"unmounted: the bare mount point", func(t *testing.T) { mnt.Unmount(t, root) }, ErrBareMountPoint},
		{"a tmpfs mounted instead", func(t *testing.T) { mnt.Tmpfs(t, root) }, ErrOtherFS},
		{"the same disk mounted again", func(t *testing.T) { mnt.Unmount(t, root); img.Mount(t, root) }, nil},
		{"the same disk, checked again", func(t *testing.T) {}, nil},
		{"unmounted and the directory removed", func(t *testing.T) {
			mnt.Unmount(t, root)
			if err := os.Remove(root); err != nil {
				t.Fatal(err)
			}
		}, ErrGone},
		{"the directory made again on /", func(t *testing.T) {
			if err := os.Mkdir(root, 0o755); err != nil {
				t.Fatal(err)
			}
		}, ErrBareMountPoint},
		{"another directory of the same file system bind-mounted", func(t *testing.T) { mnt.Bind(t, t.TempDir(), root) }, ErrOtherFS},
		{"a tmpfs accepted by the operator", func(t *testing.T) {
			mnt.Unmount(t, root)
			mnt.Tmpfs(t, root)
			id, prev, err := Accept(file, root)
			if err != nil {
				t.Fatal(err)
			}
			if prev == nil || prev.ID != rec.ID || id.Type != "tmpfs" {
				t.Fatalf("Accept = %s, replacing %v", id, prev)
			}
		}, nil},
		{"the old disk is another file system now", func(t *testing.T) { mnt.Unmount(t, root); img.Mount(t, root) }, ErrOtherFS},
	}
	for _, s := range steps {
		s.do(t)
		checkIs(t, s.name, tr.Check(root), s.want)
	}
}

// TestTrackerBind: a root that is a bind mount has its source's f_fsid;
// unbound, the directory under it is on the same file system, and only
// its being a mount point tells them apart.
func TestTrackerBind(t *testing.T) {
	src, root := t.TempDir(), t.TempDir()
	mnt.Bind(t, src, root)
	tr, err := Open("", []string{root}, nil)
	if err != nil {
		t.Fatal(err)
	}
	checkIs(t, "bound", tr.Check(root), nil)
	mnt.Unmount(t, root)
	checkIs(t, "unbound", tr.Check(root), ErrBareMountPoint)
	mnt.Bind(t, src, root)
	checkIs(t, "bound again", tr.Check(root), nil)
}

// TestTrackerFirstStart: with nothing recorded, a root under a mount
// point /etc/fstab lists but nothing is mounted on is held and not
// recorded, until its file system is mounted; an empty root on the same
// file system as "/" is synced but not recorded until it holds a file.
func TestTrackerFirstStart(t *testing.T) {
	point := t.TempDir()
	root := filepath.Join(point, "www")
	if err := os.Mkdir(root, 0o755); err != nil {
		t.Fatal(err)
	}
	fstab := filepath.Join(t.TempDir(), "fstab")
	if err := os.WriteFile(fstab, []byte("/dev/sdz1 "+point+" ext4 defaults,nofail 0 2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	old := fstabPath
	fstabPath = fstab
	t.Cleanup(func() { fstabPath = old })

	file := filepath.Join(t.TempDir(), "x.roots")
	tr, err := Open(file, []string{root, point}, nil)
	if err != nil {
		t.Fatal(err)
	}
	checkIs(t, "fstab mount point not mounted", tr.Check(root), ErrUnverified)
	checkIs(t, "the fstab mount point itself", tr.Check(point), ErrUnverified)
	if recs, _ := load(file); len(recs) != 0 {
		t.Fatalf("recorded %v while suspicious", recs)
	}
	rep, err := Inspect(file, []string{root})
	if err != nil || rep[0].Suspicion == "" || !errors.Is(rep[0].Err, ErrUnverified) {
		t.Fatalf("Inspect = %+v, %v", rep, err)
	}
	mnt.Tmpfs(t, point)
	if err := os.Mkdir(root, 0o755); err != nil {
		t.Fatal(err)
	}
	checkIs(t, "mounted", tr.Check(root), nil)
	if recs, _ := load(file); recs[root].Type != "tmpfs" {
		t.Fatalf("recorded %v, want the tmpfs", recs)
	}

	empty := t.TempDir()
	var st, rst unix.Stat_t
	if unix.Stat(empty, &st) != nil || unix.Stat("/", &rst) != nil || st.Dev != rst.Dev {
		t.Log(`the temporary directory is not on the file system of "/": the empty-root case is not shown`)
		return
	}
	tr, err = Open(file, []string{empty}, nil)
	if err != nil {
		t.Fatal(err)
	}
	checkIs(t, "empty on /", tr.Check(empty), nil)
	if recs, _ := load(file); recs[empty] != (Record{}) {
		t.Fatalf("empty root recorded: %+v", recs[empty])
	}
	if err := os.WriteFile(filepath.Join(empty, "f"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	checkIs(t, "a file in it", tr.Check(empty), nil)
	if recs, _ := load(file); recs[empty].Type == "" {
		t.Fatal("not recorded once it held a file")
	}
}

// TestTrackerTarget: a local target is followed as a root is, and its
// absence says so: the error names a local target, also when the verdict
// is the cached one, and the root next to it is unaffected.
func TestTrackerTarget(t *testing.T) {
	root, target := t.TempDir(), t.TempDir()
	mnt.Tmpfs(t, target)
	tr, err := OpenWithTargets("", []string{root}, []string{target}, nil)
	if err != nil {
		t.Fatal(err)
	}
	checkIs(t, "mounted", tr.Check(target), nil)
	mnt.Unmount(t, target)
	for _, step := range []string{"unmounted", "unmounted, cached"} {
		err := tr.Check(target)
		checkIs(t, step, err, ErrBareMountPoint)
		var ae *AbsentError
		if errors.As(err, &ae); !ae.Target || !strings.HasPrefix(err.Error(), "local target "+target+" is absent: ") {
			t.Fatalf("%s: %v (Target %v), want a local target's error", step, err, ae.Target)
		}
	}
	checkIs(t, "the root", tr.Check(root), nil)
}
