package confxml

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sersync-go/sersync2/internal/shellwords"
)

// TestLoad loads every accepted fixture and compares the whole Config and
// every warning.
func TestLoad(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		file  string
		setup func(t *testing.T, e env)
		want  func(e env) Config
		warns []string // one substring per expected warning, in order
	}{
		{name: "base", file: "base.xml", want: base},
		{name: "bom without declaration", file: "bom-no-declaration.xml", want: base},
		{name: "auth on", file: "auth-on.xml", want: func(e env) Config {
			c := base(e)
			c.Sersync.Rsync.Auth = Auth{Enabled: true, Users: "rsync_backup", PasswordFile: e.secrets}
			return c
		}},
		{
			name: "auth on, group-readable password file", file: "auth-on.xml",
			setup: func(t *testing.T, e env) { chmod(t, e.secrets, 0o640) },
			want: func(e env) Config {
				c := base(e)
				c.Sersync.Rsync.Auth = Auth{Enabled: true, Users: "rsync_backup", PasswordFile: e.secrets}
				return c
			},
			warns: []string{`rsync.secrets" has mode 0640: the group can read the rsync password; chmod 600`},
		},
		{name: "ssh", file: "ssh.xml", want: func(e env) Config {
			c := base(e)
			c.Sersync.Rsync.SSH = SSH{Enabled: true}
			c.Sersync.LocalPaths[0].Remotes[0].Name = "/backup/www"
			return c
		}},
		{name: "ssh command", file: "ssh-command.xml", want: func(e env) Config {
			c := base(e)
			c.Sersync.Rsync.SSH = SSH{Enabled: true, Command: "ssh -p 2222 -i '/root/.ssh/mirror key'"}
			c.Sersync.LocalPaths[0].Remotes[0].Name = "/backup/www"
			return c
		}},
		{
			name: "ssh without start", file: "ssh-missing-start.xml", want: base,
			warns: []string{`<sersync><rsync><ssh>: attribute start missing, taken as "false"`},
		},
		{
			name: "ssh start without value", file: "ssh-start-no-value.xml", want: base,
			warns: []string{`<sersync><rsync><ssh>: attribute start: "start" is not "true" or "false", taken as "false"`},
		},
		{
			name: "ssh with userDefinedPort", file: "ssh-userdefinedport.xml",
			want: func(e env) Config {
				c := base(e)
				c.Sersync.Rsync.SSH = SSH{Enabled: true}
				c.Sersync.Rsync.Port = Port{Enabled: true, Port: 874}
				return c
			},
			warns: []string{`<sersync><rsync><userDefinedPort>: start="true" is meaningless with <ssh start="true">`},
		},
		{name: "several remotes", file: "several-remotes.xml", want: func(e env) Config {
			c := base(e)
			c.Sersync.LocalPaths[0].Remotes = []Remote{{IP: "10.0.0.2", Name: "www"}, {IP: "10.0.0.3", Name: "www"}, {IP: "backup.example.com", Name: "mirror"}}
			return c
		}},
		{name: "local target", file: "local-target.xml", want: func(e env) Config {
			c := base(e)
			c.Sersync.LocalPaths[0].Remotes = append(c.Sersync.LocalPaths[0].Remotes, Remote{Dir: e.dir + "/backup/www"})
			return c
		}},
		{name: "local target only", file: "local-target-only.xml", want: func(e env) Config {
			c := base(e)
			c.Sersync.LocalPaths[0].Remotes = []Remote{{Dir: e.dir + "/backup/www"}}
			return c
		}},
		{
			name: "local target with auth and port", file: "local-target-auth-port.xml",
			want: func(e env) Config {
				c := base(e)
				c.Sersync.LocalPaths[0].Remotes = append(c.Sersync.LocalPaths[0].Remotes, Remote{Dir: e.dir + "/backup/www"})
				c.Sersync.Rsync.Auth = Auth{Enabled: true, Users: "rsync_backup", PasswordFile: e.secrets}
				c.Sersync.Rsync.Port = Port{Enabled: true, Port: 8873}
				return c
			},
			warns: []string{`<sersync><rsync>: <auth>, <userDefinedPort> start="true" does not apply to the local targets (<localtarget>): their rsync runs without it`},
		},
		{name: "several localpaths", file: "several-localpaths.xml", want: func(e env) Config {
			c := base(e)
			c.Sersync.LocalPaths = append(c.Sersync.LocalPaths,
				LocalPath{Watch: e.watch2, Remotes: []Remote{{IP: "10.0.0.3", Name: "img"}, {IP: "10.0.0.4", Name: "img"}}})
			return c
		}},
		{name: "filter on", file: "filter-on.xml", want: func(e env) Config {
			c := base(e)
			c.Filter = Filter{
				Enabled: true,
				Exclude: []string{`(.*)\.svn`, `(.*)\.gz`, `^info/*`, `^static/*`},
				Regexps: mustRegexps(`^(?ms:(.*)\.svn)$`, `^(?ms:(.*)\.gz)$`, `^(?ms:^info/*)$`, `^(?ms:^static/*)$`),
			}
			return c
		}},
		{name: "filter syncDotfiles", file: "filter-syncdotfiles.xml", want: func(e env) Config {
			c := base(e)
			c.Filter.SyncDotfiles = true
			return c
		}},
		{name: "crontab with crontabfilter", file: "crontab-crontabfilter.xml", want: func(e env) Config {
			c := base(e)
			c.Sersync.Crontab = Crontab{Enabled: true, Schedule: 30 * time.Minute, FilterEnabled: true, Exclude: []string{"*.php", "info/*"}}
			return c
		}},
		{
			name: "crontab schedule not numeric", file: "crontab-schedule-not-numeric.xml",
			want: func(e env) Config {
				c := base(e)
				c.Sersync.Crontab = Crontab{Enabled: true, Schedule: 600 * time.Minute}
				return c
			},
			warns: []string{`<sersync><crontab>: attribute schedule: "hourly" is not a positive number of minutes, taken as 600`},
		},
		{
			name: "crontab schedule atoi", file: "crontab-schedule-atoi.xml",
			want: func(e env) Config {
				c := base(e)
				c.Sersync.Crontab = Crontab{Enabled: true, Schedule: 45 * time.Minute}
				return c
			},
			warns: []string{`<sersync><crontab>: attribute schedule: "45min" is not a positive number of minutes, taken as 45`},
		},
		{
			name: "failLog path and time empty", file: "faillog-path-empty.xml",
			want: func(e env) Config {
				c := base(e)
				c.Sersync.FailLog = FailLog{Path: "rsync_fail_log.sh", Interval: 120 * time.Minute}
				return c
			},
			warns: []string{`<sersync><failLog>: attribute path is empty, taken as "rsync_fail_log.sh" in the working directory`},
		},
		{
			name: "params without recursion", file: "params-no-recursion.xml",
			want: func(e env) Config {
				c := base(e)
				c.Sersync.Rsync.CommonParams = "-tuz --bwlimit=100 --exclude='a b'"
				c.Sersync.Rsync.Params = []string{"-tuz", "--bwlimit=100", "--exclude=a b"}
				return c
			},
			warns: []string{`<sersync><rsync><commonParams>: attribute params: "-tuz --bwlimit=100 --exclude='a b'" has no -r, -a, --recursive or --archive`},
		},
		{
			name: "toggle not exactly true", file: "toggle-not-exactly-true.xml",
			want: func(e env) Config {
				c := base(e)
				c.Inotify.Delete = false
				return c
			},
			warns: []string{
				`<debug>: attribute start: "True" is not "true" or "false", taken as "false"`,
				`<inotify><delete>: attribute start: " true" is not "true" or "false"`,
				`<inotify><modify>: attribute start: "yes" is not "true" or "false"`,
			},
		},
		{name: "watch with trailing slash", file: "watch-trailing-slash.xml", want: base},
		{
			name: "values with blanks are kept", file: "value-with-blanks.xml",
			setup: func(t *testing.T, e env) { mkdir(t, e.watch+" ") },
			want: func(e env) Config {
				c := base(e)
				c.Sersync.LocalPaths[0].Watch = e.watch + " "
				return c
			},
			warns: []string{`<sersync><localpath> #1: attribute watch: "`},
		},
		{
			name: "a daemon module with a single space", file: "remote-module-space.xml",
			want: func(e env) Config {
				c := base(e)
				c.Sersync.LocalPaths[0].Remotes[0].Name = "my www/sub  dir "
				return c
			},
			warns: []string{`<sersync><localpath> #1<remote> #1: attribute name: "my www/sub  dir " has leading or trailing blanks, kept as written`},
		},
		{name: "watch root", file: "watch-root.xml", want: func(e env) Config {
			c := base(e)
			c.Sersync.LocalPaths[0].Watch = "/"
			return c
		}},
		{name: "bare ampersand and entities", file: "bare-ampersand.xml", want: func(e env) Config {
			c := base(e)
			c.Host.IP = "a&b é &nbsp;"
			c.Sersync.LocalPaths[0].Remotes[0].Name = "www&co"
			return c
		}},
		{name: "plugin command", file: "plugin-command.xml", want: func(e env) Config {
			c := base(e)
			c.Sersync.Plugin = PluginSwitch{Enabled: true, Name: "command"}
			c.Command = CommandPlugin{
				Present: true, Prefix: "/usr/local/bin/hook --tag 'a b'", Suffix: "--x", FilterEnabled: true,
				Include: []string{`(.*)\.php`, `(.*)\.sh`},
				Regexps: mustRegexps(`^(?ms:(.*)\.php)$`, `^(?ms:(.*)\.sh)$`),
			}
			return c
		}},
		{name: "plugin socket", file: "plugin-socket.xml", want: func(e env) Config {
			c := base(e)
			c.Sersync.Plugin = PluginSwitch{Enabled: true, Name: "socket"}
			c.Socket.Watch = e.watch + "/" // verbatim, as the original
			return c
		}},
		{name: "plugin socket IPv6", file: "plugin-socket-ipv6.xml", want: func(e env) Config {
			c := base(e)
			c.Sersync.Plugin = PluginSwitch{Enabled: true, Name: "socket"}
			c.Socket.IP = "::1"
			return c
		}},
		{name: "plugin refreshCDN", file: "plugin-refreshcdn.xml", want: func(e env) Config {
			c := base(e)
			c.Sersync.Plugin = PluginSwitch{Enabled: true, Name: "refreshCDN"}
			c.RefreshCDN.Regex = true
			c.RefreshCDN.MatchRegexp = mustRegexps(`(?ms:data([/a-z0-9]*))`)[0]
			return c
		}},
		{name: "case-insensitive names", file: "case-insensitive.xml", want: func(e env) Config {
			return Config{
				Host:   Host{IP: "localhost", Port: "8008"},
				Debug:  true,
				XFS:    true,
				Filter: Filter{Enabled: true, Exclude: []string{`(.*)\.svn`}, Regexps: mustRegexps(`^(?ms:(.*)\.svn)$`)},
				Inotify: Inotify{Delete: true, CreateFolder: true, CreateFile: true, CloseWrite: true,
					MoveFrom: true, MoveTo: true, Attrib: true, Modify: true},
				Sersync: Sersync{
					LocalPaths: []LocalPath{{Watch: e.watch, Remotes: []Remote{{IP: "10.0.0.2", Name: "www"}}}},
					Rsync: Rsync{CommonParams: "-artuz", Params: []string{"-artuz"},
						Port: Port{Enabled: true, Port: 874}, Timeout: Timeout{Enabled: true, Seconds: 100}},
					FailLog: FailLog{Path: "/tmp/rsync_fail_log.sh", Interval: 60 * time.Minute},
					Crontab: Crontab{Schedule: 600 * time.Minute},
					Plugin:  PluginSwitch{Enabled: true, Name: "command"},
				},
				Command: CommandPlugin{Present: true, Prefix: "/usr/local/bin/hook", IgnoreError: true},
			}
		}},
		{
			name: "UTF-8 path in a file declared ISO-8859-1", file: "utf8-path-iso-declared.xml",
			setup: func(t *testing.T, e env) { mkdir(t, e.watch+"/图片") },
			want: func(e env) Config {
				c := base(e)
				c.Sersync.LocalPaths[0] = LocalPath{Watch: e.watch + "/\xe5\x9b\xbe\xe7\x89\x87", Remotes: []Remote{{IP: "10.0.0.2", Name: "\xe5\x9b\xbe\xe7\x89\x87"}}}
				c.Filter = Filter{Enabled: true, Exclude: []string{`(.*)\.临时`}, Regexps: mustRegexps(`^(?ms:(.*)\.临时)$`)}
				c.Sersync.FailLog.Path = "/tmp/失败.sh"
				c.Command, c.Socket, c.RefreshCDN = CommandPlugin{}, SocketPlugin{}, RefreshCDNPlugin{}
				return c
			},
		},
		{
			name: "Latin-1 and invalid UTF-8 bytes pass through", file: "latin1-bytes-iso-declared.xml",
			setup: func(t *testing.T, e env) { mkdir(t, e.watch+"/caf\xe9") },
			want: func(e env) Config {
				c := base(e)
				c.Sersync.LocalPaths[0] = LocalPath{Watch: e.watch + "/caf\xe9", Remotes: []Remote{{IP: "10.0.0.2", Name: "caf\xe9 \xff\xfe"}}}
				c.Sersync.FailLog.Path = "/tmp/\xe9chec.sh"
				c.Command, c.Socket, c.RefreshCDN = CommandPlugin{}, SocketPlugin{}, RefreshCDNPlugin{}
				return c
			},
		},
		{
			name: "hostile names", file: "hostile-names.xml",
			setup: func(t *testing.T, e env) { mkdir(t, filepath.Join(e.watch, hostile)) },
			want: func(e env) Config {
				c := base(e)
				c.Sersync.LocalPaths[0] = LocalPath{Watch: e.watch + "/" + hostile, Remotes: []Remote{{IP: "10.0.0.2", Name: "/backup/" + hostileRemote}}}
				c.Sersync.Rsync.SSH = SSH{Enabled: true, Command: "ssh -o 'ProxyCommand=nc %h %p'"}
				return c
			},
		},
		{
			name: "duplicates: the first wins", file: "duplicates-first-wins.xml",
			want: func(e env) Config {
				c := base(e)
				c.Host = Host{IP: "first", Port: "1"}
				c.Debug = true
				c.Sersync.FailLog.Path = "/tmp/first.sh"
				c.Sersync.Plugin = PluginSwitch{Enabled: true, Name: "command"}
				c.Command = CommandPlugin{Present: true, Prefix: "/bin/first"}
				c.Socket, c.RefreshCDN = SocketPlugin{}, RefreshCDNPlugin{}
				return c
			},
			warns: []string{
				"<host>: 2 elements, only the first is used",
				"<debug>: 2 elements",
				"<inotify><delete>: 2 elements",
				`<plugin name="command">: more than one block, only the first is used`,
				"<sersync>: 2 elements",
				"<sersync><rsync>: 2 elements",
				"<sersync><rsync><commonParams>: 2 elements",
				"<sersync><failLog>: 2 elements",
			},
		},
		{name: "comments inside elements", file: "comments-inside.xml", want: func(e env) Config {
			c := base(e)
			c.Command = CommandPlugin{Present: true, Prefix: "/bin/sh", IgnoreError: true}
			c.Socket, c.RefreshCDN = SocketPlugin{}, RefreshCDNPlugin{}
			return c
		}},
		{
			name: "unknown elements", file: "unknown-element.xml",
			want: func(e env) Config {
				c := base(e)
				c.Command = CommandPlugin{Present: true, Prefix: "/bin/sh", IgnoreError: true}
				c.Socket, c.RefreshCDN = SocketPlugin{}, RefreshCDNPlugin{}
				return c
			},
			warns: []string{
				"<inotify><closeNoWrite>: unknown element, ignored",
				"<sersync><localpath><remote><port>: unknown element, ignored",
				"<sersync><rsync><compress>: unknown element, ignored",
				"<logging>: unknown element, ignored",
			},
		},
		{
			name: "optional elements missing", file: "missing-optional-elements.xml",
			want: func(e env) Config {
				c := Default()
				c.Sersync.LocalPaths = []LocalPath{{Watch: e.watch, Remotes: []Remote{{IP: "10.0.0.2", Name: "www"}}}}
				return c
			},
			warns: []string{
				`<host>: element missing, taken as hostip=""`,
				`<host>: element missing, taken as port=""`,
				`<debug>: element missing, taken as start="false"`,
				`<fileSystem>: element missing, taken as xfs="false"`,
				`<filter>: element missing, taken as start="false"`,
				`<inotify>: element missing, every event toggle taken as start="false"`,
				`<sersync><rsync>: element missing`,
				`<sersync><rsync><commonParams>: attribute params: "" has no -r, -a`,
				`<sersync><failLog>: element missing, taken as path="rsync_fail_log.sh"`,
				`<sersync><failLog>: element missing, taken as timeToExecute="120"`,
				`<sersync><crontab>: element missing, taken as start="false"`,
				`<sersync><plugin>: element missing, taken as start="false"`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			path, e := fixture(t, tt.file)
			if tt.setup != nil {
				tt.setup(t, e)
			}
			got, err := Load(path)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			want := tt.want(e)
			want.Path = path
			diffConfig(t, got, want)
			checkWarnings(t, got.Warnings, tt.warns)
			if p, err := shellwords.Split(got.Sersync.Rsync.CommonParams); err != nil || strings.Join(p, "\x00") != strings.Join(got.Sersync.Rsync.Params, "\x00") {
				t.Errorf("Params %q is not CommonParams %q split", got.Sersync.Rsync.Params, got.Sersync.Rsync.CommonParams)
			}
		})
	}
}

