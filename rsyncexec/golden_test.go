package rsyncexec

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/sersync-go/sersync2/confxml"
	"github.com/sersync-go/sersync2/queue"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/rsyncexec")

const goldenDir = "../testdata/rsyncexec"

type goldenCase struct {
	name string
	cmd  Command
}

func goldenCases(t *testing.T) []goldenCase {
	auth := func(t Target) Target {
		t.Rsync.Auth = confxml.Auth{Enabled: true, Users: "rsync_backup", PasswordFile: "/etc/rsync.password"}
		return t
	}
	portTimeout := func(t Target) Target {
		t.Rsync.Port = confxml.Port{Enabled: true, Port: 874}
		t.Rsync.Timeout = confxml.Timeout{Enabled: true, Seconds: 100}
		return t
	}
	ssh := func(t Target) Target {
		t.Rsync.SSH = confxml.SSH{Enabled: true}
		t.Remote.Name = "/srv/www"
		return t
	}
	noDelete := func(t Target) Target { t.Delete = false; return t }
	maxDelete := func(t Target) Target { t.MaxDelete = 10; return t }
	params := func(p ...string) func(Target) Target {
		return func(t Target) Target {
			t.Rsync.Params = p
			t.Rsync.CommonParams = strings.Join(p, " ")
			return t
		}
	}
	with := func(fs ...func(Target) Target) Target {
		t := stock()
		for _, f := range fs {
			t = f(t)
		}
		return t
	}

	upd := files("a.txt", "d1/d2/f.txt")
	upd = append(upd, dirs("newdir")...)
	rm := append(files("d1/d2/old.txt"), dirs("rmme")...)

	names := hostileNames(t)
	var hostile []queue.Entry
	for i, n := range names {
		hostile = append(hostile, queue.Entry{Path: n, Dir: i%3 == 0})
		hostile = append(hostile, queue.Entry{Path: "sub [x]*/" + n + "/f"})
	}

	filtered := stock()
	filtered.CrontabExcludes = []string{"*.php"}
	filtered.Exclude = func(string, bool) bool { return false } // only its presence matters to FullCommand
	excluded := append(dirs("cache", "a/.svn"), files("x.svn", "br[1].svn", "nl\n.svn")...)
	movedExcluded := append(files("moved dir/a.tmp", "moved dir/sub/b.tmp", "a/b [x]*/*.tmp"), dirs("moved dir/.git")...)
	var hostileDirs, hostileExcluded []queue.Entry
	for i, n := range names {
		d := "moved " + strconv.Itoa(i) + "/" + n
		hostileDirs = append(hostileDirs, queue.Entry{Path: d, Dir: true})
		hostileExcluded = append(hostileExcluded, queue.Entry{Path: d + "/" + n + ".tmp"}, queue.Entry{Path: d + "/" + n + ".git", Dir: true})
	}
	quietFiltered := filtered
	quietFiltered.Rsync.Params = []string{"-artuzq", "--max-delete=100"}

	sshCmd := with(ssh)
	sshCmd.Rsync.SSH.Command = "ssh -p 2222 -i /root/.ssh/mirror"
	sshAuth := with(ssh, auth, portTimeout)
	ipv6 := with(auth)
	ipv6.Remote.IP = "fd00::2"
	hostileRoot := with(auth)
	hostileRoot.Root = "/srv/it's a \"root\" $(x)"

	// A local target: no daemon, no ssh; <auth>, <userDefinedPort> and
	// <ssh> leave its commands alone, <timeout> applies.
	local := func(t Target) Target {
		t.Remote = confxml.Remote{Dir: "/mnt/backup/www"}
		return t
	}
	hostileLocal := with(local, auth)
	hostileLocal.Remote.Dir = "/mnt/it's a \"backup\" $(x):1"

	return []goldenCase{
		{"local-update", UpdateCommand(with(local), upd)},
		{"local-remove", RemoveCommand(with(local), rm)},
		{"local-full", FullCommand(with(local), nil)},
		{"local-auth-port-ssh-update", UpdateCommand(with(local, auth, portTimeout, ssh), upd)},
		{"local-auth-port-ssh-full", FullCommand(with(local, auth, portTimeout, ssh, maxDelete), nil)},
		{"local-hostile-dir-update", UpdateCommand(hostileLocal, files("a.txt"))},
		{"stock-update", UpdateCommand(stock(), upd)},
		{"stock-remove", RemoveCommand(stock(), rm)},
		{"stock-full", FullCommand(stock(), nil)},
		{"auth-update", UpdateCommand(with(auth), upd)},
		{"auth-remove", RemoveCommand(with(auth), rm)},
		{"auth-full", FullCommand(with(auth), nil)},
		{"port-timeout-update", UpdateCommand(with(portTimeout), upd)},
		{"port-timeout-remove", RemoveCommand(with(portTimeout), rm)},
		{"port-timeout-auth-full", FullCommand(with(portTimeout, auth), nil)},
		{"ssh-update", UpdateCommand(with(ssh), upd)},
		{"ssh-remove", RemoveCommand(with(ssh), rm)},
		{"ssh-full", FullCommand(with(ssh), nil)},
		{"ssh-command-update", UpdateCommand(sshCmd, upd)},
		{"ssh-command-full", FullCommand(sshCmd, nil)},
		{"ssh-auth-port-full", FullCommand(sshAuth, nil)},
		{"delete-off-remove", RemoveCommand(with(noDelete), files("moveout.txt"))},
		{"delete-off-full", FullCommand(with(noDelete), nil)},
		{"delete-off-ssh-auth-full", FullCommand(with(noDelete, ssh, auth), nil)},
		{"empty-params-update", UpdateCommand(with(params()), files("a.txt"))},
		{"archive-params-update", UpdateCommand(with(params("-az", "--bwlimit", "100")), upd)},
		{"crontab-excludes-full", FullCommand(with(func(t Target) Target {
			t.CrontabExcludes = []string{"*.php", "info/*", "space d*", "--weird"}
			return t
		}), nil)},
		{"filter-full", FullCommand(filtered, excluded)},
		{"filter-dry-run", DryRunCommand(quietFiltered, excluded)},
		// A directory renamed or moved in, below which the filter excludes
		// paths: exclude rules first, then the rules selecting it.
		{"filter-dir-update", DirUpdateCommand(filtered, dirs("moved dir", "a/b [x]*"), movedExcluded)},
		{"filter-dir-update-ssh-auth", DirUpdateCommand(with(ssh, auth, portTimeout), dirs("moved dir"), movedExcluded)},
		{"filter-dir-update-local", DirUpdateCommand(with(local, auth), dirs("moved dir"), movedExcluded)},
		{"filter-dir-update-hostile", DirUpdateCommand(stock(), hostileDirs, hostileExcluded)},
		{"filter-replaced-remove", selectCommand(Remove, stock(), []queue.Entry{{Path: "moved dir", Dir: true, Replaced: true}}, movedExcluded)},
		{"ipv6-update", UpdateCommand(ipv6, files("a.txt"))},
		{"hostile-update", UpdateCommand(stock(), hostile)},
		{"hostile-remove", RemoveCommand(stock(), hostile)},
		{"hostile-root-update", UpdateCommand(hostileRoot, files("a.txt"))},
		// --max-delete goes to the full run only, and only with --delete.
		{"max-delete-full", FullCommand(with(maxDelete, auth), nil)},
		{"max-delete-ssh-crontab-full", FullCommand(with(maxDelete, ssh, func(t Target) Target {
			t.CrontabExcludes = []string{"*.php"}
			return t
		}), nil)},
		{"max-delete-delete-off-full", FullCommand(with(maxDelete, noDelete), nil)},
		{"max-delete-update", UpdateCommand(with(maxDelete), files("a.txt"))},
		{"max-delete-remove", RemoveCommand(with(maxDelete), files("a.txt"))},
	}
}

