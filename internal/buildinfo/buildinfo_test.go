package buildinfo

import (
	"runtime/debug"
	"testing"
)

func TestFrom(t *testing.T) {
	vcs := &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: []debug.BuildSetting{
		{Key: "vcs", Value: "git"}, {Key: "vcs.revision", Value: "0123abc"}, {Key: "vcs.modified", Value: "true"}}}
	module := &debug.BuildInfo{Main: debug.Module{Version: "v1.2.3"}}
	tests := []struct {
		name    string
		stamped string
		bi      *debug.BuildInfo
		want    Info
		line    string
	}{
		{"stamped, dirty checkout", "v1.0.0-3-gabc", vcs, Info{"v1.0.0-3-gabc", "0123abc", true, "go1.99"}, "sersync2 v1.0.0-3-gabc (revision 0123abc, modified) go1.99"},
		{"no stamp, checkout", "dev", vcs, Info{"dev", "0123abc", true, "go1.99"}, "sersync2 dev (revision 0123abc, modified) go1.99"},
		{"go install of a module", "", module, Info{"v1.2.3", "", false, "go1.99"}, "sersync2 v1.2.3 go1.99"},
		{"nothing recorded", "", nil, Info{"dev", "", false, "go1.99"}, "sersync2 dev go1.99"},
		{"clean checkout", "v2.0.0", &debug.BuildInfo{Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "ff"}, {Key: "vcs.modified", Value: "false"}}},
			Info{"v2.0.0", "ff", false, "go1.99"}, "sersync2 v2.0.0 (revision ff) go1.99"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := from(tt.stamped, tt.bi, "go1.99")
			if got != tt.want {
				t.Errorf("from = %+v, want %+v", got, tt.want)
			}
			if s := got.String(); s != tt.line {
				t.Errorf("String = %q, want %q", s, tt.line)
			}
		})
	}
}