func chmod(t *testing.T, path string, mode os.FileMode) {
	t.Helper()
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
}

// TestLoadRefuses loads every bad-*.xml fixture that is well-formed XML and
// checks that each problem is reported, naming its element, all at once.
func TestLoadRefuses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string // subtest name when file is not enough
		file  string
		setup func(t *testing.T, e env)
		errs  []string // each must appear in the error text
		n     int      // number of problems reported
		is    error    // errors.Is target, if any
	}{
		{file: "bad-no-sersync.xml", n: 1, errs: []string{"confxml: <sersync>: element missing"}},
		{file: "bad-no-localpath.xml", n: 1, errs: []string{"confxml: <sersync><localpath>: element missing: there is nothing to watch"}},
		{file: "bad-watch-empty.xml", n: 1, errs: []string{`confxml: <sersync><localpath> #1: attribute watch: "" is empty`}},
		{file: "bad-watch-relative.xml", n: 1, errs: []string{`confxml: <sersync><localpath> #1: attribute watch: "data/www" is not an absolute path`}},
		{file: "bad-watch-missing-dir.xml", n: 1, errs: []string{`confxml: <sersync><localpath> #1: attribute watch: "`, `/no-such-dir": no such file or directory`}, is: fs.ErrNotExist},
		{file: "bad-no-remote.xml", n: 1, errs: []string{"confxml: <sersync><localpath> #1<remote>: element missing: there is nowhere to push to"}},
		{file: "bad-remote-no-ip.xml", n: 1, errs: []string{"confxml: <sersync><localpath> #1<remote> #2: attribute ip missing"}},
		{file: "bad-remote-no-name.xml", n: 1, errs: []string{`confxml: <sersync><localpath> #1<remote> #2: attribute name: "" is empty`}},
		{file: "bad-ssh-remote-ip-option.xml", n: 1, errs: []string{`confxml: <sersync><localpath> #1<remote> #2: attribute ip: "-oProxyCommand=/tmp/pwn" is not a host name: it starts with '-'`}},
		{file: "bad-ssh-remote-name-option.xml", n: 1, errs: []string{`confxml: <sersync><localpath> #1<remote> #1: attribute name: "--rsync-path=/tmp/pwn" cannot be addressed safely as a path on the ssh remote: it starts with '-'`}},
		{file: "bad-ssh-remote-name-space.xml", n: 1, errs: []string{`confxml: <sersync><localpath> #1<remote> #1: attribute name: "/backup/my www" cannot be addressed safely as a path on the ssh remote: it holds whitespace`}},
		{file: "bad-ssh-remote-name-newline.xml", n: 1, errs: []string{`confxml: <sersync><localpath> #1<remote> #1: attribute name: "/backup/www\ntouch /tmp/pwn" cannot be addressed safely as a path on the ssh remote: it holds a control character`}},
		{file: "bad-remote-ip-blank.xml", n: 1, errs: []string{`confxml: <sersync><localpath> #1<remote> #1: attribute ip: " 10.0.0.2" is not a host name: it holds whitespace`}},
		{file: "bad-remote-module-option.xml", n: 1, errs: []string{`confxml: <sersync><localpath> #1<remote> #1: attribute name: "-x" cannot be addressed safely as a module of the rsync daemon: it starts with '-'`}},
		{file: "bad-remote-module-control.xml", n: 1, errs: []string{`confxml: <sersync><localpath> #1<remote> #1: attribute name: "www\t" cannot be addressed safely as a module of the rsync daemon: it holds a control character`}},
		{file: "bad-remote-module-spaces.xml", n: 1, errs: []string{`confxml: <sersync><localpath> #1<remote> #1: attribute name: "my  www" cannot be addressed safely as a module of the rsync daemon: it has a module name with leading, trailing or repeated spaces`}},
		{file: "bad-port-not-numeric.xml", n: 1, errs: []string{`confxml: <sersync><rsync><userDefinedPort>: attribute port: "87a" is not a port number (1..65535)`}},
		{file: "bad-port-out-of-range.xml", n: 1, errs: []string{`confxml: <sersync><rsync><userDefinedPort>: attribute port: "65536" is not a port number (1..65535)`}},
		{file: "bad-timeout-not-numeric.xml", n: 1, errs: []string{`confxml: <sersync><rsync><timeout>: attribute time: "100s" is not a number of seconds`}},
		{file: "bad-faillog-time-not-numeric.xml", n: 1, errs: []string{`confxml: <sersync><failLog>: attribute timeToExecute: "hourly" is not a number of minutes`}},
		{file: "bad-password-file-missing.xml", n: 1, errs: []string{`confxml: <sersync><rsync><auth>: attribute passwordfile: "`, `no-such.secrets": no such file or directory`}},
		{
			file: "bad-password-file-world-readable.xml", n: 1,
			setup: func(t *testing.T, e env) { chmod(t, e.secrets, 0o644) },
			errs:  []string{`confxml: <sersync><rsync><auth>: attribute passwordfile: "`, `rsync.secrets" has mode 0644`, "must not be other-accessible", "chmod 600"},
		},
		{
			name: "password file not owned by root", file: "auth-on.xml", n: 1,
			setup: func(t *testing.T, e env) {
				if os.Geteuid() != 0 {
					t.Skip("rsync only checks the owner when it runs as root")
				}
				if err := os.Chown(e.secrets, 65534, 65534); err != nil {
					t.Fatal(err)
				}
			},
			errs: []string{`rsync.secrets" is owned by uid 65534: rsync running as root refuses a password file not owned by root`},
		},
		{file: "bad-auth-with-ssh.xml", n: 1, errs: []string{"confxml: <sersync><rsync><auth> and <sersync><rsync><ssh>:", "rsync refuses --password-file over a remote shell"}},
		{file: "bad-filter-regex.xml", n: 1, errs: []string{`confxml: <filter><exclude> #2: attribute expression: "(.*\\.gz" is not a valid regular expression`, "missing closing )"}},
		{file: "bad-filter-regex-lookahead.xml", n: 1, errs: []string{`confxml: <filter><exclude> #1: attribute expression: "(?!keep)(.*)\\.log" is not a valid regular expression`, "RE2", "lookahead"}},
		{file: "bad-filter-regex-latin1.xml", n: 1, errs: []string{"confxml: <filter><exclude> #1: attribute expression:", "cannot match bytes that are not UTF-8"}},
		{file: "bad-plugin-http.xml", n: 1, is: ErrUnknownPlugin, errs: []string{`confxml: <sersync><plugin>: attribute name: plugin "http" is not supported`}},
		{file: "bad-plugin-unknown-name.xml", n: 1, is: ErrUnknownPlugin, errs: []string{`confxml: <sersync><plugin>: attribute name: plugin "Command" is unknown: the name must be exactly "command", "socket" or "refreshCDN"`}},
		{file: "bad-plugin-block-missing.xml", n: 1, is: ErrPluginBlockMissing, errs: []string{`confxml: <plugin name="socket">: element missing: plugin socket is selected but <head> has no such block`}},
		{
			file: "bad-nested-localpaths.xml", n: 1,
			setup: func(t *testing.T, e env) { mkdir(t, e.watch+"/sub") },
			errs:  []string{`confxml: <sersync><localpath> #2: attribute watch: "`, `/watch/sub" is inside <sersync><localpath> #1 watch "`, "overlapping watch roots"},
		},
		{file: "bad-local-target-relative.xml", n: 1, errs: []string{`confxml: <sersync><localpath> #1<localtarget> #1: attribute dir: "backup/www" is not an absolute path`}},
		{file: "bad-local-target-empty.xml", n: 2, errs: []string{
			`confxml: <sersync><localpath> #1<localtarget> #1: attribute dir: "" is empty`,
			`confxml: <sersync><localpath> #1<localtarget> #2: attribute dir missing`,
		}},
		{file: "bad-local-target-inside-watch.xml", n: 1, errs: []string{`confxml: <sersync><localpath> #1<localtarget> #1: attribute dir: "`, `/watch/.backup" is inside <sersync><localpath> #1 watch "`, "would be seen and copied again"}},
		{file: "bad-local-target-contains-watch.xml", n: 1, errs: []string{`confxml: <sersync><localpath> #1<localtarget> #1: attribute dir: "`, `" contains <sersync><localpath> #1 watch "`}},
		{file: "bad-local-target-shared.xml", n: 1, errs: []string{`confxml: <sersync><localpath> #2<localtarget> #1: attribute dir: "`, `/backup/img" overlaps <sersync><localpath> #1<localtarget> #1 dir "`, "the full sync of each would delete what the other copied"}},
		{
			name: "local target inside the watch root through a symlink", file: "local-target.xml", n: 1,
			setup: func(t *testing.T, e env) {
				if err := os.Symlink(e.watch, filepath.Join(e.dir, "backup")); err != nil {
					t.Fatal(err)
				}
			},
			errs: []string{`confxml: <sersync><localpath> #1<localtarget> #1: attribute dir: "`, `/backup/www" is inside <sersync><localpath> #1 watch`},
		},
		{file: "bad-params-unbalanced.xml", n: 1, is: shellwords.ErrUnterminatedQuote, errs: []string{`confxml: <sersync><rsync><commonParams>: attribute params: "-artuz --exclude='a b" does not split into words`}},
		{file: "bad-ssh-command-unbalanced.xml", n: 1, is: shellwords.ErrUnterminatedQuote, errs: []string{`confxml: <sersync><rsync><ssh>: attribute command: "ssh -i \"/root/key" does not split into words`}},
		{file: "bad-command-include-regex.xml", n: 1, errs: []string{`confxml: <plugin name="command"><filter><include> #2: attribute expression: "*.sh" is not a valid regular expression`}},
		{file: "bad-socket-deshost.xml", n: 2, errs: []string{
			`confxml: <plugin name="socket"><localpath><deshost>: attribute ip: "192.168.1" is not an IP address`,
			`confxml: <plugin name="socket"><localpath><deshost>: attribute port: "0" is not a port number (1..65535)`,
		}},
		{file: "bad-refreshcdn-attributes.xml", n: 4, errs: []string{
			`confxml: <plugin name="refreshCDN"><localpath><cdninfo>: attribute domainname: "" is empty`,
			`confxml: <plugin name="refreshCDN"><localpath><cdninfo>: attribute port: "http" is not a port number`,
			`confxml: <plugin name="refreshCDN"><localpath><cdninfo>: attribute username missing`,
			`confxml: <plugin name="refreshCDN"><localpath><regexurl>: attribute match: "data([" is not a valid regular expression`,
		}},
		{file: "bad-several-problems.xml", n: 4, errs: []string{
			`confxml: <sersync><localpath> #1<remote> #1: attribute ip: "" is empty`,
			`confxml: <sersync><localpath> #1<remote> #2: attribute name missing`,
			`confxml: <sersync><rsync><userDefinedPort>: attribute port: "x" is not a port number`,
			`confxml: <sersync><rsync><timeout>: attribute time: "-1" is not a number of seconds`,
		}},
	}
	for _, tt := range tests {
		name := tt.name
		if name == "" {
			name = tt.file
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			path, e := fixture(t, tt.file)
			if tt.setup != nil {
				tt.setup(t, e)
			}
			_, err := Load(path)
			if err == nil {
				t.Fatal("Load accepted the file")
			}
			var pe *ParseError
			if errors.As(err, &pe) {
				t.Fatalf("a value problem reported as a ParseError: %v", err)
			}
			for _, s := range tt.errs {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error does not contain %q:\n%v", s, err)
				}
			}
			if n := len(leafErrors(err)); n != tt.n {
				t.Errorf("%d problems reported, want %d:\n%v", n, tt.n, err)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("errors.Is(err, %v) is false: %v", tt.is, err)
			}
		})
	}
}

