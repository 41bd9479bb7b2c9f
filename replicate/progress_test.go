package replicate

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sersync-go/sersync2/internal/confgen"
	"github.com/sersync-go/sersync2/internal/outbuf"
	"github.com/sersync-go/sersync2/internal/poll"
)

// progressRsync writes a stand-in for rsync that answers --version, and
// for a run prints two progress lines and waits (up to 60 s) for dir/release:
// a full sync that is deterministically half done.
func progressRsync(t *testing.T, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "rsync")
	script := `#!/bin/sh
if [ "$1" = --version ]; then echo "rsync  version 3.2.7  protocol version 31"; exit 0; fi
printf '      1,000  10%%    1.00kB/s    0:00:01 (xfr#1, to-chk=9/10)\r      5,000  50%%    2.00kB/s    0:00:02 (xfr#5, to-chk=5/10)\r'
i=0; while [ ! -e "` + dir + `/release" ] && [ $i -lt 6000 ]; do sleep 0.01; i=$((i+1)); done
printf '     10,000 100%%    2.00kB/s    0:00:04 (xfr#10, to-chk=0/10)\n'
`
	if err := os.WriteFile(bin, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return bin
}

// TestFullSyncProgress: a running full sync shows in State with rsync's
// figures, is logged every ProgressEvery, or redrawn on a terminal, and
// its end is logged with the totals.
func TestFullSyncProgress(t *testing.T) {
	t.Parallel()
	for _, onTerminal := range []bool{false, true} {
		name := "log"
		if onTerminal {
			name = "terminal"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			src := mkdir(t, filepath.Join(dir, "src"))
			cfg := load(t, confgen.Config{Roots: []confgen.Root{{Watch: src, Remotes: []confgen.Remote{{IP: "127.0.0.1", Name: "www"}}}}}, "")
			term := &outbuf.Buffer{}
			o := Options{Rsync: progressRsync(t, dir), SyncAll: true, ProgressEvery: 20 * time.Millisecond}
			if onTerminal {
				o.Terminal = term
			}
			t.Cleanup(func() {
				if t.Failed() {
					t.Logf("terminal:\n%q", term.String())
				}
			})
			s, _, log := runService(t, cfg, o)
			poll.Until(t, 30*time.Second, "the full sync at 50%", func() (bool, string) {
				p := s.State().Remotes[0].FullSync
				return p != nil && p.Percent == 50 && p.Files == 5 && p.Bytes == 5000 && p.Reason == "-r", ""
			})
			want, out := `msg="full sync progress" root=`+src, log
			if onTerminal {
				want, out = "\r\x1b[Kfull sync 127.0.0.1::www: 50% 5 files 4.9 KiB", term
			}
			poll.Until(t, 30*time.Second, "the progress shown", func() (bool, string) {
				return strings.Contains(out.String(), want), ""
			})
			if err := os.WriteFile(filepath.Join(dir, "release"), nil, 0o644); err != nil {
				t.Fatal(err)
			}
			poll.Until(t, 30*time.Second, "the end of the full sync", func() (bool, string) {
				return strings.Contains(log.String(), `msg="full sync done"`) && strings.Contains(log.String(), "files=10") &&
					strings.Contains(log.String(), "bytes=10000") && s.State().Remotes[0].FullSync == nil, ""
			})
		})
	}
}
