// Package buildinfo says which sersync2 a binary is: the version the
// Makefile stamps, and what the Go toolchain recorded in the binary (the
// VCS revision, whether the tree had uncommitted changes, the Go version).
// It reads; it stamps nothing.
package buildinfo

import (
	"runtime"
	"runtime/debug"
	"strings"
)

// Info describes one build.
type Info struct {
	// Version is the stamped version (git describe), else the module
	// version Go recorded, else "dev".
	Version string
	// Revision is the VCS commit the binary was built from; "" when the
	// build recorded none (go test, go run outside a checkout).
	Revision string
	// Modified is true when the tree had uncommitted changes.
	Modified bool
	// GoVersion is the toolchain that built it.
	GoVersion string
}

// Read returns the build's Info. stamped is the version set with -ldflags
// -X; "" or "dev" means none was.
func Read(stamped string) Info {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return from(stamped, nil, runtime.Version())
	}
	return from(stamped, bi, bi.GoVersion)
}

func from(stamped string, bi *debug.BuildInfo, goVersion string) Info {
	i := Info{Version: stamped, GoVersion: goVersion}
	if bi != nil {
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				i.Revision = s.Value
			case "vcs.modified":
				i.Modified = s.Value == "true"
			}
		}
		if (i.Version == "" || i.Version == "dev") && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			i.Version = bi.Main.Version
		}
	}
	if i.Version == "" {
		i.Version = "dev"
	}
	return i
}

// String is the --version line: "sersync2 VERSION (revision REV[, modified]) GOVERSION".
func (i Info) String() string {
	var b strings.Builder
	b.WriteString("sersync2 ")
	b.WriteString(i.Version)
	if i.Revision != "" {
		b.WriteString(" (revision ")
		b.WriteString(i.Revision)
		if i.Modified {
			b.WriteString(", modified")
		}
		b.WriteString(")")
	}
	b.WriteString(" ")
	b.WriteString(i.GoVersion)
	return b.String()
}