// TestLoadParseError covers the problems the original reported as "XML
// Parsing error" with exit 255.
func TestLoadParseError(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		file string // fixture; "" means a path that does not exist
		msg  string // substring of ParseError.Msg
		line int    // -1: any line > 0
		is   error
	}{
		{name: "file not found", msg: MsgFileNotFound, is: fs.ErrNotExist},
		{name: "empty file", file: "bad-empty-file.xml", msg: MsgNoXMLData},
		{name: "no head", file: "bad-no-head.xml", msg: MsgFirstTagNotFound},
		{name: "unclosed element", file: "bad-unclosed-element.xml", msg: "end tag </head> does not match <inotify> opened at line 9, column 3", line: 56},
		{name: "end tag case", file: "bad-end-tag-case.xml", msg: "end tag </localpath> does not match <LocalPath> opened at line 20, column 5 (an end tag must repeat the start tag's name exactly, including case)", line: 22},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "absent.xml")
			if tt.file != "" {
				path, _ = fixture(t, tt.file)
			}
			_, err := Load(path)
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("Load: %v, want a *ParseError", err)
			}
			if pe.File != path || !strings.Contains(pe.Msg, tt.msg) || pe.Line != tt.line {
				t.Errorf("ParseError{File %q, Line %d, Msg %q}, want File %q, Line %d, Msg containing %q", pe.File, pe.Line, pe.Msg, path, tt.line, tt.msg)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("errors.Is(err, %v) is false", tt.is)
			}
		})
	}
}