// TestGolden compares argv (one %q element per line), the stdin records
// (one %q record per line) and the Shell form with testdata/rsyncexec.
// go test ./rsyncexec -run TestGolden -update rewrites them.
func TestGolden(t *testing.T) {
	for _, tc := range goldenCases(t) {
		t.Run(tc.name, func(t *testing.T) {
			checkGolden(t, tc.name+".argv", quoteLines(tc.cmd.Argv))
			stdinFile := tc.name + ".stdin"
			if tc.cmd.Stdin != nil {
				checkGolden(t, stdinFile, quoteLines(tc.cmd.Stdin))
			} else if _, err := os.Stat(filepath.Join(goldenDir, stdinFile)); err == nil && !*update {
				t.Errorf("%s exists but the command reads no stdin", stdinFile)
			}
			checkGolden(t, tc.name+".sh", tc.cmd.String()+"\n")
		})
	}
}

func quoteLines(ss []string) string {
	var b strings.Builder
	for _, s := range ss {
		fmt.Fprintf(&b, "%q\n", s)
	}
	return b.String()
}

func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join(goldenDir, name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./rsyncexec -run TestGolden -update to create it)", err)
	}
	if got == string(want) {
		return
	}
	g, w := strings.Split(got, "\n"), strings.Split(string(want), "\n")
	for i := 0; i < len(g) || i < len(w); i++ {
		var gl, wl string
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if gl != wl {
			t.Errorf("%s line %d:\n got: %s\nwant: %s", name, i+1, gl, wl)
		}
	}
}

