package inotifymask

import (
	"encoding/binary"
	"slices"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/sersync-go/sersync2/confxml"
)

// record encodes one struct inotify_event with the name NUL-padded to pad
// bytes (0: just the terminating NUL, as the kernel pads to 4 or 16).
func record(wd int32, mask, cookie uint32, name string, pad int) []byte {
	n := 0
	if name != "" {
		n = len(name) + 1
		if pad > n {
			n = pad
		}
	}
	b := make([]byte, unix.SizeofInotifyEvent+n)
	binary.NativeEndian.PutUint32(b[0:], uint32(wd))
	binary.NativeEndian.PutUint32(b[4:], mask)
	binary.NativeEndian.PutUint32(b[8:], cookie)
	binary.NativeEndian.PutUint32(b[12:], uint32(n))
	copy(b[16:], name)
	return b
}

func TestDecode(t *testing.T) {
	full := slices.Concat(
		record(1, unix.IN_CREATE, 0, "a.txt", 16),
		record(-1, unix.IN_Q_OVERFLOW, 0, "", 0),
		record(2, unix.IN_MOVED_FROM, 42, "nl\nx\xff", 32),
		record(2, unix.IN_IGNORED, 0, "", 0),
	)
	want := []rawEvent{
		{wd: 1, mask: unix.IN_CREATE, name: "a.txt"},
		{wd: -1, mask: unix.IN_Q_OVERFLOW},
		{wd: 2, mask: unix.IN_MOVED_FROM, cookie: 42, name: "nl\nx\xff"},
		{wd: 2, mask: unix.IN_IGNORED},
	}
	tests := []struct {
		name     string
		buf      []byte
		want     []rawEvent
		consumed int
	}{
		{"four events", full, want, len(full)},
		{"empty", nil, nil, 0},
		{"short header", full[:10], nil, 0},
		{"name cut off", full[:20], nil, 0},
		{"second cut off", full[:40], want[:1], 32},
		{"length past the end", record(1, 0, 0, "x", 0)[:16], nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, n := decode(tt.buf, nil)
			if !slices.Equal(got, tt.want) || n != tt.consumed {
				t.Errorf("decode = %+v, %d; want %+v, %d", got, n, tt.want, tt.consumed)
			}
		})
	}
}

// FuzzDecode: any bytes decode without panicking, consume only whole
// records, and names never hold NUL.
func FuzzDecode(f *testing.F) {
	f.Add(slices.Concat(record(1, unix.IN_CREATE, 0, "a", 16), record(-1, unix.IN_Q_OVERFLOW, 0, "", 0)))
	f.Add(record(7, unix.IN_MOVED_TO, 3, "\xff\xfe name", 0))
	f.Add([]byte{1, 2, 3})
	f.Fuzz(func(t *testing.T, buf []byte) {
		evs, n := decode(buf, nil)
		if n < 0 || n > len(buf) {
			t.Fatalf("consumed %d of %d", n, len(buf))
		}
		for _, ev := range evs {
			for i := 0; i < len(ev.name); i++ {
				if ev.name[i] == 0 {
					t.Fatalf("NUL in name %q", ev.name)
				}
			}
		}
		again, m := decode(buf[:n], nil)
		if m != n || len(again) != len(evs) {
			t.Fatalf("decoding the consumed prefix again: %d events/%d bytes, first time %d/%d", len(again), m, len(evs), n)
		}
	})
}

func TestKernelMask(t *testing.T) {
	const always = unix.IN_CREATE | unix.IN_MOVED_FROM | unix.IN_MOVED_TO | unix.IN_ONLYDIR | unix.IN_DONT_FOLLOW | unix.IN_EXCL_UNLINK
	tests := []struct {
		name string
		tog  confxml.Inotify
		want uint32
	}{
		{"none", confxml.Inotify{}, always},
		{"stock", stockToggles, always | unix.IN_DELETE | unix.IN_CLOSE_WRITE},
		{"createFile and createFolder add nothing", confxml.Inotify{CreateFile: true, CreateFolder: true}, always},
		{"attrib", confxml.Inotify{Attrib: true}, always | unix.IN_ATTRIB},
		{"modify", confxml.Inotify{Modify: true}, always | unix.IN_MODIFY},
		{"moves add nothing", confxml.Inotify{MoveFrom: true, MoveTo: true}, always},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := kernelMask(tt.tog); got != tt.want {
				t.Errorf("kernelMask = %#x, want %#x", got, tt.want)
			}
			root := rootMask(tt.tog)
			if root&unix.IN_DONT_FOLLOW != 0 || root&(unix.IN_DELETE_SELF|unix.IN_MOVE_SELF) != unix.IN_DELETE_SELF|unix.IN_MOVE_SELF {
				t.Errorf("rootMask = %#x: must follow the root and watch its own removal", root)
			}
		})
	}
}
