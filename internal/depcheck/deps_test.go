package depcheck

import (
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/sersync-go/sersync2"

// allowed lists, for each package of ours, which packages of ours it may
// import. Data flows one way: confxml, then the watcher (inotifymask),
// the queue, rsyncexec, then plugins and the failLog; replicate wires them,
// status reads the engine's state, and cmd/sersync2 starts it all.
// internal/… helpers may be imported by anyone and import only each other.
var allowed = map[string][]string{
	"startlines":   {"confxml", "replicate"},
	"cmd/sersync2": {"replicate", "status", "confxml", "lsyncdconf", "startlines"},
	"lsyncdconf":   {"confxml"},
	"status":       {"replicate"},
	"replicate":    {"confxml", "inotifymask", "queue", "rsyncexec", "plugins", "failog", "rootid"},
	"failog":       {"rsyncexec", "confxml", "queue"},
	"plugins":      {"queue", "confxml"},
	"rsyncexec":    {"queue", "confxml"},
	"queue":        {"inotifymask"},
	"inotifymask":  {"confxml"},
	"confxml":      {},
	"rootid":       {},
	// The benchmark asks the watcher whether fanotify can watch its work
	// directory before it runs the fanotify backend.
	"bench": {"inotifymask"},
}

// external lists the modules outside the standard library each package may
// use; anything else needs a decision recorded here.
var external = map[string][]string{
	"confxml":      {"github.com/beevik/etree"},
	"lsyncdconf":   {"github.com/yuin/gopher-lua"},
	"inotifymask":  {"github.com/fsnotify/fsnotify", "golang.org/x/sys/unix"},
	"rootid":       {"golang.org/x/sys/unix"},
	"cmd/sersync2": {"github.com/spf13/pflag", "golang.org/x/term"},
	"replicate":    {"github.com/robfig/cron/v3"},
	"status":       {"github.com/prometheus/client_golang", "golang.org/x/net/netutil"},
}

func TestImportDirection(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}} {{join .Imports " "}}`, module+"/...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	seen := 0
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		pkg := strings.TrimPrefix(strings.TrimPrefix(fields[0], module), "/")
		seen++
		for _, imp := range fields[1:] {
			if !strings.Contains(strings.SplitN(imp, "/", 2)[0], ".") {
				continue // standard library
			}
			if !strings.HasPrefix(imp, module+"/") {
				if strings.HasPrefix(pkg, "internal/") || allowedExternal(pkg, imp) {
					continue
				}
				t.Errorf("%s imports %s: not in this test's external list", pkg, imp)
				continue
			}
			dep := strings.TrimPrefix(imp, module+"/")
			if strings.HasPrefix(dep, "internal/") {
				continue
			}
			if strings.HasPrefix(pkg, "internal/") {
				t.Errorf("%s imports %s: internal helpers import only each other", pkg, dep)
				continue
			}
			if !contains(allowed[pkg], dep) {
				t.Errorf("%s imports %s: against the data flow (allowed: %v)", pkg, dep, allowed[pkg])
			}
		}
	}
	if seen < 3 {
		t.Fatalf("go list saw only %d packages; the check did not run", seen)
	}
}

func allowedExternal(pkg, imp string) bool {
	for _, e := range external[pkg] {
		if imp == e || strings.HasPrefix(imp, e+"/") {
			return true
		}
	}
	return false
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