// TestArgvFromOriginal checks the builders against the argv the original's
// shell strings produce (daemon and ssh destinations, auth, port and
// timeout, delete off, crontab excludes): full runs are identical; update
// and remove runs keep every option and the destination and move the file
// names to stdin.
func TestArgvFromOriginal(t *testing.T) {
	auth := stock()
	auth.Rsync.Auth = confxml.Auth{Enabled: true, Users: "rsync_backup", PasswordFile: "/etc/rsync.password"}
	pt := stock()
	pt.Rsync.Port = confxml.Port{Enabled: true, Port: 874}
	pt.Rsync.Timeout = confxml.Timeout{Enabled: true, Seconds: 100}
	ptAuth := pt
	ptAuth.Rsync.Auth = auth.Rsync.Auth
	ssh := stock()
	ssh.Rsync.SSH.Enabled = true
	ssh.Remote.Name = "/srv/www"
	noDel := stock()
	noDel.Delete = false
	cron := stock()
	cron.CrontabExcludes = []string{"*.php", "info/*"}

	tests := []struct {
		name      string
		cmd       Command
		argv      []string
		stdin     []string
		stdinNone bool
	}{
		{"update of one file", UpdateCommand(stock(), files("a.txt")),
			[]string{"rsync", "-artuz", "-R", "--sockopts=TCP_NODELAY", "--from0", "--files-from=-", "--ignore-missing-args", "./", "10.0.0.2::www"},
			[]string{"a.txt"}, false},
		{"remove of a nested file", RemoveCommand(stock(), files("d1/d2/old.txt")),
			[]string{"rsync", "-artuz", "-R", "--sockopts=TCP_NODELAY", "--delete", "./", "--from0", "--include-from=-", "--exclude=*", "10.0.0.2::www"},
			[]string{"+ /d1/", "+ /d1/d2/", "+ /d1/d2/old.txt"}, false},
		{"remove of a directory", RemoveCommand(stock(), dirs("rmme")),
			[]string{"rsync", "-artuz", "-R", "--sockopts=TCP_NODELAY", "--delete", "./", "--from0", "--include-from=-", "--exclude=*", "10.0.0.2::www"},
			[]string{"+ /rmme", "+ /rmme/***"}, false},
		{"remove with delete off", RemoveCommand(noDel, files("moveout.txt")),
			[]string{"rsync", "-artuz", "-R", "--sockopts=TCP_NODELAY", "./", "--from0", "--include-from=-", "--exclude=*", "10.0.0.2::www"},
			[]string{"+ /moveout.txt"}, false},
		{"full sync with delete off", FullCommand(noDel, nil),
			[]string{"rsync", "-artuz", "-R", "./", "10.0.0.2::www"}, nil, true},
		{"update with auth", UpdateCommand(auth, files("a.txt")),
			[]string{"rsync", "-artuz", "-R", "--sockopts=TCP_NODELAY", "--from0", "--files-from=-", "--ignore-missing-args", "./",
				"rsync_backup@10.0.0.2::www", "--password-file=/etc/rsync.password"},
			[]string{"a.txt"}, false},
		{"full sync with auth", FullCommand(auth, nil),
			[]string{"rsync", "-artuz", "-R", "--delete", "./", "rsync_backup@10.0.0.2::www", "--password-file=/etc/rsync.password"},
			nil, true},
		{"update with port and timeout", UpdateCommand(pt, files("a.txt")),
			[]string{"rsync", "-artuz", "-R", "--sockopts=TCP_NODELAY", "--port=874", "--timeout=100", "--from0", "--files-from=-", "--ignore-missing-args", "./", "10.0.0.2::www"},
			[]string{"a.txt"}, false},
		{"remove with port and timeout", RemoveCommand(pt, files("a.txt")),
			[]string{"rsync", "-artuz", "-R", "--sockopts=TCP_NODELAY", "--port=874", "--timeout=100", "--delete", "./", "--from0", "--include-from=-", "--exclude=*", "10.0.0.2::www"},
			[]string{"+ /a.txt"}, false},
		{"full sync with port, timeout and auth", FullCommand(ptAuth, nil),
			[]string{"rsync", "-artuz", "-R", "--delete", "./", "--port=874", "--timeout=100", "rsync_backup@10.0.0.2::www", "--password-file=/etc/rsync.password"},
			nil, true},
		{"update over ssh", UpdateCommand(ssh, files("a.txt")),
			[]string{"rsync", "-artuz", "-R", "-e", "ssh", "--from0", "--files-from=-", "--ignore-missing-args", "./", "10.0.0.2:/srv/www"},
			[]string{"a.txt"}, false},
		{"remove over ssh", RemoveCommand(ssh, files("a.txt")),
			[]string{"rsync", "-artuz", "-R", "-e", "ssh", "--delete", "./", "--from0", "--include-from=-", "--exclude=*", "10.0.0.2:/srv/www"},
			[]string{"+ /a.txt"}, false},
		{"full sync over ssh", FullCommand(ssh, nil),
			[]string{"rsync", "-artuz", "-R", "--delete", "./", "-e", "ssh", "10.0.0.2:/srv/www"}, nil, true},
		{"full sync with crontab excludes", FullCommand(cron, nil),
			[]string{"rsync", "-artuz", "-R", "--delete", "./", "10.0.0.2::www", "--exclude=*.php", "--exclude=info/*"}, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !reflect.DeepEqual(tt.cmd.Argv, tt.argv) {
				t.Errorf("argv\n got %q\nwant %q", tt.cmd.Argv, tt.argv)
			}
			if tt.stdinNone {
				if tt.cmd.Stdin != nil {
					t.Errorf("stdin %q, want none", tt.cmd.Stdin)
				}
			} else if !reflect.DeepEqual(tt.cmd.Stdin, tt.stdin) {
				t.Errorf("stdin\n got %q\nwant %q", tt.cmd.Stdin, tt.stdin)
			}
			if tt.cmd.Dir != "/data" {
				t.Errorf("dir %q, want /data", tt.cmd.Dir)
			}
		})
	}
}
