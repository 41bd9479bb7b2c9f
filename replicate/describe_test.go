package replicate

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/sersync-go/sersync2/internal/confgen"
)

// TestDescribe: the settings follow the options (the default thread
// count when none is given, max-delete only when set, the state
// directory given); plugin-only mode stops after its mode line, with no
// rsync command.
func TestDescribe(t *testing.T) {
	t.Parallel()
	a := mkdir(t, filepath.Join(t.TempDir(), "a"))
	cfg := load(t, confgen.Config{Roots: []confgen.Root{{Watch: a, Remotes: []confgen.Remote{{IP: "10.0.0.2", Name: "www"}}}}}, "")
	state := t.TempDir()
	tests := []struct {
		name       string
		o          Options
		want, lack []string
	}{
		{"sync mode, defaults", Options{StateDir: state},
			[]string{"  rsync processes (-n) at most 10 at once\n", "  state directory      " + state + " ", "  root " + a + ": not recorded yet;",
				"watch " + a + "\n  remote 10.0.0.2::www\n    update: ", "    full:   cd " + a + " && "},
			[]string{"max-delete", "plugin only"}},
		{"threads and max-delete", Options{StateDir: state, Threads: 3, MaxDelete: 7},
			[]string{"  rsync processes (-n) at most 3 at once\n", "  max-delete           a full sync deletes at most 7 remote paths", "--max-delete=7"},
			nil},
		{"plugin only", Options{StateDir: state, Plugin: "command"},
			[]string{"  mode                 plugin only (-m command): no rsync\n"},
			[]string{"commonParams", "watch ", "update:"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b strings.Builder
			if err := Describe(&b, cfg, tt.o); err != nil {
				t.Fatal(err)
			}
			for _, w := range tt.want {
				if !strings.Contains(b.String(), w) {
					t.Errorf("lacks %q:\n%s", w, b.String())
				}
			}
			for _, l := range tt.lack {
				if strings.Contains(b.String(), l) {
					t.Errorf("has %q:\n%s", l, b.String())
				}
			}
			if !strings.HasPrefix(b.String(), "settings:\n") {
				t.Errorf("does not start with the settings:\n%s", b.String())
			}
		})
	}
}
