package rsyncexec

import (
	"bytes"
	"context"
	"os/exec"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/sersync-go/sersync2/confxml"
	"github.com/sersync-go/sersync2/queue"
)

// sshStock is stock() over ssh to the module path /srv/www.
func sshStock() Target {
	t := stock()
	t.Rsync.SSH = confxml.SSH{Enabled: true}
	t.Remote.Name = "/srv/www"
	return t
}

func moveList(pairs ...string) []queue.Move {
	var out []queue.Move
	for i := 0; i+1 < len(pairs); i += 2 {
		out = append(out, queue.Move{From: pairs[i], To: pairs[i+1]})
	}
	return out
}

// TestGoldenMoves compares the argv (one %q element per line) and the
// one-line form of move sessions with testdata/rsyncexec/*-moves.*.
// go test ./rsyncexec -run TestGoldenMoves -update rewrites them.
func TestGoldenMoves(t *testing.T) {
	cmdAuth := sshStock()
	cmdAuth.Rsync.SSH.Command = "ssh -p 2222 -i '/root/.ssh/mirror key' -o 'ProxyCommand=nc %h %p'"
	cmdAuth.Rsync.Auth = confxml.Auth{Enabled: true, Users: "rsync_backup", PasswordFile: "/etc/rsync.password"}
	cmdAuth.Remote.IP = "fd00::2"
	home := sshStock()
	home.Remote.Name = "~/mirror dir"
	relative := sshStock()
	relative.Remote.Name = "-backup"
	hostileRoot := sshStock()
	hostileRoot.Remote.Name = "/srv/it's a \"root\" $(touch PWNED)\n"

	var hostile []queue.Move
	for i, n := range hostileNames(t) {
		hostile = append(hostile, queue.Move{From: n, To: "sub [x]*/" + n, Dir: i%3 == 0})
	}
	plain := append(moveList("a.txt", "b.txt", "d1/old", "d1/new"), queue.Move{From: "olddir", To: "newdir", Dir: true})

	tests := []struct {
		name  string
		t     Target
		moves []queue.Move
	}{
		{"ssh-moves", sshStock(), plain},
		{"ssh-moves-command-auth-ipv6", cmdAuth, plain[:1]},
		{"ssh-moves-home", home, plain[:1]},
		{"ssh-moves-relative", relative, plain[:1]},
		{"ssh-moves-hostile-root", hostileRoot, plain[:1]},
		{"ssh-moves-hostile", sshStock(), hostile},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ss, err := MoveSessions(tc.t, tc.moves)
			if err != nil {
				t.Fatal(err)
			}
			if len(ss) != 1 || !reflect.DeepEqual(ss[0].Moves, tc.moves) {
				t.Fatalf("got %d sessions, want one with every move", len(ss))
			}
			checkGolden(t, tc.name+".argv", quoteLines(ss[0].Argv))
			checkGolden(t, tc.name+".sh", ss[0].String()+"\n")
		})
	}
}

func TestRemoteDir(t *testing.T) {
	tests := []struct{ name, want string }{
		{"", "."},
		{"/srv/www", "/srv/www"},
		{"/srv/my www", "'/srv/my www'"},
		{"www", "./www"},
		{"-www", "./-www"},
		{"~", "~"},
		{"~/", "~/''"},
		{"~/mirror", "~/mirror"},
		{"~/my mirror", "~/'my mirror'"},
		{"~backup/www", "~backup/www"},
		{"~$(x)/www", "'./~$(x)/www'"},
		{"~'x'", `'./~'\''x'\'''`},
	}
	for _, tt := range tests {
		if got := remoteDir(tt.name); got != tt.want {
			t.Errorf("remoteDir(%q) = %s, want %s", tt.name, got, tt.want)
		}
	}
}

// TestMoveSessionsSplit: a long list becomes several sessions, each
// command within the bound, every move once and in order.
func TestMoveSessionsSplit(t *testing.T) {
	long := strings.Repeat("x", 3000)
	var moves []queue.Move
	for i := range 100 {
		moves = append(moves, queue.Move{From: long + "/a" + string(rune('0'+i%10)), To: long + "/b"})
	}
	ss, err := MoveSessions(sshStock(), moves)
	if err != nil {
		t.Fatal(err)
	}
	if len(ss) < 2 {
		t.Fatalf("%d sessions for %d long moves", len(ss), len(moves))
	}
	var got []queue.Move
	for _, s := range ss {
		if n := len(s.Argv[len(s.Argv)-1]); n > moveScriptMax {
			t.Errorf("remote command of %d bytes, bound %d", n, moveScriptMax)
		}
		got = append(got, s.Moves...)
	}
	if !reflect.DeepEqual(got, moves) {
		t.Fatal("moves lost, repeated or reordered across sessions")
	}
	if ss, _ := MoveSessions(sshStock(), nil); len(ss) != 0 {
		t.Fatalf("%d sessions for no moves", len(ss))
	}
}

