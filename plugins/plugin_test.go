package plugins

import (
	"errors"
	"testing"

	"github.com/sersync-go/sersync2/confxml"
)

func TestNew(t *testing.T) {
	t.Parallel()
	cfg := confxml.Config{
		Command:    confxml.CommandPlugin{Present: true, Prefix: "/bin/echo"},
		Socket:     confxml.SocketPlugin{Present: true, Watch: "/data2/", IP: "127.0.0.1", Port: 8009},
		RefreshCDN: baseCDN(8080),
	}
	tests := []struct {
		name    string
		wantErr error
	}{
		{"command", nil},
		{"socket", nil},
		{"refreshCDN", nil},
		{"http", ErrUnsupported},
		{"Command", ErrUnknown}, // case-sensitive, as the original
		{"refreshcdn", ErrUnknown},
		{"", ErrUnknown},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := New(tt.name, cfg, nil, nil)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) || p != nil {
					t.Fatalf("New(%q) = %v, %v; want %v", tt.name, p, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			if p.Name() != tt.name {
				t.Errorf("Name() = %q, want %q", p.Name(), tt.name)
			}
		})
	}
}

func TestNewRefreshCDNUsesCWDErrorLog(t *testing.T) {
	t.Parallel()
	p, err := New(NameRefreshCDN, confxml.Config{RefreshCDN: baseCDN(8080)}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := p.(*RefreshCDN).errorLog; got != "errorlog.txt" {
		t.Errorf("error log %q, want errorlog.txt in the working directory", got)
	}
}

func TestAbsPath(t *testing.T) {
	t.Parallel()
	tests := []struct{ watch, rel, want string }{
		{"/data", "a.txt", "/data/a.txt"},
		{"/data2/", "s1.txt", "/data2//s1.txt"}, // as the original: slash kept, "//" seen by plugins
		{"/data", "sub/f", "/data/sub/f"},
		{"/data", "", "/data"},
	}
	for _, tt := range tests {
		if got := AbsPath(tt.watch, tt.rel); got != tt.want {
			t.Errorf("AbsPath(%q, %q) = %q, want %q", tt.watch, tt.rel, got, tt.want)
		}
	}
}
