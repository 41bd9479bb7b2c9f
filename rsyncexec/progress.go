package rsyncexec

import (
	"bytes"
	"regexp"
	"strconv"
	"strings"
	"sync"
)

// ProgressFlag is the option a full run gets when RunOptions.Progress is
// set: rsync then writes one line of totals for the whole transfer to its
// stdout, rewritten with carriage returns (rsync 3.1.0 and newer).
const ProgressFlag = "--info=progress2"

// Progress is what rsync reported so far of one full run.
type Progress struct {
	// Bytes is the size of the files transferred so far.
	Bytes int64
	// Percent is rsync's estimate of the whole run (it grows less
	// evenly while rsync is still scanning the tree).
	Percent int
	// Files counts the files transferred; Checked and Total the files
	// rsync compared so far and found in all (Total grows while rsync
	// still scans).
	Files, Checked, Total int
}

// progressLine matches one --info=progress2 line, e.g.
// "  1,234,567  45%   12.34MB/s    0:00:03 (xfr#12, to-chk=88/100)".
var progressLine = regexp.MustCompile(`^\s*([\d,.]+)\s+(\d+)%\s+\S+\s+\d+:\d+:\d+(?:\s+\(xfr#(\d+), (?:to|ir)-chk=(\d+)/(\d+)\))?`)

// ParseProgress reads one line of rsync's --info=progress2 output; ok is
// false for anything else (file names under -v, messages).
func ParseProgress(line string) (p Progress, ok bool) {
	m := progressLine.FindStringSubmatch(line)
	if m == nil {
		return Progress{}, false
	}
	b, err := strconv.ParseInt(strings.NewReplacer(",", "", ".", "").Replace(m[1]), 10, 64)
	if err != nil {
		return Progress{}, false
	}
	p.Bytes = b
	p.Percent, _ = strconv.Atoi(m[2])
	if m[3] != "" {
		p.Files, _ = strconv.Atoi(m[3])
		left, _ := strconv.Atoi(m[4])
		p.Total, _ = strconv.Atoi(m[5])
		p.Checked = p.Total - left
	}
	return p, true
}

// newProgressWriter returns a writer for rsync's stdout that reports each
// progress line to fn.
func newProgressWriter(fn func(Progress)) *lineWriter {
	var last Progress
	return &lineWriter{max: 4096, fn: func(line string) { // longer: not a progress line
		if p, ok := ParseProgress(line); ok {
			// Lines without the xfr/chk part keep the last counts.
			if p.Total == 0 {
				p.Files, p.Checked, p.Total = last.Files, last.Checked, last.Total
			}
			last = p
			fn(p)
		}
	}}
}

// lineWriter splits what rsync writes at carriage returns and newlines
// (rsync rewrites its progress line with carriage returns and writes
// neither inside a name) and calls fn with each line, one at a time.
type lineWriter struct {
	mu  sync.Mutex
	buf []byte
	max int // when > 0, an unfinished line longer than this is dropped
	fn  func(line string)
}

func (w *lineWriter) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, b...)
	for {
		i := bytes.IndexAny(w.buf, "\r\n")
		if i < 0 {
			break
		}
		line := string(w.buf[:i])
		w.buf = w.buf[i+1:]
		w.fn(line)
	}
	if w.max > 0 && len(w.buf) > w.max {
		w.buf = w.buf[:0]
	}
	return len(b), nil
}

// flush passes on an unfinished last line.
func (w *lineWriter) flush() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.buf) > 0 {
		w.fn(string(w.buf))
		w.buf = w.buf[:0]
	}
}
