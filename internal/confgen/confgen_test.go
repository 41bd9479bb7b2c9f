package confgen

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/sersync-go/sersync2/confxml"
)

// TestRenderLoads: what Render writes is read back by confxml.Load as the
// settings it was given, hostile watch names included.
func TestRenderLoads(t *testing.T) {
	dir := t.TempDir()
	watch := filepath.Join(dir, `w "q" & <x>`)
	if err := os.Mkdir(watch, 0o755); err != nil {
		t.Fatal(err)
	}
	pw := filepath.Join(dir, "pw")
	if err := os.WriteFile(pw, []byte("x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c := Config{
		Roots:           []Root{{Watch: watch, Remotes: []Remote{{"127.0.0.1", "www"}, {"127.0.0.2", "m&n"}}}},
		Users:           "u",
		PasswordFile:    pw,
		Port:            8873,
		Timeout:         30,
		Filter:          []string{`(.*)\.gz`, `^info/*`},
		SyncDotfiles:    true,
		DeleteOff:       true,
		CrontabMinutes:  5,
		CrontabExcludes: []string{"*.php"},
	}
	p := filepath.Join(dir, "confxml.xml")
	if err := c.WriteFile(p); err != nil {
		t.Fatal(err)
	}
	got, err := confxml.Load(p)
	if err != nil {
		t.Fatal(err)
	}
	want := []confxml.LocalPath{{Watch: watch, Remotes: []confxml.Remote{{IP: "127.0.0.1", Name: "www"}, {IP: "127.0.0.2", Name: "m&n"}}}}
	if !reflect.DeepEqual(got.Sersync.LocalPaths, want) {
		t.Errorf("localpaths %+v, want %+v", got.Sersync.LocalPaths, want)
	}
	r := got.Sersync.Rsync
	if !r.Auth.Enabled || r.Auth.Users != "u" || r.Auth.PasswordFile != pw || r.Port.Port != 8873 || r.Timeout.Seconds != 30 || r.SSH.Enabled {
		t.Errorf("rsync settings %+v", r)
	}
	if !got.Filter.Enabled || !reflect.DeepEqual(got.Filter.Exclude, c.Filter) || !got.Filter.SyncDotfiles || got.Inotify.Delete {
		t.Errorf("filter/inotify %+v %+v", got.Filter, got.Inotify)
	}
	if cr := got.Sersync.Crontab; !cr.Enabled || !cr.FilterEnabled || !reflect.DeepEqual(cr.Exclude, c.CrontabExcludes) {
		t.Errorf("crontab %+v", cr)
	}
}