func TestStatusLines(t *testing.T) {
	tests := []struct {
		out  string
		want []int
	}{
		{"", nil},
		{"0\n1\n0\n", []int{0, 1, 0}},
		{"welcome\n0\n\n127\n", []int{0, 127}},
		{"0\n-1\n2", []int{0, 2}},
	}
	for _, tt := range tests {
		if got := statusLines(tt.out); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("statusLines(%q) = %v, want %v", tt.out, got, tt.want)
		}
	}
}

// remoteWords runs the remote command of a session under the POSIX shell
// sh with mv replaced by a function printing its arguments NUL-terminated
// and mkdir by one doing nothing (and the module path "" so the cd stays
// here), and returns the words mv got for each move.
func remoteWords(t *testing.T, sh string, s MoveSession) [][]string {
	t.Helper()
	script := "mkdir() { :; }; mv() { printf '%s\\000' \"$@\"; printf '\\n'; }; " + s.Argv[len(s.Argv)-1]
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, sh, "-c", script)
	cmd.Dir = t.TempDir()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s: %v: %s", sh, err, stderr.String())
	}
	// Each move prints its four words, a newline, then the status line
	// "0"; a call with another number of words shows as a mismatch.
	var got [][]string
	rest := string(out)
	for rest != "" {
		var words []string
		for range 4 {
			w, after, ok := strings.Cut(rest, "\x00")
			if !ok {
				t.Fatalf("%s: output %q does not hold four words", sh, rest)
			}
			words, rest = append(words, w), after
		}
		var ok bool
		if rest, ok = strings.CutPrefix(rest, "\n0\n"); !ok {
			t.Fatalf("%s: after %q: no status line in %q", sh, words, rest)
		}
		got = append(got, words)
	}
	return got
}

// checkRemoteWords fails unless every move of ss reached mv as exactly
// "-T", "--", From, To when run by sh.
func checkRemoteWords(t *testing.T, sh string, tgt Target, moves []queue.Move) {
	t.Helper()
	ss, err := MoveSessions(tgt, moves)
	if err != nil {
		t.Fatal(err)
	}
	var got [][]string
	for _, s := range ss {
		got = append(got, remoteWords(t, sh, s)...)
	}
	if len(got) != len(moves) {
		t.Fatalf("%s: %d mv calls for %d moves: %q", sh, len(got), len(moves), got)
	}
	for i, m := range moves {
		if want := []string{"-T", "--", m.From, m.To}; !reflect.DeepEqual(got[i], want) {
			t.Fatalf("%s: move %d: mv got %q, want %q", sh, i, got[i], want)
		}
	}
}

// shells returns the POSIX shells present: sh (dash on Debian) and bash.
func shells(t testing.TB) []string {
	var out []string
	for _, sh := range []string{"sh", "bash"} {
		if p, err := exec.LookPath(sh); err == nil {
			out = append(out, p)
		}
	}
	if len(out) == 0 {
		t.Skip("no sh on PATH")
	}
	return out
}

// TestMoveScriptShells: every hostile name reaches mv intact under dash
// and bash, and nothing else runs.
func TestMoveScriptShells(t *testing.T) {
	tgt := sshStock()
	tgt.Remote.Name = ""
	var moves []queue.Move
	for _, n := range hostileNames(t) {
		moves = append(moves, queue.Move{From: n, To: "sub [x]*/" + n}, queue.Move{From: "d/" + n, To: n + "/x"})
	}
	for _, sh := range shells(t) {
		checkRemoteWords(t, sh, tgt, moves)
	}
}

// FuzzMoveScript: for any pair of clean relative paths, the remote command
// line, run by a POSIX shell, hands mv exactly those names (and runs
// nothing else: the fake mv is the only command that prints).
func FuzzMoveScript(f *testing.F) {
	fuzzSeeds(f)
	sh := shells(f)[0]
	tgt := sshStock()
	tgt.Remote.Name = ""
	f.Fuzz(func(t *testing.T, a, b string, dir bool) {
		from, err1 := cleanRel(a)
		to, err2 := cleanRel(b)
		if err1 != nil || err2 != nil {
			return
		}
		checkRemoteWords(t, sh, tgt, []queue.Move{{From: from, To: to, Dir: dir}, {From: to, To: from}})
	})
}
