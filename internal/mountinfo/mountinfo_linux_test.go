package mountinfo

import (
	"reflect"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func TestParse(t *testing.T) {
	const in = `22 27 0:21 / /proc rw,relatime - proc proc rw
27 1 254:0 / / rw,relatime - ext4 /dev/vda rw
45 27 254:0 /tmp/rt/src /srv/my\040data rw,relatime shared:1 master:2 - ext4 /dev/vda rw
48 27 0:41 / /mnt/nfs rw,relatime - nfs4 fs1:/export rw,vers=4.2
`
	ms, err := Parse(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	want := []Mount{
		{ID: 22, Dev: unix.Mkdev(0, 21), Root: "/", Point: "/proc", FSType: "proc", Source: "proc"},
		{ID: 27, Dev: unix.Mkdev(254, 0), Root: "/", Point: "/", FSType: "ext4", Source: "/dev/vda"},
		{ID: 45, Dev: unix.Mkdev(254, 0), Root: "/tmp/rt/src", Point: "/srv/my data", FSType: "ext4", Source: "/dev/vda"},
		{ID: 48, Dev: unix.Mkdev(0, 41), Root: "/", Point: "/mnt/nfs", FSType: "nfs4", Source: "fs1:/export"},
	}
	if !reflect.DeepEqual(ms, want) {
		t.Errorf("got  %+v\nwant %+v", ms, want)
	}
	if _, err := Parse(strings.NewReader("27 1 254:0 / / rw\n")); err == nil {
		t.Error("a line without its separator was accepted")
	}
}

func TestWithin(t *testing.T) {
	for _, tt := range []struct {
		p, dir string
		want   bool
	}{
		{"/a/b", "/a", true}, {"/a", "/a", true}, {"/ab", "/a", false}, {"/x", "/", true}, {"/a", "/a/b", false},
	} {
		if got := Within(tt.p, tt.dir); got != tt.want {
			t.Errorf("Within(%q, %q) = %v, want %v", tt.p, tt.dir, got, tt.want)
		}
	}
}
