package rootid

import (
	"errors"
	"testing"
)

func TestCompare(t *testing.T) {
	ext4 := ID{FSID: "1a883a741c16e7ec", UUID: "e70684c3-3ffe-45da-933c-0cd9d31953c6", Type: "ext4", Source: "/dev/sdb1", MountRoot: "/", MountPoint: true}
	with := func(f func(*ID)) ID {
		id := ext4
		f(&id)
		return id
	}
	nfs := ID{Type: "nfs4", Source: "fs1:/export", MountRoot: "/", MountPoint: true}
	tests := []struct {
		name     string
		rec, cur ID
		want     error
	}{
		{"same file system", ext4, ext4, nil},
		{"same file system, device renamed after a reboot", ext4, with(func(id *ID) { id.Source = "/dev/sdc1" }), nil},
		{"same file system, no udev this boot", ext4, with(func(id *ID) { id.UUID = "" }), nil},
		{"xfs renumbered: same UUID, other f_fsid", ext4, with(func(id *ID) { id.FSID = "0000000000000811" }), nil},
		{"bare mount point: the directory under it on /", ext4, ID{FSID: "aee1c389c3e2b371", Type: "ext4", Source: "/dev/vda", MountRoot: "/"}, ErrBareMountPoint},
		{"another disk mounted there", ext4, with(func(id *ID) { id.FSID, id.UUID = "0123456789abcdef", "0d7c4a5e-0000-4000-8000-000000000000" }), ErrOtherFS},
		{"same f_fsid, other UUID", ext4, with(func(id *ID) { id.UUID = "0d7c4a5e-0000-4000-8000-000000000000" }), ErrOtherFS},
		{"a tmpfs mounted there", ext4, ID{FSID: "9de0818e8790f45e", Type: "tmpfs", Source: "tmpfs", MountRoot: "/", MountPoint: true}, ErrOtherFS},
		{"overlay without its own fsid over the same disk", with(func(id *ID) { id.UUID = "" }), with(func(id *ID) { id.UUID, id.Type = "", "overlay" }), ErrOtherFS},
		{"another directory of the same file system bind-mounted", ext4, with(func(id *ID) { id.MountRoot = "/other" }), ErrOtherFS},
		{"a plain directory that became a mount point", with(func(id *ID) { id.MountPoint = false }), ext4, ErrOtherFS},
		{"NFS: no f_fsid, same export", nfs, nfs, nil},
		{"NFS: no f_fsid, other export", nfs, func() ID { id := nfs; id.Source = "fs2:/export"; return id }(), ErrOtherFS},
		{"NFS: nothing recorded but the type", ID{Type: "nfs4", MountRoot: "/", MountPoint: true}, ID{Type: "nfs4", MountRoot: "/", MountPoint: true}, ErrOtherFS},
		{"nothing recorded at all", ID{}, ID{}, ErrOtherFS},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Compare(tt.rec, tt.cur); !errors.Is(got, tt.want) || (got == nil) != (tt.want == nil) {
				t.Errorf("Compare = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestAbsentErrorText(t *testing.T) {
	e := &AbsentError{Root: "/data", Reason: ErrBareMountPoint,
		Want: ID{FSID: "1a883a741c16e7ec", Type: "ext4", Source: "/dev/loop0", MountRoot: "/", MountPoint: true},
		Got:  ID{FSID: "aee1c389c3e2b371", Type: "ext4", Source: "/dev/vda", MountRoot: "/"}}
	want := "watch root /data is absent: its file system is not mounted (the bare mount point is there): " +
		"recorded ext4 fsid=1a883a741c16e7ec source=/dev/loop0 (mount point), found ext4 fsid=aee1c389c3e2b371 source=/dev/vda"
	if e.Error() != want {
		t.Errorf("got  %s\nwant %s", e.Error(), want)
	}
	if !errors.Is(e, ErrBareMountPoint) {
		t.Error("does not wrap its reason")
	}
}