func TestParseErrorReport(t *testing.T) {
	t.Parallel()
	tests := []struct {
		err  ParseError
		want string
	}{
		{ParseError{File: "confxml.xml", Msg: MsgFileNotFound},
			"XML Parsing error inside file 'confxml.xml'.\nError: File not found\nAt line 0, column 0.\n"},
		{ParseError{File: "/etc/sersync/c.xml", Msg: MsgFirstTagNotFound},
			"XML Parsing error inside file '/etc/sersync/c.xml'.\nError: First Tag not found\nAt line 0, column 0.\nFirst Tag should be 'head'.\n"},
		{ParseError{File: "c.xml", Line: 7, Col: 3, Msg: "Error: x"},
			"XML Parsing error inside file 'c.xml'.\nError: x\nAt line 7, column 3.\n"},
	}
	for _, tt := range tests {
		t.Run(tt.err.Msg, func(t *testing.T) {
			if got := tt.err.Report(); got != tt.want {
				t.Errorf("Report() = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestLoadSyntaxPositions checks line and column of malformed documents.
func TestLoadSyntaxPositions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, doc string
		line, col int
		msg       string
	}{
		{"never closed", "<head>\n  <sersync>\n", 2, 3, "Error: element <sersync> opened at line 2, column 3 is never closed"},
		{"stray end tag", "<head/>\n</head>", 2, 1, "Error: end tag </head> has no start tag"},
		{"unquoted path", "<head>\n<x watch=/data/>\n</head>", 2, 0, "Error: "},
		{"quote in value", "<head>\n<x a=\"b\"c\"/>\n</head>", 2, 0, "Error: "},
		{"unterminated comment", "<head>\n<!-- x\n</head>", 3, 0, "Error: "},
		{"reserved rune", "<head a=\"\U0010FF80\"/>", 0, 0, msgReservedRune},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := decode("c.xml", []byte(tt.doc), false, "")
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("decode: %v, want a *ParseError", err)
			}
			if pe.Line != tt.line || (tt.col != 0 && pe.Col != tt.col) || !strings.HasPrefix(pe.Msg, tt.msg) {
				t.Errorf("got line %d col %d %q, want line %d col %d %q", pe.Line, pe.Col, pe.Msg, tt.line, tt.col, tt.msg)
			}
		})
	}
}

// TestStock loads the stock file operators have, byte-identical to the
// 2.5.4 tarball's. Its watch directory /opt/tongbu does not exist here, so
// exactly that one problem is reported; everything else decodes.
func TestStock(t *testing.T) {
	t.Parallel()
	if _, err := os.Stat("/opt/tongbu"); err == nil {
		t.Skip("/opt/tongbu exists on this machine")
	}
	path := filepath.Join(fixtureDir, "stock-2.5.4.xml")
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// The file must stay byte-identical to the one in the 2.5.4 tarball.
	if sum := fmt.Sprintf("%x", sha256.Sum256(raw)); sum != "a34d675d9eb7edd078a1d6a021a8a7e1e2b67d066b6c9a7b328eeb594dbf9b93" {
		t.Fatalf("stock-2.5.4.xml was modified (sha256 %s)", sum)
	}
	got, err := Load(path)
	if n := len(leafErrors(err)); n != 1 || !strings.Contains(err.Error(), `confxml: <sersync><localpath> #1: attribute watch: "/opt/tongbu": no such file or directory`) {
		t.Fatalf("Load: %d problems, want only the missing /opt/tongbu: %v", n, err)
	}
	if !OnlyHostErrors(err) || !errors.Is(err, ErrHost) {
		t.Errorf("the missing watch directory is a problem of the host, not of the file: OnlyHostErrors=false for %v", err)
	}
	want := Config{
		Path:    path,
		Host:    Host{IP: "localhost", Port: "8008"},
		Inotify: Inotify{Delete: true, CreateFolder: true, CloseWrite: true, MoveFrom: true, MoveTo: true},
		Sersync: Sersync{
			LocalPaths: []LocalPath{{Watch: "/opt/tongbu", Remotes: []Remote{{IP: "127.0.0.1", Name: "tongbu1"}}}},
			Rsync:      Rsync{CommonParams: "-artuz", Params: []string{"-artuz"}},
			FailLog:    FailLog{Path: "/tmp/rsync_fail_log.sh", Interval: 60 * time.Minute},
			Crontab:    Crontab{Schedule: 600 * time.Minute},
		},
		Command: CommandPlugin{Present: true, Prefix: "/bin/sh", IgnoreError: true},
		Socket:  SocketPlugin{Present: true, Watch: "/opt/tongbu", IP: "192.168.138.20", Port: 8009},
		RefreshCDN: RefreshCDNPlugin{Present: true, Watch: "/data0/htdocs/cms.xoyo.com/site", DomainName: "ccms.chinacache.com",
			Port: 80, Username: "xxxx", Passwd: "xxxx", BaseURL: "http://pic.xoyo.com/cms",
			Match: "cms.xoyo.com/site([/a-zA-Z0-9]*).xoyo.com/images"},
	}
	diffConfig(t, got, want)
	checkWarnings(t, got.Warnings, nil)
}

// TestLoadPlugin covers -m mode: only <head>'s common part and the named
// plugin's block count.
func TestLoadPlugin(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, file, plugin string
		want               func(e env) Config // nil: an error is expected
		errs               []string
		is                 error
	}{
		{name: "socket without sersync", file: "plugin-only-socket.xml", plugin: "socket", want: func(e env) Config {
			return Config{
				Host:    Host{IP: "localhost", Port: "8008"},
				Inotify: Inotify{Delete: true, CreateFolder: true, CreateFile: true, CloseWrite: true, MoveFrom: true, MoveTo: true},
				Sersync: Default().Sersync,
				Socket:  SocketPlugin{Present: true, Watch: e.watch + "/", IP: "127.0.0.1", Port: 8009},
			}
		}},
		{name: "command watches the sersync localpaths", file: "base.xml", plugin: "command", want: func(e env) Config {
			c := base(e)
			c.Sersync = Default().Sersync
			c.Sersync.LocalPaths = []LocalPath{{Watch: e.watch}}
			return c
		}},
		{name: "refreshCDN", file: "bad-no-sersync.xml", plugin: "refreshCDN", want: func(e env) Config {
			c := base(e)
			c.Sersync = Default().Sersync
			return c
		}},
		{name: "broken sersync section is not read", file: "bad-watch-missing-dir.xml", plugin: "socket", want: func(e env) Config {
			c := base(e)
			c.Sersync = Default().Sersync
			return c
		}},
		{name: "problems of other plugins do not count", file: "bad-refreshcdn-attributes.xml", plugin: "socket", want: func(e env) Config {
			c := base(e)
			c.Sersync = Default().Sersync
			c.RefreshCDN = RefreshCDNPlugin{Present: true, Watch: e.watch, Passwd: "p1", BaseURL: "http://img.example.com/cms", Regex: true, Match: "data(["}
			return c
		}},
		{name: "problems of the plugin count", file: "bad-refreshcdn-attributes.xml", plugin: "refreshCDN",
			errs: []string{`<plugin name="refreshCDN"><localpath><cdninfo>: attribute domainname: "" is empty`}},
		{name: "command needs a sersync localpath", file: "plugin-only-socket.xml", plugin: "command", is: ErrPluginBlockMissing,
			errs: []string{"confxml: <sersync><localpath>: element missing", `confxml: <plugin name="command">: element missing`}},
		{name: "http", file: "base.xml", plugin: "http", is: ErrUnknownPlugin, errs: []string{`confxml: plugin "http" is not supported`}},
		{name: "unknown", file: "base.xml", plugin: "Socket", is: ErrUnknownPlugin, errs: []string{`confxml: plugin "Socket" is unknown`}},
		{name: "empty name", file: "base.xml", plugin: "", is: ErrUnknownPlugin, errs: []string{`confxml: plugin "" is unknown`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			path, e := fixture(t, tt.file)
			got, err := LoadPlugin(path, tt.plugin)
			if tt.want == nil {
				if err == nil {
					t.Fatal("LoadPlugin accepted the file")
				}
				for _, s := range tt.errs {
					if !strings.Contains(err.Error(), s) {
						t.Errorf("error does not contain %q:\n%v", s, err)
					}
				}
				if tt.is != nil && !errors.Is(err, tt.is) {
					t.Errorf("errors.Is(err, %v) is false: %v", tt.is, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("LoadPlugin: %v", err)
			}
			want := tt.want(e)
			want.Path = path
			diffConfig(t, got, want)
			if err := got.ValidatePlugin(tt.plugin); err != nil {
				t.Errorf("ValidatePlugin(%q) after LoadPlugin: %v", tt.plugin, err)
			}
		})
	}
}

// TestValidatePlugin checks the -m helper on Configs loaded in sync mode
// and built by hand.
func TestValidatePlugin(t *testing.T) {
	t.Parallel()
	path, _ := fixture(t, "bad-socket-deshost.xml")
	loaded, err := Load(path)
	if err == nil {
		t.Fatal("Load accepted bad-socket-deshost.xml")
	}
	tests := []struct {
		name   string
		c      Config
		plugin string
		is     error // nil: no error
		errs   string
	}{
		{"loaded, command fine", loaded, "command", nil, ""},
		{"loaded, socket broken", loaded, "socket", nil, `attribute ip: "192.168.1" is not an IP address`},
		{"hand-built, block present", Config{Socket: SocketPlugin{Present: true}}, "socket", nil, ""},
		{"hand-built, block missing", Config{}, "socket", ErrPluginBlockMissing, "element missing"},
		{"http", Config{}, "http", ErrUnknownPlugin, "not supported"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.c.ValidatePlugin(tt.plugin)
			if tt.errs == "" {
				if err != nil {
					t.Fatalf("ValidatePlugin(%q): %v", tt.plugin, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.errs) {
				t.Fatalf("ValidatePlugin(%q) = %v, want an error containing %q", tt.plugin, err, tt.errs)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("errors.Is(err, %v) is false", tt.is)
			}
		})
	}
}

func TestDefault(t *testing.T) {
	t.Parallel()
	c := Default()
	want := Config{Sersync: Sersync{
		FailLog: FailLog{Path: "rsync_fail_log.sh", Interval: 7200 * time.Second},
		Crontab: Crontab{Schedule: 600 * time.Minute},
	}}
	diffConfig(t, c, want)
}
