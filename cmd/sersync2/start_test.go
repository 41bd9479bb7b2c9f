package main

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sersync-go/sersync2/internal/poll"
)

// TestStartGolden: the complete stdout of a start, byte for byte, for
// testdata/confxml/base.xml and variants: foreground, -r, -d, -n, each
// plugin in sync mode and in -m mode, crontab with and without
// crontabfilter, the realtime filter with crontab, debug on, and a bad
// plugin name. Lines
// kept from the original are the original's bytes; the ones that differ
// are listed in docs/compat.md ("Start-up lines").
//
// The kernel limit lines (execute：… / keep：…) depend on the machine's
// settings and are taken out; TestTuneKernel covers them.
func TestStartGolden(t *testing.T) {
	t.Parallel()
	crontabOn := [2]string{`<crontab start="false"`, `<crontab start="true"`}
	tests := []struct {
		name    string
		fixture string
		edits   [][2]string // replacements made in the fixture
		args    []string
		code    int // exit code of a start that fails
		// live cuts the output after the start-up lines: with debug on
		// and -r, the full sync's echo and rsync's own output follow at
		// their own pace.
		live bool
	}{
		{name: "foreground", fixture: "base.xml"},
		{name: "sync-all", fixture: "base.xml", args: []string{"-r"}},
		{name: "sync-all-auth", fixture: "auth-on.xml", args: []string{"-r"}},
		{name: "sync-all-auth-threads", fixture: "auth-on.xml", args: []string{"-r", "-n", "3"}},
		{name: "sync-all-debug", fixture: "base.xml", edits: [][2]string{{`<debug start="false"/>`, `<debug start="true"/>`}}, args: []string{"-r"}, live: true},
		{name: "sync-all-filter", fixture: "filter-on.xml", args: []string{"-r"}},
		{name: "daemon", fixture: "base.xml", args: []string{"-d"}},
		{name: "several-remotes", fixture: "several-remotes.xml", args: []string{"-n", "3"}},
		{name: "debug", fixture: "base.xml", edits: [][2]string{{`<debug start="false"/>`, `<debug start="true"/>`}}},
		{name: "crontab", fixture: "base.xml", edits: [][2]string{crontabOn}},
		{name: "crontab-crontabfilter", fixture: "crontab-crontabfilter.xml"},
		{name: "crontab-filter-no-crontabfilter", fixture: "filter-on.xml", edits: [][2]string{crontabOn}},
		{name: "plugin-command", fixture: "plugin-command.xml"},
		{name: "plugin-socket", fixture: "plugin-socket.xml"},
		{name: "plugin-refreshcdn", fixture: "plugin-refreshcdn.xml"},
		{name: "plugin-bad-name", fixture: "base.xml", edits: [][2]string{{`<plugin start="false" name="command"/>`, `<plugin start="true" name="Socket"/>`}}, code: 1},
		{name: "m-command", fixture: "base.xml", args: []string{"-r", "-m", "command"}},
		{name: "m-socket", fixture: "base.xml", args: []string{"-m", "socket"}},
		{name: "m-refreshcdn", fixture: "plugin-refreshcdn.xml", args: []string{"-m", "refreshCDN"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			path, dir := fixtureEnv(t, tt.fixture)
			// The remote is this host, where nothing listens on port 873
			// of 127.0.0.2: -r fails at once instead of waiting for
			// 10.0.0.2.
			edits := append([][2]string{{`ip="10.0.0.2"`, `ip="127.0.0.2"`}, {`ip="10.0.0.3"`, `ip="127.0.0.3"`},
				{`path="/tmp/rsync_fail_log.sh"`, `path="` + filepath.Join(dir, "fail.sh") + `"`}}, tt.edits...)
			editFile(t, path, edits)
			args := append([]string{"--no-tune-kernel"}, tt.args...)
			args = append(args, "-o", path)
			var stdout string
			switch {
			case tt.code != 0:
				r := runBin(t, dir, args...)
				if r.code != tt.code {
					t.Fatalf("exit %d, want %d\n%s\n%s", r.code, tt.code, r.stdout, r.stderr)
				}
				stdout = r.stdout
			case slices.Contains(tt.args, "-d"):
				pidFile := filepath.Join(dir, "sersync2.pid")
				r := runBinFiles(t, dir, append([]string{"--pidfile", pidFile}, args...)...)
				if r.code != 0 {
					t.Fatalf("exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
				}
				stopDaemon(t, pidFile)
				stdout = r.stdout
			default:
				p := startSersync(t, dir, args[1:]...)
				p.waitReady(t)
				p.stop(t)
				stdout = p.stdout.String()
			}
			if tt.live {
				stdout = startLines(stdout)
			}
			golden(t, "start-"+tt.name+".golden", normaliseStart(stdout, dir))
		})
	}
}

// originalStart is what the original prints for a stock-like config with
// auth started as "sersync2 -r -o /etc/c.xml", without its two kernel
// limit lines, with this test's directory, config name, remote address and
// password file put in; \t stands for a tab.
const originalStart = `set the system param
parse the command param
option: -r \trsync all the local files to the remote servers before the sersync work
option: -o \tconfig xml name：  TMP/auth-on.xml
daemon thread num: 10
parse xml config file
host ip : localhost\thost port: 8008
use rsync password-file :
user is\trsync_backup
passwordfile is \tTMP/rsync.secrets
config xml parse success
please set /etc/rsyncd.conf max connections=0 Manually
sersync working thread 12  = 1(primary thread) + 1(fail retry thread) + 10(daemon sub threads) 
Max threads numbers is: 22 = 12(Thread pool nums) + 10(Sub threads)
please according your cpu ，use -n param to adjust the cpu rate
------------------------------------------
rsync the directory recursivly to the remote servers once
working please wait...
execute command: cd TMP/watch && rsync -artuz -R --delete ./ rsync_backup@127.0.0.2::www --password-file=TMP/rsync.secrets >/dev/null 2>&1 
run the sersync: 
watch path is: TMP/watch
`

// TestStartGoldenIsTheOriginal: the golden start with auth and -r is
// the original's start, byte for byte.
func TestStartGoldenIsTheOriginal(t *testing.T) {
	t.Parallel()
	got, err := os.ReadFile("../../testdata/cli/start-sync-all-auth.golden")
	if err != nil {
		t.Fatal(err)
	}
	if want := strings.ReplaceAll(originalStart, `\t`, "\t"); string(got) != want {
		t.Errorf("start-sync-all-auth.golden differs from the original's start:\n--- golden\n%s\n--- original\n%s", got, want)
	}
}

// normaliseStart takes the machine's kernel limit lines out of a start's
// stdout and writes TMP for the test's directory.
func normaliseStart(out, dir string) string {
	var b strings.Builder
	for _, l := range strings.SplitAfter(out, "\n") {
		if strings.HasPrefix(l, "keep：") || strings.HasPrefix(l, "execute：echo ") {
			continue
		}
		b.WriteString(l)
	}
	return strings.ReplaceAll(b.String(), dir, "TMP")
}

// startLines cuts out what follows the start-up lines: everything after
// the last "add watch:" line, printed before replication starts.
func startLines(out string) string {
	i := strings.LastIndex(out, "\nadd watch: ")
	if i < 0 {
		return out
	}
	end := strings.IndexByte(out[i+1:], '\n')
	return out[:i+1+end+1]
}

func editFile(t *testing.T, path string, edits [][2]string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	for _, e := range edits {
		s = strings.ReplaceAll(s, e[0], e[1])
	}
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

// stopDaemon stops the daemon whose pid is in pidFile and waits until it
// is gone.
func stopDaemon(t *testing.T, pidFile string) {
	t.Helper()
	raw, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatalf("no pid file: %v", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(raw)))
	if err != nil || pid <= 0 {
		t.Fatalf("pid file %q: %v", raw, err)
	}
	_ = syscall.Kill(pid, syscall.SIGTERM)
	poll.Until(t, 30*time.Second, "the daemon to stop", func() (bool, string) {
		return syscall.Kill(pid, 0) != nil, ""
	})
}
