package rootid

import (
	"reflect"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func TestParseMountinfo(t *testing.T) {
	const in = `22 27 0:21 / /proc rw,relatime - proc proc rw
27 1 254:0 / / rw,relatime - ext4 /dev/vda rw
45 27 254:0 /tmp/rt/src /srv/my\040data rw,relatime shared:1 master:2 - ext4 /dev/vda rw
48 27 0:41 / /mnt/nfs rw,relatime - nfs4 fs1:/export rw,vers=4.2
`
	ms, err := parseMountinfo(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	want := []mount{
		{id: 22, dev: unix.Mkdev(0, 21), root: "/", point: "/proc", fstype: "proc", source: "proc"},
		{id: 27, dev: unix.Mkdev(254, 0), root: "/", point: "/", fstype: "ext4", source: "/dev/vda"},
		{id: 45, dev: unix.Mkdev(254, 0), root: "/tmp/rt/src", point: "/srv/my data", fstype: "ext4", source: "/dev/vda"},
		{id: 48, dev: unix.Mkdev(0, 41), root: "/", point: "/mnt/nfs", fstype: "nfs4", source: "fs1:/export"},
	}
	if !reflect.DeepEqual(ms, want) {
		t.Errorf("got  %+v\nwant %+v", ms, want)
	}
	// Without a mount id (kernels before 5.8) the longest mount point of
	// the device above the root holds it.
	if m, ok := mountOf(ms, signature{dev: unix.Mkdev(254, 0)}, "/srv/my data/www"); !ok || m.id != 45 {
		t.Errorf("mountOf by device = %+v, %v; want mount 45", m, ok)
	}
	if m, ok := mountOf(ms, signature{mnt: 48, dev: unix.Mkdev(0, 41)}, "/mnt/nfs"); !ok || m.id != 48 {
		t.Errorf("mountOf by id = %+v, %v; want mount 48", m, ok)
	}
	if _, err := parseMountinfo(strings.NewReader("27 1 254:0 / / rw\n")); err == nil {
		t.Error("a line without its separator was accepted")
	}
}

func TestParseFstab(t *testing.T) {
	const in = `# /etc/fstab
UUID=e706 /              ext4 defaults 0 1
/dev/sdb1 /srv/data\040x  xfs  nofail   0 2
/swapfile none           swap sw       0 0
  # indented comment
tmpfs     /tmp/          tmpfs defaults 0 0
`
	got := parseFstab(in)
	want := []string{"/", "/srv/data x", "/tmp"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}
