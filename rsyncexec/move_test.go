package rsyncexec

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/sersync-go/sersync2/confxml"
	"github.com/sersync-go/sersync2/internal/sshd"
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

// TestGoldenMoves compares the argv (one %q element per line), the stdin
// records and the one-line form of move sessions with
// testdata/rsyncexec/*-moves.*.
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
			// What every login shell passes on unchanged: words and one
			// single-quoted part without a backslash, '!' or newline.
			if cmd := ss[0].Argv[len(ss[0].Argv)-1]; strings.ContainsAny(cmd, "\\!\n") || strings.Count(cmd, "'") != 2 {
				t.Errorf("remote command %q is not the same to every login shell", cmd)
			}
			checkGolden(t, tc.name+".argv", quoteLines(ss[0].Argv))
			checkGolden(t, tc.name+".stdin", quoteLines(ss[0].Stdin))
			checkGolden(t, tc.name+".sh", ss[0].String()+"\n")
		})
	}
}

func TestRemoteDir(t *testing.T) {
	tests := []struct{ name, home, dir string }{
		{"", "", "."},
		{"/srv/www", "", "/srv/www"},
		{"/srv/my www", "", "/srv/my www"},
		{"www", "", "./www"},
		{"-www", "", "./-www"},
		{"~", "~", "./"},
		{"~/", "~", "./"},
		{"~/mirror", "~", "./mirror"},
		{"~/my mirror", "~", "./my mirror"},
		{"~backup/www", "~backup", "./www"},
		{"~$(x)/www", "", "./~$(x)/www"},
		{"~'x'", "", "./~'x'"},
	}
	for _, tt := range tests {
		if home, dir := remoteDir(tt.name); home != tt.home || dir != tt.dir {
			t.Errorf("remoteDir(%q) = %q, %q; want %q, %q", tt.name, home, dir, tt.home, tt.dir)
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
		if n := len(Payload(s.Stdin)); n > moveStdinMax {
			t.Errorf("stdin of %d bytes, bound %d", n, moveStdinMax)
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

// remoteWords runs the remote command of a session the way sshd does,
// as "SHELL -c COMMAND" with the session's stdin, in a new directory and
// with a fake mv first on PATH that prints its arguments NUL-terminated
// and a newline, and returns the words mv got for each move.
func remoteWords(t *testing.T, shell string, s MoveSession) [][]string {
	t.Helper()
	bin := t.TempDir()
	fake := "#!/bin/sh\nprintf '%s\\000' \"$@\"\nprintf '\\n'\n"
	if err := os.WriteFile(filepath.Join(bin, "mv"), []byte(fake), 0o755); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, shell, "-c", s.Argv[len(s.Argv)-1])
	cmd.Dir = t.TempDir()
	cmd.Env = append(os.Environ(), "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	cmd.Stdin = bytes.NewReader(Payload(s.Stdin))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s: %v: %s", shell, err, stderr.String())
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
				t.Fatalf("%s: output %q does not hold four words", shell, rest)
			}
			words, rest = append(words, w), after
		}
		var ok bool
		if rest, ok = strings.CutPrefix(rest, "\n0\n"); !ok {
			t.Fatalf("%s: after %q: no status line in %q", shell, words, rest)
		}
		got = append(got, words)
	}
	return got
}

// checkRemoteWords fails unless every move of ss reached mv as exactly
// "-T", "--", From, To when the remote login shell is shell.
func checkRemoteWords(t *testing.T, shell string, tgt Target, moves []queue.Move) {
	t.Helper()
	ss, err := MoveSessions(tgt, moves)
	if err != nil {
		t.Fatal(err)
	}
	var got [][]string
	for _, s := range ss {
		got = append(got, remoteWords(t, shell, s)...)
	}
	if len(got) != len(moves) {
		t.Fatalf("%s: %d mv calls for %d moves: %q", shell, len(got), len(moves), got)
	}
	for i, m := range moves {
		if want := []string{"-T", "--", m.From, m.To}; !reflect.DeepEqual(got[i], want) {
			t.Fatalf("%s: move %d: mv got %q, want %q", shell, i, got[i], want)
		}
	}
}

// loginShells returns the shells present that a remote user may have as
// login shell: sh (dash on Debian) and bash, and the ones that are not
// POSIX, tcsh and fish (make deps installs them; missing ones are left
// out unless SERSYNC_TEST_NO_SKIP=1).
func loginShells(t testing.TB) []string {
	var out []string
	for _, sh := range []string{"sh", "bash", "tcsh", "fish"} {
		p, err := exec.LookPath(sh)
		switch {
		case err == nil:
			out = append(out, p)
		case os.Getenv(sshd.NoSkipEnv) == "1":
			t.Fatalf("login shell %s: %v", sh, err)
		}
	}
	if len(out) == 0 {
		t.Skip("no sh on PATH")
	}
	return out
}

// TestMoveScriptShells: every hostile name reaches mv intact whatever
// the remote login shell, POSIX or not, and nothing else runs.
func TestMoveScriptShells(t *testing.T) {
	tgt := sshStock()
	tgt.Remote.Name = ""
	var moves []queue.Move
	for _, n := range hostileNames(t) {
		moves = append(moves, queue.Move{From: n, To: "sub [x]*/" + n}, queue.Move{From: "d/" + n, To: n + "/x"})
	}
	for _, sh := range loginShells(t) {
		t.Run(filepath.Base(sh), func(t *testing.T) {
			checkRemoteWords(t, sh, tgt, moves)
		})
	}
}

// FuzzMoveScript: for any pair of clean relative paths, the remote
// command, run by a login shell, hands mv exactly those names (and runs
// nothing else: the fake mv is the only command that prints).
func FuzzMoveScript(f *testing.F) {
	fuzzSeeds(f)
	sh := loginShells(f)[0]
	tgt := sshStock()
	tgt.Remote.Name = ""
	f.Fuzz(func(t *testing.T, a, b string, dir bool) {
		from, to := a, b
		if CleanRel(from) != nil || CleanRel(to) != nil {
			return
		}
		checkRemoteWords(t, sh, tgt, []queue.Move{{From: from, To: to, Dir: dir}, {From: to, To: from}})
	})
}
