package status

import (
	"errors"
	"net"
	"strings"
	"testing"
	"time"
)

// TestFetchPending: a running status server gives its pending paths to a
// request with its token; without it or with a wrong one the refusal is
// ErrTokenRefused; where nobody listens it is another error.
func TestFetchPending(t *testing.T) {
	t.Parallel()
	const tok = "tok-77ab"
	addr, _ := runServer(t, "127.0.0.1:0", Options{Token: tok}, slowLimits)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()
	tests := []struct {
		name, addr, token string
		paths             int   // of the first remote, when no error
		wantErr           error // nil: success; errAny: any other error
	}{
		{"right token", addr, tok, 25, nil},
		{"no token", addr, "", 0, ErrTokenRefused},
		{"wrong token", addr, "nope", 0, ErrTokenRefused},
		{"nobody listens", closed, tok, 0, errAny},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := FetchPending(tt.addr, tt.token)
			switch {
			case tt.wantErr == nil && err != nil:
				t.Fatal(err)
			case tt.wantErr == nil:
				if len(r.Remotes) != 2 || len(r.Remotes[0].PendingPaths) != tt.paths || r.Remotes[0].PendingPaths[0].Name() != "new\nline<b>x</b>" {
					t.Errorf("report %+v", r.Remotes)
				}
			case err == nil:
				t.Errorf("no error, want %v", tt.wantErr)
			case tt.wantErr == errAny && errors.Is(err, ErrTokenRefused), tt.wantErr != errAny && !errors.Is(err, tt.wantErr):
				t.Errorf("error %v, want %v", err, tt.wantErr)
			}
		})
	}
}

// errAny stands for any error but the ones named in a test table.
var errAny = errors.New("any error")

// TestReadPendingFile: a status file rewritten lately is read; one not
// rewritten for three periods (at least 30 s) is no running instance's.
func TestReadPendingFile(t *testing.T) {
	t.Parallel()
	written := time.Now().Truncate(time.Second)
	p := writeSampleFile(t, written)
	tests := []struct {
		name  string
		file  string
		every time.Duration
		after time.Duration
		ok    bool
	}{
		{"fresh", p, 0, time.Second, true},
		{"30 s at the default period", p, 0, 30 * time.Second, true},
		{"stale at the default period", p, 0, 31 * time.Second, false},
		{"three long periods", p, 20 * time.Second, 60 * time.Second, true},
		{"past three long periods", p, 20 * time.Second, 61 * time.Second, false},
		{"missing", p + ".none", 0, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ReadPendingFile(tt.file, tt.every, written.Add(tt.after))
			if (err == nil) != tt.ok {
				t.Fatalf("error %v, want ok %v", err, tt.ok)
			}
			if tt.ok && len(got.Remotes[0].PendingPaths) != shownPending {
				t.Errorf("read %d paths, want %d", len(got.Remotes[0].PendingPaths), shownPending)
			}
		})
	}
}

// TestWritePending: one line per path (age, attempts, remote, path
// joined to its root and quoted when not printable); the remarks say
// what the list does not.
func TestWritePending(t *testing.T) {
	t.Parallel()
	now := time.Now()
	tests := []struct {
		name         string
		rr           RemoteReport
		out, remarks string
	}{
		{"plain", RemoteReport{Root: "/data", Remote: "h::m", Pending: 1, PendingPaths: []PendingPathReport{{Path: "a b", Since: now.Add(-1500 * time.Millisecond), Attempts: 2}}},
			"1.5s\t2\th::m\t/data/a b\n", ""},
		{"plugin, hostile name, clock ahead", RemoteReport{Root: "/data", Pending: 1, PendingPaths: []PendingPathReport{{Path: "x\ny", Since: now.Add(time.Second)}}},
			"0.0s\t0\t(plugin)\t\"/data/x\\ny\"\n", ""},
		{"full sync and paths not listed", RemoteReport{Root: "/data", Remote: "h::m", Pending: 3, InFlight: 1, FullPending: true,
			PendingPaths: []PendingPathReport{{Path: "a", Since: now}}},
			"0.0s\t0\th::m\t/data/a\n",
			"/data -> h::m: a full sync is pending: it covers every path, listed or not\n/data -> h::m: 3 more pending paths not listed\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, remarks strings.Builder
			WritePending(&out, &remarks, Report{Remotes: []RemoteReport{tt.rr}}, now)
			if out.String() != tt.out || remarks.String() != tt.remarks {
				t.Errorf("out %q, remarks %q; want %q, %q", out.String(), remarks.String(), tt.out, tt.remarks)
			}
		})
	}
}
