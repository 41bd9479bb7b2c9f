package status

import (
	"bufio"
	"encoding/base64"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/sersync-go/sersync2/replicate"
)

// PendingPathReport is one path a remote still lacks.
type PendingPathReport struct {
	// Path is relative to the root. JSON strings hold only UTF-8: when
	// the name is not valid UTF-8, Path has U+FFFD in place of the bad
	// bytes and PathBase64 holds the name's bytes exactly.
	Path       string    `json:"path"`
	PathBase64 string    `json:"path_base64,omitempty"`
	Dir        bool      `json:"dir,omitempty"`
	Remove     bool      `json:"remove,omitempty"`
	Since      time.Time `json:"since"`
	AgeSeconds float64   `json:"age_seconds"`
	Attempts   int       `json:"attempts"`
	InFlight   bool      `json:"in_flight,omitempty"`
}

// Name returns the path's bytes as the engine holds them.
func (p PendingPathReport) Name() string {
	if p.PathBase64 != "" {
		if b, err := base64.StdEncoding.DecodeString(p.PathBase64); err == nil {
			return string(b)
		}
	}
	return p.Path
}

// addPending gives each remote of r its pending paths from pend (in the
// same order as r.Remotes).
func (r *Report) addPending(pend []replicate.RemotePending) {
	for i, rp := range pend {
		if i >= len(r.Remotes) || r.Remotes[i].Root != rp.Root || r.Remotes[i].Remote != rp.Remote {
			// A reload between the two snapshots: the lists do not match.
			return
		}
		for _, p := range rp.Paths {
			pr := PendingPathReport{Path: p.Path, Dir: p.Dir, Remove: p.Remove, Since: p.Since, AgeSeconds: max(r.Time.Sub(p.Since).Seconds(), 0),
				Attempts: p.Attempts, InFlight: p.InFlight}
			if !utf8.ValidString(p.Path) {
				pr.PathBase64 = base64.StdEncoding.EncodeToString([]byte(p.Path))
			}
			r.Remotes[i].PendingPaths = append(r.Remotes[i].PendingPaths, pr)
		}
	}
}

// ShowPath returns a file name as it can be shown on a line or a page:
// unchanged when it is printable UTF-8 (spaces inside included), else Go-quoted, so
// that a newline, a control byte, invalid UTF-8 or surrounding spaces
// are visible and cannot forge another line. A name that starts with a
// double quote is quoted too, so a shown name is quoted exactly when it
// starts with one.
func ShowPath(p string) string {
	if p == "" || !utf8.ValidString(p) || strings.HasPrefix(p, `"`) || strings.TrimSpace(p) != p {
		return strconv.Quote(p)
	}
	for _, r := range p {
		if !strconv.IsPrint(r) {
			return strconv.Quote(p)
		}
	}
	return p
}

// unshowPath reverses ShowPath.
func unshowPath(s string) (string, error) {
	if strings.HasPrefix(s, `"`) {
		return strconv.Unquote(s)
	}
	return s, nil
}

// pendingText writes the pending paths of a remote to the status file,
// one line each: since, age, attempts, in flight, the path (ShowPath).
// ReadPending reads them back.
func pendingText(b *strings.Builder, rr RemoteReport) {
	if len(rr.PendingPaths) == 0 {
		return
	}
	fmt.Fprintf(b, "  oldest pending paths (%d of %d):\n", len(rr.PendingPaths), rr.Pending+rr.InFlight)
	for _, p := range rr.PendingPaths {
		fl := ""
		if p.InFlight {
			fl = ", in flight"
		}
		fmt.Fprintf(b, "    %s age %.1f s, attempts %d%s: %s\n", p.Since.Format(time.RFC3339Nano), p.AgeSeconds, p.Attempts, fl, ShowPath(p.Name()))
	}
}

// ReadPending reads a status file back as far as `sersync2 --pending`
// needs it: the time it was written, and for each remote its root,
// name, counts of paths pending and in flight, whether a full sync is
// pending, and its pending paths listed (Path holding the name's bytes).
// The rest of the Report stays empty.
func ReadPending(r io.Reader) (Report, error) {
	var rep Report
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	first := true
	for sc.Scan() {
		line := sc.Text()
		switch {
		case first:
			first = false
			t, ok := strings.CutPrefix(line, "sersync2 status ")
			if !ok {
				return rep, fmt.Errorf("status: not a status file (first line %q)", line)
			}
			var err error
			if rep.Time, err = time.Parse(time.RFC3339, t); err != nil {
				return rep, fmt.Errorf("status: status file time: %w", err)
			}
		case strings.HasPrefix(line, "remote "):
			root, remote, _ := strings.Cut(strings.TrimPrefix(line, "remote "), " -> ")
			rep.Remotes = append(rep.Remotes, RemoteReport{Root: root, Remote: remote})
		case strings.HasPrefix(line, "  ") && !strings.HasPrefix(line, "    ") && len(rep.Remotes) > 0:
			rr := &rep.Remotes[len(rep.Remotes)-1]
			k, v, _ := strings.Cut(strings.TrimSpace(line), ": ")
			switch k {
			case "pending":
				rr.Pending, _ = strconv.Atoi(v)
			case "in flight":
				rr.InFlight, _ = strconv.Atoi(v)
			case "full sync pending":
				rr.FullPending = v == "true"
			}
		case strings.HasPrefix(line, "    ") && len(rep.Remotes) > 0:
			p, err := readPendingLine(strings.TrimPrefix(line, "    "))
			if err != nil {
				return rep, err
			}
			rr := &rep.Remotes[len(rep.Remotes)-1]
			rr.PendingPaths = append(rr.PendingPaths, p)
		}
	}
	if err := sc.Err(); err != nil {
		return rep, fmt.Errorf("status: reading the status file: %w", err)
	}
	if first {
		return rep, fmt.Errorf("status: the status file is empty")
	}
	return rep, nil
}

// readPendingLine parses one line written by pendingText.
func readPendingLine(line string) (PendingPathReport, error) {
	var p PendingPathReport
	head, shown, ok := strings.Cut(line, ": ")
	f := strings.Fields(head)
	if !ok || len(f) < 6 || f[1] != "age" || f[4] != "attempts" {
		return p, fmt.Errorf("status: status file: pending path line %q", line)
	}
	var err error
	if p.Since, err = time.Parse(time.RFC3339Nano, f[0]); err != nil {
		return p, fmt.Errorf("status: status file: pending path line %q: %w", line, err)
	}
	if p.Attempts, err = strconv.Atoi(strings.TrimSuffix(f[5], ",")); err != nil {
		return p, fmt.Errorf("status: status file: pending path line %q: %w", line, err)
	}
	p.InFlight = strings.HasSuffix(head, ", in flight")
	if p.Path, err = unshowPath(shown); err != nil {
		return p, fmt.Errorf("status: status file: pending path line %q: %w", line, err)
	}
	return p, nil
}
