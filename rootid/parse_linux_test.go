package rootid

import (
	"reflect"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/sersync-go/sersync2/internal/mountinfo"
)

func TestMountOf(t *testing.T) {
	const in = `27 1 254:0 / / rw,relatime - ext4 /dev/vda rw
45 27 254:0 /tmp/rt/src /srv/my\040data rw,relatime shared:1 master:2 - ext4 /dev/vda rw
48 27 0:41 / /mnt/nfs rw,relatime - nfs4 fs1:/export rw,vers=4.2
`
	ms, err := mountinfo.Parse(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	// Without a mount id (kernels before 5.8) the longest mount point of
	// the device above the root holds it.
	if m, ok := mountOf(ms, signature{dev: unix.Mkdev(254, 0)}, "/srv/my data/www"); !ok || m.ID != 45 {
		t.Errorf("mountOf by device = %+v, %v; want mount 45", m, ok)
	}
	if m, ok := mountOf(ms, signature{mnt: 48, dev: unix.Mkdev(0, 41)}, "/mnt/nfs"); !ok || m.ID != 48 {
		t.Errorf("mountOf by id = %+v, %v; want mount 48", m, ok)
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
