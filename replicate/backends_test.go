package replicate

import (
	"path/filepath"
	"slices"
	"testing"

	"github.com/sersync-go/sersync2/inotifymask"
	"github.com/sersync-go/sersync2/internal/confgen"
	"github.com/sersync-go/sersync2/internal/mnt"
)

// TestWatchBackends: with no backend asked for, each root is watched with
// fanotify where it can be (a directory of the test's temporary file
// system) and with inotify where it cannot (a ramfs gives no file
// handles), in one engine; InotifyNeeded says what that engine's watcher
// chose, before it starts.
func TestWatchBackends(t *testing.T) {
	t.Parallel()
	fan := mkdir(t, filepath.Join(t.TempDir(), "fan"))
	requireFanotify(t, fan)
	ram := mkdir(t, filepath.Join(t.TempDir(), "ram"))
	mnt.Ramfs(t, ram)
	const fanotify, inotify = inotifymask.BackendFanotify, inotifymask.BackendInotify
	tests := []struct {
		name    string
		watcher inotifymask.Backend
		roots   []string
		want    []inotifymask.Backend
	}{
		{"default, fanotify everywhere", "", []string{fan}, []inotifymask.Backend{fanotify}},
		{"default, a root without file handles", "", []string{fan, ram}, []inotifymask.Backend{fanotify, inotify}},
		{"auto", inotifymask.BackendAuto, []string{fan}, []inotifymask.Backend{fanotify}},
		{"inotify", inotify, []string{fan}, []inotifymask.Backend{inotify}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var roots []confgen.Root
			for _, r := range tt.roots {
				roots = append(roots, confgen.Root{Watch: r, Remotes: []confgen.Remote{{IP: "127.0.0.1", Name: "www"}}})
			}
			cfg := load(t, confgen.Config{Roots: roots}, "")
			o := Options{Watcher: tt.watcher, StateDir: t.TempDir()}
			wantInotify := slices.Contains(tt.want, inotify)
			if got := InotifyNeeded(cfg, o); got != wantInotify {
				t.Errorf("InotifyNeeded = %v, want %v", got, wantInotify)
			}
			var got []inotifymask.Backend
			for _, rb := range start(t, cfg, o).State().Backends {
				got = append(got, rb.Backend)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("backends %v, want %v", got, tt.want)
			}
		})
	}
}
